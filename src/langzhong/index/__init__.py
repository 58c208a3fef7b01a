"""Index stage: lexical search engines behind one small interface (see ``base.py``)."""

from langzhong.index.base import IndexBusy, IndexDoc, IndexUnavailable, LexicalIndex
from langzhong.index.fts5 import Fts5Index
from langzhong.index.tantivy_index import TantivyIndex

__all__ = ["Fts5Index", "IndexBusy", "IndexDoc", "IndexUnavailable", "LexicalIndex", "TantivyIndex"]
