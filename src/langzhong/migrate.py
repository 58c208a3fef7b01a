"""``langzhong migrate``: copy one deployment's store into another (the embedded SQLite file into
a shared PostgreSQL, or back) and build the target's index, verified by counts and a sample.

What is copied: every article under its own id (no merging), readers' feedback, the e5 vectors
(by article id and content, so none is embedded again) and whether the demo corpus was loaded.
The crawler's state stays behind: it lives in the embedded store only (docs/scale-out.md).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from langzhong.config import Settings
from langzhong.ingest.writer import IngestReport, Writer
from langzhong.service import Service
from langzhong.store import ArticleStore, open_store
from langzhong.store.vectors import MODEL_KEY, VectorTable

SAMPLE = 100  # articles compared field by field after the copy
VECTOR_BATCH = 1_000
COMPARED = ("articles", "sections", "related_links", "feedback")


@dataclass
class Migration:
    copied: IngestReport = field(default_factory=IngestReport)
    vectors: int = 0
    indexed: int = 0
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # name → (source, target)
    sample_checked: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        same = all(source == target for source, target in self.counts.values())
        return same and not self.mismatches and not self.copied.rejections

    def as_dict(self) -> dict:
        return {
            "copied": self.copied.as_dict(),
            "vectors": self.vectors,
            "indexed_documents": self.indexed,
            "counts": {name: {"source": s, "target": t} for name, (s, t) in self.counts.items()},
            "sample_checked": self.sample_checked,
            "mismatches": self.mismatches,
            "verified": self.verified,
        }


def migrate(
    source: Service,
    target_settings: Settings,
    build_index: bool = True,
    on_copied: Callable[[], None] = lambda: None,
    on_indexed: Callable[[int], None] = lambda applied: None,
) -> Migration:
    """Copy ``source``'s store into the store ``target_settings`` name, compare the two, and
    build the target's index (``build_index``; servers with an index of their own build it
    when they start)."""
    result = Migration()
    target = open_store(target_settings)
    try:
        if not target.is_empty():
            raise ValueError(f"the target store {target.describe()} is not empty")
        Writer(target).write_all(
            source.store.iter_articles(), result.copied, on_item=on_copied, dedupe=False
        )
        for item in source.store.iter_feedback():
            target.add_feedback(item["question"], item["article"], item["helpful"], item["at"])
        target.set_meta("demo", source.store.meta("demo") or "declined")
        result.vectors = _copy_vectors(source.store, target)
        _compare(source.store, target, result)
    finally:
        target.close()
    if not build_index:
        return result
    built = Service(target_settings)  # the target's index, from the copied store
    try:
        built.catch_up(on_progress=on_indexed)
        result.indexed = built.index.doc_count()
    finally:
        built.close()
    return result


def _copy_vectors(source: ArticleStore, target: ArticleStore) -> int:
    model = source.meta(MODEL_KEY)
    if model is None:
        return 0
    table, copied, after = VectorTable(target), 0, 0
    table.adopt_model(model)
    while rows := VectorTable(source).rows_by_id(after, VECTOR_BATCH):
        copied += table.put_codes([row[1:] for row in rows])
        after = rows[-1][0]
    return copied


def _compare(source: ArticleStore, target: ArticleStore, result: Migration) -> None:
    before, after = source.counts(), target.counts()
    result.counts = {name: (before[name], after[name]) for name in COMPARED}
    rowids, last = [], 0
    while batch := source.rowids_after(last, 100_000):
        rowids += batch
        last = batch[-1]
    chosen = random.Random(0).sample(rowids, min(SAMPLE, len(rowids)))
    for article in source.get_by_rowids(chosen).values():
        if target.get(article.id) != article:
            result.mismatches.append(article.id)
        result.sample_checked += 1
