"""Store stage: the system of record."""

from langzhong.store.sqlite import ArticleStore, StoreError

__all__ = ["ArticleStore", "StoreError"]
