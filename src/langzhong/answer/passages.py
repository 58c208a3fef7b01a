"""The paragraph that best answers the question, trimmed to a readable window, words marked."""

from __future__ import annotations

import re

from langzhong.core import Article, Passage
from langzhong.text import normalize

MAX_PASSAGE_CHARS = 300
HEADING_SHARE = 0.5  # a query word in the section's heading counts half as much as in the text
_SENTENCE = re.compile(r"[^。！？!?；;]*[。！？!?；;]?")


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


def _window(paragraph: str, weights: dict[str, float]) -> str:
    """The run of whole sentences, at most MAX_PASSAGE_CHARS long, that covers the most terms."""
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
            score = _covered(folded[start:end], weights)
            if score > best_score:
                best, best_score = (start, min(end, start + MAX_PASSAGE_CHARS)), score
    return paragraph[best[0] : best[1]].strip()


def best_passage(article: Article, weights: dict[str, float]) -> Passage:
    """Score each paragraph by the weights of the query terms it holds; the best one wins.

    For a question with its doctor's answer only the answer is a passage: the patient's own
    words do not answer anything.
    """
    paragraphs = article.paragraphs()
    if article.kind == "qa":
        paragraphs = [(label, text) for label, text in paragraphs if label is not None]
    if not paragraphs:
        return Passage(text="")
    best_label, best_text, best_score = paragraphs[0][0], paragraphs[0][1], 0.0
    for label, text in paragraphs:
        score = coverage(text, weights) + HEADING_SHARE * coverage(label or "", weights)
        if score > best_score:
            best_label, best_text, best_score = label, text, score
    text = _window(best_text, weights)
    terms = sorted(weights, key=len, reverse=True)
    return Passage(text=text, section=best_label, highlights=highlight_spans(text, terms))
