"""Figures said in words, the same way by every command that prints them."""

from __future__ import annotations


def judged_line(j: dict) -> str:
    """``judged_cut``'s figures as one line."""
    return (
        f"{j['questions']} questions: the first shown hit answers (a 2) for "
        f"{j['first_shown_answers']:.3f}, the 「最佳回答」 for {j['best_answers']:.3f} of the "
        f"{j['best_named']:.3f} that name one; {j['shown_that_answer']:.3f} of the shown hits "
        f"answer, {j['shown_off_topic']:.3f} are off-topic, {j['mean_shown']:.2f} shown a "
        f"question; an answer among the shown hits {j['answer_shown']:.3f} vs "
        f"{j['answer_in_top10']:.3f} in the uncut top 10 (ratio {j['kept_ratio']:.3f}); "
        f"{j['shown_unjudged']:.3f} of the shown were never judged"
    )
