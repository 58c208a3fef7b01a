"""Embed the demo corpus's answers with e5 once, for the package to ship.

Usage: python scripts/build_vectors.py [OUT]   (default src/langzhong/data/e5-demo-vectors.npz)
Needs the dense extra (pip install '.[dense]'). Every distinct answer of the bundled
question/answer rows is embedded as an e5 passage by the product's runtime (onnxruntime, int8),
one process per core; the file names the model's weights (a hash), so vectors from other
weights are never used. About 4 minutes on 2 cores.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np

from langzhong.embed.e5_onnx import E5Onnx
from langzhong.embed.vectors import VectorCache

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/langzhong/data/e5-demo-vectors.npz"


def demo_answers() -> list[str]:
    demo = resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")
    with gzip.open(demo.open("rb"), "rt", encoding="utf-8") as rows:
        return list(dict.fromkeys(json.loads(line)["answer"].strip() for line in rows))


def embed_share(texts: list[str]) -> np.ndarray:
    return E5Onnx().embed_passages(texts)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    model = E5Onnx()  # builds the ONNX model once, before the workers load it
    answers = demo_answers()
    workers = os.cpu_count() or 1
    shares = [answers[i::workers] for i in range(workers)]
    started = time.monotonic()
    with ProcessPoolExecutor(workers) as pool:
        vectors = list(pool.map(embed_share, shares))
    cache = VectorCache(model.model_hash, model.dim)
    for share, found in zip(shares, vectors, strict=True):
        cache.add(share, found)
    cache.save(out)
    seconds = time.monotonic() - started
    print(
        f"{len(cache)} vectors of {model.name} ({model.model_hash}) in {seconds:.0f} s → {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
