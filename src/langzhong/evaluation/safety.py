"""Triage measured: red-flag recall on phrasing suites nobody tuned on, false alarms on everyday
questions, and departments against hand labels (``langzhong eval safety`` / ``department``).

A phrasing suite (tests/data/red-flags/<rule>.tsv) holds, per rule, phrasings that describe its
sign (``hit``) and near misses that need no notice at all (``miss``), each line in the half its
text's hash put it in (``dataset.hash_split``): the tune half may be read while tuning, the
held-out half only measured. The ``fresh`` and ``fresh-2`` folders are held-out sets written later
by writers who saw neither the rules nor the suites: only measured, never read. Labelled
departments come the same way: a file split by hash, and a fresh file that is held out whole.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from langzhong.core import RedFlag
from langzhong.evaluation.dataset import hash_split

LEVELS = ("crisis", "emergency", "urgent")  # the most pressing first
SPLITS = ("tune", "held-out", "fresh", "fresh-2")
# What `langzhong eval safety` holds the triage to (docs/safety.md): held-out recall by level,
# and false alarms on everyday questions.
RECALL_TARGETS = {"crisis": 1.0, "emergency": 0.95, "urgent": 0.9}
FALSE_ALARM_TARGET = 0.005


@dataclass(frozen=True)
class Phrasing:
    rule: str
    level: str
    expect: str  # "hit" or "miss"
    split: str
    text: str


def _content_lines(path: Path) -> list[str]:
    lines = path.read_text("utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


MORE_TUNE = "more-tune"  # phrasings written after the first held-out measurement: all tune
FRESH = "fresh"  # a second held-out set, written on 2026-12-05 (docs/safety.md)
FRESH_2 = "fresh-2"  # a third, written on 2026-12-05 after the second had been measured
# subfolders whose lines are all one split
WHOLE_SPLIT_FOLDERS = {MORE_TUNE: "tune", FRESH: FRESH, FRESH_2: FRESH_2}


def load_suites(folder: Path) -> list[Phrasing]:
    """Every phrasing of every rule's suite; the level is the one the file's first line names.
    The files of ``folder`` are split by hash; those of its MORE_TUNE subfolder are all tune,
    those of its FRESH subfolder all fresh (``hit|miss<TAB>text`` lines)."""
    found = []
    subfolders = [folder / name for name in WHOLE_SPLIT_FOLDERS]
    for path in [
        *sorted(folder.glob("*.tsv")),
        *(p for f in subfolders for p in sorted(f.glob("*.tsv"))),
    ]:
        header = path.read_text("utf-8").splitlines()[0]
        rule, level = (part.strip() for part in header.lstrip("# ").split("—")[:2])
        whole = WHOLE_SPLIT_FOLDERS.get(path.parent.name) if path.parent != folder else None
        for number, line in enumerate(_content_lines(path), start=1):
            fields = line.split("\t")
            split, expect, text = (whole, *fields) if whole else fields
            if expect not in ("hit", "miss") or split not in SPLITS or level not in LEVELS:
                raise ValueError(f"{path.name}, phrasing {number}: not split<TAB>hit|miss<TAB>text")
            if not whole and split != hash_split(text):
                raise ValueError(f"{path.name}, phrasing {number}: its split is not its hash's")
            found.append(Phrasing(rule, level, expect, split, text))
    return found


def load_labelled_departments(
    path: Path, whole_split: str | None = None
) -> list[tuple[str, str, frozenset[str]]]:
    """(split, question, accepted departments) of a labelled file: lines ``split question
    accepted`` split by hash, or, with ``whole_split``, lines ``question accepted`` all in it."""
    rows = []
    for line in _content_lines(path):
        fields = line.split("\t")
        split, question, accepted = (whole_split, *fields) if whole_split else fields
        if not whole_split and split != hash_split(question):
            raise ValueError(f"{path.name}: {question[:20]}…'s split is not its hash's")
        rows.append((split, question, frozenset(accepted.split("|"))))
    return rows


def _caught(flags: Sequence[RedFlag], level: str) -> bool:
    """Whether a notice at least as pressing as ``level`` is shown."""
    return any(LEVELS.index(flag.level) <= LEVELS.index(level) for flag in flags)


def suite_report(
    phrasings: Sequence[Phrasing], flags_of: Callable[[str], Sequence[RedFlag]]
) -> dict:
    """Recall by level and by rule, and near misses that raised a notice, for each half."""
    report: dict = {}
    for split in SPLITS:
        levels: dict[str, Counter] = defaultdict(Counter)
        rules: dict[str, Counter] = defaultdict(Counter)
        missed: list[dict[str, str] | str] = []
        alarms: list[dict[str, str] | str] = []
        by: Counter[str] = Counter()
        alarmed_by: Counter[str] = Counter()
        for p in (p for p in phrasings if p.split == split):
            flags = flags_of(p.text)
            tally = rules[p.rule]
            if p.expect == "hit":
                caught = _caught(flags, p.level)
                levels[p.level].update(hits=1, caught=caught)
                tally.update(hits=1, caught=caught, right=any(f.id == p.rule for f in flags))
                by.update(f.matched for f in flags[:1])
                if not caught:
                    missed.append(
                        {"rule": p.rule, "phrasing": p.text} if split == "tune" else p.rule
                    )
            else:
                levels[p.level].update(misses=1, alarms=bool(flags))
                tally.update(misses=1, alarms=bool(flags))
                alarmed_by.update(f.matched for f in flags[:1])
                if flags:
                    alarm = {"rule": p.rule, "phrasing": p.text, "flag": flags[0].id}
                    alarms.append(alarm if split == "tune" else p.rule)
        report[split] = {
            "recall": {lvl: _share(c["caught"], c["hits"]) for lvl, c in _ordered(levels)},
            "hits": {lvl: c["hits"] for lvl, c in _ordered(levels)},
            "near_miss_alarms": _share(
                sum(c["alarms"] for c in levels.values()), sum(c["misses"] for c in levels.values())
            ),
            "right_rule": _share(
                sum(c["right"] for c in rules.values()), sum(c["hits"] for c in rules.values())
            ),
            "first_notice_by": dict(by),  # on hits: the rules' or the net's
            "near_miss_alarms_by": dict(alarmed_by),
            "rules": {rule: dict(c) for rule, c in sorted(rules.items())},
            # the tune half names what it missed; the held-out half only which rule's lines
            "missed": missed,
            "alarms": alarms,
        }
    return report


def alarm_report(questions: Iterable[str], flags_of: Callable[[str], Sequence[RedFlag]]) -> dict:
    """How many everyday questions raised a notice, by level and by rule."""
    asked = flagged = 0
    levels: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for question in questions:
        asked += 1
        flags = flags_of(question)
        if flags:
            flagged += 1
            levels[flags[0].level] += 1
            rules.update(f"{f.id} ({f.matched})" for f in flags)
    return {
        "questions": asked,
        "flagged": flagged,
        "share": _share(flagged, asked),
        "by_level": dict(levels),
        "by_rule": dict(rules.most_common()),
    }


def department_report(
    rows: Sequence[tuple[str, str, frozenset[str]]], department_of: Callable[[str], str | None]
) -> dict:
    """Right, wrong and none by half: right when the department shown is one the label accepts
    (a "A/B" answer is right when both are accepted), wrong when another is shown."""
    report = {}
    for split in (s for s in SPLITS if any(row[0] == s for row in rows)):
        tally: Counter = Counter()
        wrong = []
        for _, question, accepted in (r for r in rows if r[0] == split):
            shown = department_of(question)
            tally["questions"] += 1
            if shown is None:
                tally["none"] += 1
            elif set(shown.split("/")) <= accepted:
                tally["right"] += 1
            else:
                tally["wrong"] += 1
                wrong.append(
                    {"question": question, "shown": shown, "accepted": sorted(accepted)}
                    if split == "tune"
                    else shown
                )
        n = tally["questions"]
        report[split] = {
            "questions": n,
            "right": _share(tally["right"], n),
            "wrong": _share(tally["wrong"], n),
            "none": _share(tally["none"], n),
            "wrong_answers": wrong,
        }
    return report


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _ordered(levels: dict[str, Counter]) -> list[tuple[str, Counter]]:
    return [(level, levels[level]) for level in LEVELS if level in levels]
