"""Search stage: question in, scored articles out."""

from langzhong.search.searcher import Candidate, Searcher

__all__ = ["Candidate", "Searcher"]
