"""Index stage: lexical search engines behind one small interface (see ``base.py``)."""

from langzhong.index.base import IndexDoc, LexicalIndex
from langzhong.index.fts5 import Fts5Index

__all__ = ["Fts5Index", "IndexDoc", "LexicalIndex"]
