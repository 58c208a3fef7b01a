"""Question/answer rows (``id, department, title, ask, answer``) and their fixed split."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from importlib import resources
from pathlib import Path

SPLIT_SEED = 20261124
TRAIN_SHARE = 0.7
CHECKOUT_DATA = Path(__file__).resolve().parents[3] / "tests" / "data"


def bundled_data() -> Path:
    """The demo copy of the medical-dialogue-im rows: the data the fixed split is made from."""
    return Path(str(resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")))


def checkout_file(name: str) -> Path | None:
    """tests/data/``name`` beside the package, in a source checkout."""
    path = CHECKOUT_DATA / name
    return path if path.is_file() else None


def question_lines(path: Path) -> list[str]:
    """Questions one a line, blank lines and ``#`` comments left out."""
    text = path.read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def load_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a JSONL file, plain or gzipped; rows without title, ask and answer are skipped.
    A line that is not a JSON object is an error that names it: evaluation data is not guessed at.
    """
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {number}: not JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}, line {number}: not a JSON object")
            rows.append(row)
    return [
        r
        for r in rows
        if all(isinstance(r.get(k), str) and r[k] for k in ("title", "ask", "answer"))
    ]


def department_of(row: dict) -> str | None:
    """The row's department label; None where it has none."""
    label = row.get("department")
    return label if isinstance(label, str) and label else None


def split(
    rows: list[dict[str, str]], seed: int = SPLIT_SEED, share: float = TRAIN_SHARE
) -> tuple[list, list]:
    """The fixed 70/30 split: the same rows land on the same side on every run and machine.

    Rows asking the same question (same title; in the demo data these are exact copies) stay on
    one side, so nothing learned from the train rows has seen a test question.
    """
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(row["title"].strip(), []).append(index)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    train: set[int] = set()
    for key in keys:
        if len(train) >= round(len(rows) * share):
            break
        train.update(groups[key])
    return (
        [r for i, r in enumerate(rows) if i in train],
        [r for i, r in enumerate(rows) if i not in train],
    )


def hash_split(text: str) -> str:
    """A hand-written test line's half, fixed by its text: "tune" (read while tuning) or
    "held-out" (only measured). About half land on each side."""
    return "tune" if hashlib.sha1(text.strip().encode("utf-8")).digest()[0] % 2 == 0 else "held-out"
