"""Loading the answer stage's data files (langzhong/data/*.toml)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any


def load_toml(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("langzhong.data").joinpath(name).read_text("utf-8"))
