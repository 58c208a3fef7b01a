"""Embed the demo corpus with e5 once, for the package to ship.

Usage: python scripts/build_vectors.py [--stock] [OUT]
(default src/langzhong/data/e5-demo-vectors.npz; with --stock, e5 as published, not tuned, for
the evaluation's peers: e5-stock-demo-vectors.npz). Embedded as e5 passages by the product's runtime
(onnxruntime, int8), one process per core: every distinct answer of the bundled question/answer
rows (the evaluation's corpus) and every demo article as the store holds it (what the site
searches: ``index/embedding.py: article_text``). The vectors in OUT made by the same weights and
still needed are kept; the file names the weights (a hash), so vectors from other weights are
never used. About 3 minutes per 7,000 texts on 2 cores.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from importlib import resources
from pathlib import Path

import numpy as np

from langzhong.config import Settings
from langzhong.embed.e5_onnx import E5Onnx
from langzhong.embed.vectors import VectorCache
from langzhong.index.embedding import article_text
from langzhong.service import Service

DATA = Path(__file__).resolve().parents[1] / "src/langzhong/data"


def demo_answers() -> list[str]:
    demo = resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")
    with gzip.open(demo.open("rb"), "rt", encoding="utf-8") as rows:
        return list(dict.fromkeys(json.loads(line)["answer"].strip() for line in rows))


def demo_articles() -> list[str]:
    """The demo's articles as the store keeps them (dense off: nothing is embedded here)."""
    with tempfile.TemporaryDirectory() as home:
        os.environ["LANGZHONG_DENSE"] = "off"
        service = Service(Settings.load(home))
        try:
            service.load_demo()
            return [article_text(a) for a in service.store.iter_articles()]
        finally:
            service.close()


def embed_share(tuned: bool, texts: list[str]) -> np.ndarray:
    return E5Onnx(tuned=tuned).embed_passages(texts)


def main() -> None:
    arguments = sys.argv[1:]
    tuned = "--stock" not in arguments
    paths = [a for a in arguments if a != "--stock"]
    default = "e5-demo-vectors.npz" if tuned else "e5-stock-demo-vectors.npz"
    out = Path(paths[0]) if paths else DATA / default
    model = E5Onnx(tuned=tuned)  # builds the ONNX model once, before the workers load it
    cache = VectorCache(model.model_hash, model.dim)
    texts = list(dict.fromkeys(demo_answers() + demo_articles()))
    if out.is_file() and (earlier := VectorCache.load(out, model.model_hash)):
        found, vectors = earlier.get(texts)  # only what is still needed is kept
        cache.add([t for t, hit in zip(texts, found, strict=True) if hit], vectors[found])
    missing = [t for t, found in zip(texts, cache.get(texts)[0], strict=True) if not found]
    workers = os.cpu_count() or 1
    shares = [missing[i::workers] for i in range(workers)]
    started = time.monotonic()
    with ProcessPoolExecutor(workers) as pool:
        made = list(pool.map(partial(embed_share, tuned), [share for share in shares if share]))
    for share, found in zip([share for share in shares if share], made, strict=True):
        cache.add(share, found)
    cache.save(out)
    seconds = time.monotonic() - started
    print(
        f"{len(cache)} vectors of {model.name} ({model.model_hash}), {len(missing)} new,"
        f" in {seconds:.0f} s → {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
