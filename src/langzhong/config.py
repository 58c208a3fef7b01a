"""All settings in one place: defaults, overridden by environment variables, then by CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import platformdirs

DB_NAME = "langzhong.sqlite3"
# Lexical index engines: docs/engine.md for the choice; milvus, shared by servers: docs/scale-out.md
ENGINES = ("tantivy", "fts5", "milvus")
STORE_SCHEMES = ("postgresql://", "postgres://")


def _whole(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    """A whole-number setting within [low, high], or ValueError naming it."""
    try:
        value = int(env[name])
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {env[name]!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    home: Path
    max_file_mb: int = 20
    api_token: str | None = None
    # Searches per minute from one client address (0 = no limit, as the benchmark runs).
    rate_limit_per_minute: int = 120
    max_body_kb: int = 1024  # largest request body the API accepts
    engine: str = "tantivy"
    # The e5 sentence-embedding model in search and triage (docs/ranking.md); off on small machines.
    dense: bool = True
    # A PostgreSQL store shared by several servers (docs/scale-out.md); None: the SQLite file.
    store_url: str | None = None
    milvus_uri: str | None = None  # with engine "milvus", e.g. http://milvus:19530
    milvus_collection: str = "langzhong"
    milvus_timeout_s: int = 3  # each call; a slow test server (milvus-lite) needs more
    milvus_token: str | None = None  # Milvus's credentials ("user:password"), never shown
    # Each request's access line carries the question too (off: health questions are personal).
    log_queries: bool = False

    @property
    def db_path(self) -> Path:
        return self.home / DB_NAME

    @property
    def index_path(self) -> Path:
        """The tantivy index folder (FTS5 lives inside the database file)."""
        return self.home / "index"

    @property
    def graphs_path(self) -> Path:
        """The dense vectors' HNSW graphs (``index/ann.py``), each server's own."""
        return self.home / "vector-graphs"

    @property
    def archive_path(self) -> Path:
        """The crawler's WARC files: every page fetched, as received."""
        return self.home / "archive"

    @classmethod
    def load(cls, home: str | Path | None = None) -> Settings:
        """``--home`` wins over ``LANGZHONG_HOME``, which wins over the user data directory."""
        env = os.environ
        chosen = home or env.get("LANGZHONG_HOME") or platformdirs.user_data_dir("langzhong")
        settings = cls(home=Path(chosen).expanduser())
        if "LANGZHONG_MAX_FILE_MB" in env:
            settings = replace(settings, max_file_mb=_whole(env, "LANGZHONG_MAX_FILE_MB", 1, 4096))
        if "LANGZHONG_RATE_LIMIT" in env:
            limit = _whole(env, "LANGZHONG_RATE_LIMIT", 0, 1_000_000)
            settings = replace(settings, rate_limit_per_minute=limit)
        if "LANGZHONG_MAX_BODY_KB" in env:
            settings = replace(
                settings, max_body_kb=_whole(env, "LANGZHONG_MAX_BODY_KB", 1, 1 << 20)
            )
        if "LANGZHONG_ENGINE" in env:
            if env["LANGZHONG_ENGINE"] not in ENGINES:
                raise ValueError(f"LANGZHONG_ENGINE must be one of {', '.join(ENGINES)}")
            settings = replace(settings, engine=env["LANGZHONG_ENGINE"])
        if uri := env.get("LANGZHONG_MILVUS_URI", "").strip():
            settings = replace(settings, milvus_uri=uri)
        if name := env.get("LANGZHONG_MILVUS_COLLECTION", "").strip():
            if not name.replace("_", "").isalnum() or not name[0].isalpha():
                raise ValueError("LANGZHONG_MILVUS_COLLECTION: letters, digits and _ only")
            settings = replace(settings, milvus_collection=name)
        if "LANGZHONG_MILVUS_TIMEOUT_S" in env:
            seconds = _whole(env, "LANGZHONG_MILVUS_TIMEOUT_S", 1, 3600)
            settings = replace(settings, milvus_timeout_s=seconds)
        if token := env.get("LANGZHONG_MILVUS_TOKEN", "").strip():
            settings = replace(settings, milvus_token=token)
        if "LANGZHONG_LOG_QUERIES" in env:
            if env["LANGZHONG_LOG_QUERIES"] not in ("on", "off"):
                raise ValueError("LANGZHONG_LOG_QUERIES must be on or off")
            settings = replace(settings, log_queries=env["LANGZHONG_LOG_QUERIES"] == "on")
        if settings.engine == "milvus" and not settings.milvus_uri:
            raise ValueError("LANGZHONG_ENGINE=milvus needs LANGZHONG_MILVUS_URI")
        if "LANGZHONG_DENSE" in env:
            if env["LANGZHONG_DENSE"] not in ("on", "off"):
                raise ValueError("LANGZHONG_DENSE must be on or off")
            settings = replace(settings, dense=env["LANGZHONG_DENSE"] == "on")
        if url := env.get("LANGZHONG_STORE_URL", "").strip():
            if not url.startswith(STORE_SCHEMES):
                raise ValueError("LANGZHONG_STORE_URL must be a postgresql://… URL")
            settings = replace(settings, store_url=url)
        if token := env.get("LANGZHONG_API_TOKEN", "").strip():  # blank: writes stay off
            settings = replace(settings, api_token=token)
        return settings

    def describe(self) -> dict[str, str | int | bool]:
        """Settings as shown by ``langzhong stats``; the token itself is never shown."""
        shown = asdict(self) | {"home": str(self.home), "db_path": str(self.db_path)}
        if self.store_url:
            from langzhong.store.postgres import redacted

            shown["store_url"] = redacted(self.store_url)
            del shown["db_path"]
        if self.engine == "tantivy":
            shown["index_path"] = str(self.index_path)
        shown["api_token"] = "set" if self.api_token else "not set (write API disabled)"
        shown["milvus_token"] = "set" if self.milvus_token else "not set"
        return shown
