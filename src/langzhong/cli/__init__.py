"""The ``langzhong`` command: product commands in main.py, measurement commands in measure.py."""

from langzhong.cli import measure as _measure  # noqa: F401  (registers train and eval)
from langzhong.cli.main import main

__all__ = ["main"]
