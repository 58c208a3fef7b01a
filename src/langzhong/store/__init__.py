"""Store stage: the system of record."""

from langzhong.config import Settings
from langzhong.store.sqlite import ArticleStore, StoreError, StoreUnavailable

__all__ = ["ArticleStore", "StoreError", "StoreUnavailable", "open_store"]


def open_store(settings: Settings) -> ArticleStore:
    """The PostgreSQL store ``settings.store_url`` names, else the SQLite file in the home."""
    if settings.store_url:
        from langzhong.store.postgres import PostgresStore

        return PostgresStore(settings.store_url)
    return ArticleStore(settings.db_path)
