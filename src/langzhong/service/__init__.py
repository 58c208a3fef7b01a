"""The stages wired together (``Service``), and a facade for each thing callers do: asking,
writing and ingesting, crawling, embedding (vectors), administration."""

from langzhong.service.shipped import (
    CONFIDENCE_FILE,
    DENSE_CONFIDENCE_FILE,
    JUDGED_CONFIDENCE_FILE,
    RERANKER_FILE,
    shipped_confidence,
    shipped_reranker,
)
from langzhong.service.wiring import Service
from langzhong.service.writing import DEMO_FILES, SameContent

__all__ = [
    "CONFIDENCE_FILE",
    "DEMO_FILES",
    "DENSE_CONFIDENCE_FILE",
    "JUDGED_CONFIDENCE_FILE",
    "RERANKER_FILE",
    "SameContent",
    "Service",
    "shipped_confidence",
    "shipped_reranker",
]
