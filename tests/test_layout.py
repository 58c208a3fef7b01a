"""The package's rooms import along the data's path, never back up it: a line's room says what
it may touch. Measurement (training, evaluation, benchmark) reads the product; the product never
reads measurement. Every module stays small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import langzhong

PACKAGE = Path(langzhong.__file__).parent
BENCH = Path(__file__).resolve().parents[1] / "bench"
MAX_LINES = 400  # a module longer than this does more than one thing: split it by purpose
MEASUREMENT = {"training", "evaluation", "benchmark"}
FRONT = {"service", "web", "cli"}
# Each room and the rooms it must never import (besides measurement, for product rooms).
BEFORE_SEARCH = (
    *("core", "text", "embed", "store", "index", "ingest", "crawl", "knowledge"),
    "parent_watch",  # helper processes of ingest and web end with their parent
)
NEVER = {
    **{room: {"question", "triage", "search", "answer"} | FRONT for room in BEFORE_SEARCH},
    "question": {"triage", "search", "answer"}
    | FRONT,  # read once, before every stage that reads it
    "triage": {"search", "answer"} | FRONT,  # from the question alone
    "search": {"triage", "answer"} | FRONT,
    "answer": FRONT,
    "service": {"web", "cli"},
    "web": {"cli"},
    "training": FRONT | {"benchmark"},
    "evaluation": {"training", "web", "cli"},
}


def _room(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported_rooms(path: Path) -> set[str]:
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        rooms |= {name.split(".")[1] for name in names if name.startswith("langzhong.")}
    return rooms


def test_rooms_import_only_along_the_data_path():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = _room(path)
        never = NEVER.get(room, set())
        if room not in MEASUREMENT and room not in {"cli", "__main__"}:
            never = never | MEASUREMENT
        wrong += [f"{path.relative_to(PACKAGE)} imports {r}" for r in _imported_rooms(path) & never]
    assert not wrong, "\n".join(wrong)


def test_the_layout_check_sees_a_wrong_import(tmp_path):
    backwards = tmp_path / "rerank.py"
    backwards.write_text("from langzhong.answer.compose import compose\nimport langzhong.web.app\n")
    assert _imported_rooms(backwards) == {"answer", "web"}


def test_no_module_is_longer_than_a_reader_can_hold():
    long = [
        f"{path.relative_to(PACKAGE)}: {lines} lines"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)


def test_bench_experiments_use_the_package_never_its_command_line():
    """bench/ holds one-off experiments; what they share lives in langzhong.evaluation and
    langzhong.benchmark, not in the CLI or the web app."""
    wrong = [
        f"bench/{path.name} imports {room}"
        for path in sorted(BENCH.glob("*.py"))
        for room in _imported_rooms(path) & {"cli", "web"}
    ]
    assert not wrong, "\n".join(wrong)
