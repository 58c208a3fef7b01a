"""The question's side of dense retrieval: its e5 vector (the costly part of a search, so kept
for questions asked again) and the dense index it is compared with."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from langzhong.embed.base import Embedder, question_head
from langzhong.index.dense import DenseIndex, VectorsInIndex

REMEMBERED_QUESTIONS = 4096  # about 1.5 MB of vectors per process


class DenseSearch:
    def __init__(self, embedder: Embedder, index: DenseIndex | VectorsInIndex) -> None:
        self.embedder, self.index = embedder, index
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def ready(self) -> bool:
        """Whether any document has a vector (after taking in the latest ones)."""
        self.index.refresh()
        return len(self.index) > 0

    def question(self, text: str) -> np.ndarray:
        """The question's unit vector, remembered for the most recent questions."""
        key = question_head(text)
        with self._lock:
            if (found := self._known.get(key)) is not None:
                self._known.move_to_end(key)
                return found
        vector = self.embedder.embed_queries([key])[0]
        with self._lock:
            self._known[key] = vector
            if len(self._known) > REMEMBERED_QUESTIONS:
                self._known.popitem(last=False)
        return vector
