"""The package's data files: lexicons, rules, and the models `langzhong train` builds."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

Model = TypeVar("Model")


def load_shipped(name: str, load: Callable[[Path], Model]) -> Model | None:
    """``load`` applied to the data file ``name``, or None where the package has none."""
    path = resources.files("langzhong.data").joinpath(name)
    if not path.is_file():
        return None
    with resources.as_file(path) as file:
        return load(file)


def load_toml(name: str) -> dict[str, Any]:
    """A rules file of the package (``langzhong/data/*.toml``)."""
    return tomllib.loads(resources.files("langzhong.data").joinpath(name).read_text("utf-8"))
