"""`langzhong embed`'s job on this machine's threads and on a Ray cluster, side by side.

Usage: python bench/ray_embed.py --ray-address HOST:PORT [--docs 384]
DOCS recombined benchmark documents (none among the shipped vectors, so every one is embedded)
are written to two fresh homes without vectors; each home is then embedded, once by local
threads and once by the cluster, and timed.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from langzhong.benchmark.corpus import as_articles, build_corpus
from langzhong.config import Settings
from langzhong.evaluation.dataset import bundled_data, load_rows
from langzhong.service import Service


def embed_timed(home: Path, docs: list, ray_address: str | None) -> dict:
    os.environ["LANGZHONG_DENSE"] = "off"  # written without vectors: all pending
    writer = Service(Settings.load(home))
    writer.writing.write_articles(as_articles(docs))
    writer.close()
    os.environ["LANGZHONG_DENSE"] = "on"
    service = Service(Settings.load(home))
    started = time.perf_counter()
    done = service.vectors.embed(ray_address=ray_address)
    seconds = time.perf_counter() - started
    counts = service.vectors.counts()
    service.close()
    return {
        "where": f"Ray cluster at {ray_address}" if ray_address else "local threads",
        "embedded": done,
        "seconds": round(seconds, 1),
        "documents_per_s": round(done / seconds, 1),
        **counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ray-address", required=True)
    parser.add_argument("--docs", type=int, default=384)
    args = parser.parse_args()
    rows = load_rows(bundled_data())
    corpus = build_corpus(rows, len(rows) + args.docs, 10)
    docs = corpus.docs[corpus.real_docs :][: args.docs]  # recombined: past the real answers
    with tempfile.TemporaryDirectory() as work:
        for address in (None, args.ray_address):
            home = Path(work) / ("ray" if address else "local")
            print(json.dumps(embed_timed(home, docs, address)))


if __name__ == "__main__":
    main()
