"""Administration: what an operator reads of a deployment (stats, health, feedback) and the
export of its whole store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from langzhong import backup
from langzhong.index import IndexUnavailable
from langzhong.knowledge import shipped_graph
from langzhong.store import StoreError
from langzhong.store.sqlite import Feedback
from langzhong.triage.net import shipped_net

if TYPE_CHECKING:
    from langzhong.service.wiring import Service


class Administration:
    def __init__(self, service: Service) -> None:
        self.service = service  # it reports on every part

    def stats(self) -> dict[str, Any]:
        service = self.service
        vectors = service.vectors.counts()
        dense = service.searcher.dense
        graph = shipped_graph()
        return {
            **service.store.counts(),
            "knowledge_graph": graph.stats() if graph else None,
            "crawl_addresses": service.crawling.counts(),
            "indexed_documents": service.index.doc_count(),
            "index_engine": service.index.name,
            "index_shape": service.store.index_shape(),
            # requests to a shared index server a question costs (Milvus; 0 for an own index)
            "index_calls_per_question": service.asking.calls_per_question(),
            "index_pending_changes": service.indexer.pending(),
            "dense": service.dense_state,
            "ranking": service.asking.ranking(),
            "triage_net": self.triage_net_state(),
            "vectors": vectors,
            # how e5's nearest are found at this size (None: dense retrieval is off)
            "vector_search": dense.index.method(vectors["with_vector"]) if dense else None,
            "store": service.store.describe(),
            "db_bytes": service.store.size_bytes(),
            "index_bytes": _folder_bytes(service.settings.index_path),
            "settings": service.settings.describe(),
        }

    def triage_net_state(self) -> str:
        """Whether the semantic net beside the red-flag rules is on, and if not, why."""
        net = shipped_net()
        embedder = self.service.embedder
        if net is None:
            return "off: no net shipped (langzhong train --part triage)"
        if embedder is None:
            return f"off: e5 is {self.service.dense_state}"
        if net.model_hash != embedder.model_hash:
            return "off: its examples were embedded by other e5 weights (train --part triage)"
        return f"on ({len(net.vectors)} examples)"

    def health(self) -> dict[str, str]:
        """Each dependency: "ok", or "down: why"."""
        checks = {}
        try:
            self.service.store.ping()
            checks["store"] = "ok"
        except StoreError as error:
            checks["store"] = f"down: {error}"
        try:
            self.service.index.checkpoint()
            checks["index"] = "ok"
        except IndexUnavailable as error:
            checks["index"] = f"down: {error}"
        return checks

    def feedback(self) -> Iterator[Feedback]:
        """Every stored feedback answer: question, article, helpful, at."""
        return self.service.store.iter_feedback()

    def export(self, lines: IO[str]) -> tuple[int, int]:
        """Write every stored article as one JSON line with its e5 vector (``backup.py``);
        returns (articles, vectors)."""
        return backup.export(self.service.store, lines)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
