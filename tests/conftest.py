from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from langzhong.config import Settings
from langzhong.service import Service

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED_NAME = "000_11c99a0e30aa1c9d.txt"


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed page as crawled (shipped in the package's demo corpus, so no ../shared needed)."""
    return resources.files("langzhong.demo").joinpath(SEED_NAME).read_text("utf-8")


@pytest.fixture
def seed_file(tmp_path: Path, seed_text: str) -> Path:
    path = tmp_path / SEED_NAME
    path.write_text(seed_text, encoding="utf-8")
    return path


@pytest.fixture
def service(tmp_path: Path) -> Service:
    svc = Service(Settings.load(tmp_path / "home"))
    yield svc
    svc.close()


def run_cli(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    """The installed ``langzhong`` command in a real subprocess."""
    env = {**os.environ, "LANGZHONG_HOME": str(home), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "langzhong", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def shared_data(relative: str) -> Path:
    """A file under ../shared/data, or a clean skip where this checkout has none."""
    path = SHARED / "data" / relative
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path
