"""Which shape of index a store serves: an index in each server's home, or one shared Milvus
collection. Servers of two shapes on one store would undo each other: the Milvus writer prunes
the change log that servers with their own index replay (each then rebuilds its index from the
whole store, 13-19 s on the demo, after every write), and those servers never let it be pruned."""

from __future__ import annotations

from langzhong.config import Settings
from langzhong.store.sqlite import ArticleStore, StoreError


def index_shape(settings: Settings) -> str:
    """The shape of index these settings serve (``ArticleStore.index_shape``)."""
    return f"milvus:{settings.milvus_collection}" if settings.engine == "milvus" else "own"


def _shape_words(shape: str) -> str:
    if shape.startswith("milvus:"):
        return f"the shared Milvus collection {shape.partition(':')[2]!r}"
    return "an index in each server's home (tantivy or fts5)"


def check_shape(store: ArticleStore, settings: Settings, reshape: bool = False) -> None:
    """A shared store serves one shape of index: a server of another shape would find the log
    pruned by the other shape's writer (or leave it unpruned for ever) and rebuild its index
    again and again, so it is refused, unless ``reshape``: every server switches to this one
    (each index is then rebuilt from the store). An embedded store follows its one machine."""
    shape, recorded = index_shape(settings), store.index_shape()
    if recorded == shape:
        return
    if recorded is not None and store.shared and not reshape:
        raise StoreError(
            f"{store.describe()} serves {_shape_words(recorded)}, and this server is set up"
            f" for {_shape_words(shape)}: start it with the same LANGZHONG_ENGINE (and"
            " LANGZHONG_MILVUS_COLLECTION), or switch every server with"
            " `langzhong migrate --reshape`"
        )
    store.set_index_shape(shape)
