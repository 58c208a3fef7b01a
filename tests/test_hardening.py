"""What a hostile probe broke (issue 12, the data-loss part): a bad record costs only itself,
reads are bounded, stored text reaches the terminal as plain text, settings are checked."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langzhong.config import Settings
from langzhong.ingest.sources import Rejection, read_file
from langzhong.service import Service

GOOD = [
    {"id": "g1", "title": "好行一号", "ask": "头晕乏力怎么办", "answer": "测血压。"},
    {"id": "g3", "title": "好行三号", "ask": "胃痛", "answer": "胃镜。"},
]


def _lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _stored_ids(home: Path) -> set[str]:
    service = Service(Settings.load(home))
    try:
        return {article.id for article in service.store.iter_articles()}
    finally:
        service.close()


def test_a_bad_record_costs_only_its_own_line(tmp_path):
    bad_lines = [
        json.dumps({"id": "b", "department": 123, "title": "t", "ask": "q", "answer": "a"}),
        '{"id": "s", "title": "好\\udc00坏", "ask": "q", "answer": "a"}',  # a lone surrogate
        "[" * 100_000 + "]" * 100_000,  # nested past any recursion limit
        json.dumps({"title": 5, "text": "标题\n正文一段。"}),  # a title that is not text
    ]
    data = _lines(
        tmp_path / "d1.jsonl",
        json.dumps(GOOD[0], ensure_ascii=False),
        *bad_lines,
        json.dumps(GOOD[1], ensure_ascii=False),
    )
    home = tmp_path / "home"
    done = run_cli("ingest", str(data), home=home, check=False)
    assert done.returncode == 0, done.stderr
    for line in range(2, 2 + len(bad_lines)):
        assert f"error: {data}:{line}:" in done.stderr
    assert "Traceback" not in done.stderr
    assert _stored_ids(home) == {"g1", "g3"}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
QA_LIKE = st.fixed_dictionaries(
    {"title": JSON_VALUES, "ask": JSON_VALUES, "answer": JSON_VALUES},
    optional={"id": JSON_VALUES, "department": JSON_VALUES, "source": JSON_VALUES},
)
ARTICLE_LIKE = st.fixed_dictionaries(
    {"title": JSON_VALUES},
    optional={"lead": JSON_VALUES, "sections": JSON_VALUES, "text": JSON_VALUES},
)
LINES = st.lists(
    st.one_of(
        st.binary(max_size=200),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        QA_LIKE.map(lambda v: json.dumps(v).encode()),
        ARTICLE_LIKE.map(lambda v: json.dumps(v).encode()),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=LINES)
def test_any_line_is_stored_or_reported_never_raised(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("lines")
    path = folder / "any.jsonl"
    # A first line of JSON: a file that starts with gzip's magic number is a (broken) gzip file.
    lines = [b"{}", *(line.replace(b"\n", b" ") for line in lines)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    items = list(read_file(path, max_bytes=1 << 20))
    rejected = [item for item in items if isinstance(item, Rejection)]
    assert all(r.where.startswith(f"{path}:") for r in rejected)
    service = Service(Settings.load(folder / "home"))
    try:
        # whatever got through parsing must store or be reported
        report = service.writing.ingest([path])
        assert len(report.rejections) >= len(rejected)
    finally:
        service.close()


def test_a_home_that_was_ingested_into_never_gets_the_demo(tmp_path):
    home = tmp_path / "home"
    data = _lines(tmp_path / "bad.jsonl", "{not json")
    run_cli("ingest", str(data), home=home, check=False)
    stats = json.loads(run_cli("stats", "--json", home=home).stdout)
    assert stats["articles"] == 0


def _peak_rss_mb(path: Path, home: Path) -> tuple[float, str]:
    """Peak RSS of ``langzhong ingest PATH`` (5 MB file limit) and what it printed."""
    env = {**os.environ, "LANGZHONG_HOME": str(home), "LANGZHONG_MAX_FILE_MB": "5"}
    process = subprocess.Popen(
        [sys.executable, "-m", "langzhong", "ingest", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss / 1024, process.stderr.read().decode()  # ru_maxrss is in KiB


def test_a_decompression_bomb_is_refused_within_bounded_memory(tmp_path):
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        zeros = b"0" * (1 << 20)
        for _ in range(400):  # one line of 400 MB: 80 times the limit
            out.write(zeros)
    small = _lines(tmp_path / "small.jsonl", json.dumps(GOOD[0], ensure_ascii=False))
    baseline, _ = _peak_rss_mb(small, tmp_path / "home1")
    peak, stderr = _peak_rss_mb(bomb, tmp_path / "home2")
    assert "over the 5 MB limit" in stderr
    assert peak < baseline + 60, f"peak RSS {peak:.0f} MB, {baseline:.0f} MB for one small line"


def test_stored_text_reaches_the_terminal_as_plain_text(tmp_path):
    record = {
        "id": "x1",
        "title": "标题[bold]粗[/bold]",
        "lead": "导语[/]里有[link=https://evil.example]链接[/link]\x1b[31m红色\x1b[0m",
        "sections": [{"heading": "一、小节", "level": 1, "text": "正文\x1b]0;title\x07。"}],
    }
    data = _lines(tmp_path / "a.jsonl", json.dumps(record, ensure_ascii=False))
    home = tmp_path / "home"
    run_cli("ingest", str(data), home=home)
    shown = run_cli("show", "x1", home=home)
    assert "[/]" in shown.stdout and "[link=https://evil.example]" in shown.stdout
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout


def test_settings_out_of_range_are_refused_with_a_clear_error(tmp_path):
    env = {**os.environ, "LANGZHONG_HOME": str(tmp_path), "LANGZHONG_MAX_FILE_MB": "-5"}
    done = subprocess.run(
        [sys.executable, "-m", "langzhong", "stats"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "LANGZHONG_MAX_FILE_MB" in done.stderr
    assert "Traceback" not in done.stderr


def test_symlinks_leading_out_of_a_crawl_folder_are_not_followed(tmp_path, seed_file):
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    (crawl / "page.txt").write_text(seed_file.read_text("utf-8"), "utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("秘密标题\n不该被收录的内容。", "utf-8")
    (crawl / "outside.txt").symlink_to(secret)
    (crawl / "loop").symlink_to(crawl)
    home = tmp_path / "home"
    done = run_cli("ingest", str(crawl), home=home, check=False)
    assert "outside.txt" in done.stderr and "loop" in done.stderr
    service = Service(Settings.load(home))
    try:
        titles = {article.title for article in service.store.iter_articles()}
    finally:
        service.close()
    assert "秘密标题" not in titles and len(titles) == 2


def test_ids_and_addresses_are_checked_at_ingest_too(tmp_path):
    bad = [
        {"id": "../../x", "title": "坏编号", "ask": "q", "answer": "a"},
        {"id": "ok-1", "title": "坏地址", "ask": "q", "answer": "a", "url": "javascript:alert(1)"},
        {"title": "坏链接", "lead": "内容。", "related": [{"title": "x", "id": "a b"}]},
    ]
    data = _lines(
        tmp_path / "ids.jsonl",
        *(json.dumps(r, ensure_ascii=False) for r in [GOOD[0], *bad, GOOD[1]]),
    )
    home = tmp_path / "home"
    done = run_cli("ingest", str(data), home=home)
    assert f"{data}:2: id: must be 1-128 ASCII letters" in done.stderr
    assert f"{data}:3: url: must be an absolute http(s) address" in done.stderr
    assert f"{data}:4: related.0.id: must be" in done.stderr
    assert _stored_ids(home) == {"g1", "g3"}
