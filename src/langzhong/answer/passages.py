"""The paragraph that best answers the question, trimmed to a readable window, words marked.

A paragraph scores by the IDF weight of the question's terms it holds; a term it lacks still
earns part of its weight for each of its characters the paragraph holds (发酸 → 腰酸背痛 share
酸, which no segmentation does). When the question asks why (为什么) or what to do (怎么办),
sentences that give a cause or an action score more. A passage never stops on a colon: what the
colon announces follows it.
"""

from __future__ import annotations

import re

from langzhong.core import Article, Passage
from langzhong.text import normalize

MAX_PASSAGE_CHARS = 300
HEADING_SHARE = 0.5  # a query word in the section's heading counts half as much as in the text
SUBWORD_SHARE = 0.5  # a missing term's characters together earn at most half its weight
CUE_SHARE = 0.3  # a cause or action sentence, for such a question: this share of the question
_SENTENCE = re.compile(r"[^。！？!?；;]*[。！？!?；;]?")
_ASKS_CAUSE = re.compile(r"为什么|为啥|怎么回事|什么原因|啥原因|原因|怎么会|是什么引起|咋回事")
_ASKS_ACTION = re.compile(r"怎么办|咋办|如何|怎么治|怎样|怎么处理|吃什么药|能不能|可以吗|要不要")
_CAUSE = re.compile(r"因为|由于|原因|导致|引起|所致|造成|是因")
_ACTION = re.compile(r"建议|应该|应当|需要|注意|治疗|服用|口服|及时|就医|可以|避免|多喝|休息")
_ENDS_ON_COLON = re.compile(r"[:：]\s*$")


def highlight_spans(text: str, terms: list[str]) -> tuple[tuple[int, int], ...]:
    """Merged ``[start, end)`` spans of every occurrence of the terms (compared normalised)."""
    folded = normalize(text)
    spans = []
    for term in terms:
        start = folded.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = folded.find(term, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def coverage(text: str, weights: dict[str, float]) -> float:
    """Summed weight of the query terms that occur in the text."""
    return _covered(normalize(text), weights)


def _covered(folded: str, weights: dict[str, float]) -> float:
    return sum(w for t, w in weights.items() if t in folded)


class _Scorer:
    """Scores normalised text for one question: terms, their characters, and cue sentences."""

    def __init__(self, query: str, weights: dict[str, float]) -> None:
        self.weights = weights
        self.cues = [
            cue
            for asks, cue in ((_ASKS_CAUSE, _CAUSE), (_ASKS_ACTION, _ACTION))
            if asks.search(query)
        ]
        self.cue_weight = CUE_SHARE * sum(weights.values())

    def __call__(self, folded: str) -> float:
        score = 0.0
        for term, weight in self.weights.items():
            if term in folded:
                score += weight
            elif len(term) > 1:
                held = sum(char in folded for char in term)
                score += SUBWORD_SHARE * weight * held / len(term)
        if any(cue.search(folded) for cue in self.cues):
            score += self.cue_weight
        return score


def _window(paragraph: str, score: _Scorer) -> str:
    """The run of whole sentences, at most MAX_PASSAGE_CHARS long, that scores best."""
    if len(paragraph) <= MAX_PASSAGE_CHARS:
        return paragraph
    # Normalised once: it keeps every offset, so each run is a slice of it.
    folded = normalize(paragraph)
    sentences = [m.span() for m in _SENTENCE.finditer(paragraph) if m.end() > m.start()]
    best, best_score = (0, min(sentences[0][1], MAX_PASSAGE_CHARS)), -1.0
    for i, (start, first_end) in enumerate(sentences):
        for _, end in sentences[i:]:
            if end - start > MAX_PASSAGE_CHARS and end != first_end:  # the first always counts
                break
            value = score(folded[start:end])
            if value > best_score:
                best, best_score = (start, min(end, start + MAX_PASSAGE_CHARS)), value
    return paragraph[best[0] : best[1]].strip()


def _answering_paragraphs(article: Article) -> list[tuple[str | None, str, str | None]]:
    """The lead and every section paragraph; for a question with its doctor's answer only the
    answer: the patient's own words do not answer anything."""
    paragraphs = article.paragraphs()
    if article.kind == "qa":
        return [paragraph for paragraph in paragraphs if paragraph[0] is not None]
    return paragraphs


def best_passage(
    article: Article,
    weights: dict[str, float],
    query: str = "",
    marked: frozenset[str] = frozenset(),
) -> Passage:
    """The best-scoring paragraph's best window. Highlights mark the query terms; a
    one-character term only when it is in ``marked`` (medical words such as 胃), since 活 or 看
    inside unrelated words is noise."""
    paragraphs = _answering_paragraphs(article)
    if not paragraphs:
        return Passage(text="")
    score = _Scorer(query, weights)
    chosen, best_score = 0, 0.0
    for i, (label, text, _) in enumerate(paragraphs):
        heading = label or article.title  # the lead sits under the article's title
        value = score(normalize(text)) + HEADING_SHARE * coverage(heading, weights)
        if value > best_score:
            chosen, best_score = i, value
    label, text, anchor = paragraphs[chosen]
    text = _window(text, score)
    for _, following, _ in paragraphs[chosen + 1 :]:
        if not _ENDS_ON_COLON.search(text) or len(text) >= 2 * MAX_PASSAGE_CHARS:
            break
        text = f"{text}\n{_window(following, score)}"
    terms = sorted((t for t in weights if len(t) > 1 or t in marked), key=len, reverse=True)
    return Passage(text=text, section=label, anchor=anchor, highlights=highlight_spans(text, terms))
