"""The ``langzhong`` command: the group and its shared helpers in main.py, the commands by
purpose in the modules beside it (importing them registers their commands)."""

from langzhong.cli import admin as _admin  # noqa: F401  (stats, serve, export, feedback)
from langzhong.cli import asking as _asking  # noqa: F401  (ask, show)
from langzhong.cli import bench as _bench  # noqa: F401  (bench)
from langzhong.cli import deploy as _deploy  # noqa: F401  (migrate)
from langzhong.cli import measure as _measure  # noqa: F401  (train, eval)
from langzhong.cli import writing as _writing  # noqa: F401  (ingest, embed, crawl, import)
from langzhong.cli.main import main

__all__ = ["main"]
