"""The package's data files: lexicons, rules, and the models `langzhong train` builds."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

Model = TypeVar("Model")


def load_shipped(name: str, load: Callable[[Path], Model]) -> Model | None:
    """``load`` applied to the data file ``name``, or None where the package has none."""
    path = resources.files("langzhong.data").joinpath(name)
    if not path.is_file():
        return None
    with resources.as_file(path) as file:
        return load(file)
