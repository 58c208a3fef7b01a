"""The real ``langzhong`` command in a subprocess, on a real database file."""

import json

import pytest
from conftest import run_cli

SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"


def test_ingest_then_ask_json(tmp_path, seed_file):
    home = tmp_path / "home"
    done = run_cli("ingest", str(seed_file), "--json", home=home)
    assert json.loads(done.stdout) == {"added": 2, "updated": 0, "duplicates": 0, "rejected": 0}
    answer = json.loads(run_cli("ask", "微创手术后腰酸是怎么回事", "--json", home=home).stdout)
    top = answer["hits"][0]
    assert {"id", "title", "date", "source", "score", "section", "passage", "related"} <= set(top)
    assert (top["title"], top["date"], top["source"]) == (SEED_TITLE, "2020-07-14", "乡间郎中")
    assert "小关节" in top["passage"]
    assert [r["title"] for r in top["related"]] == ["腰突然直不起来是怎么回事"]
    assert all(set(r) == {"id", "title"} for r in top["related"])
    run_cli("ingest", str(seed_file), home=home)
    stats = json.loads(run_cli("stats", "--json", home=home).stdout)
    assert (stats["articles"], stats["indexed_documents"], stats["related_links"]) == (2, 2, 2)


def test_home_flag_wins_over_the_environment(tmp_path, seed_file):
    run_cli("--home", str(tmp_path / "flag"), "ingest", str(seed_file), home=tmp_path / "env")
    assert (tmp_path / "flag" / "langzhong.sqlite3").exists()
    assert not (tmp_path / "env").exists()


def test_errors_are_one_line_with_exit_2(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "langzhong.sqlite3").write_bytes(b"this is not a database" * 100)
    done = run_cli("stats", home=home, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    done = run_cli("ask", "  ", home=tmp_path / "other", check=False)
    assert (done.returncode, done.stderr.strip()) == (2, "error: the question is empty")


def test_ingest_reports_each_bad_file_and_the_summary(tmp_path, seed_file):
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"")
    done = run_cli("ingest", str(seed_file), str(bad), home=tmp_path / "home")
    assert f"error: {bad}: empty file" in done.stderr
    assert "2 added, 0 updated, 0 duplicates, 1 rejected" in done.stderr


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """A home whose store was built by the first ``ask`` from the bundled demo corpus."""
    home = tmp_path_factory.mktemp("demo")
    done = run_cli("ask", "高血压能吃党参吗", home=home)
    assert "demo corpus" in done.stderr
    return home, done


def test_first_run_builds_the_demo_corpus(demo_home):
    home, first = demo_home
    assert "党参" in first.stdout
    stats = json.loads(run_cli("stats", "--json", home=home).stdout)
    assert stats["page_articles"] == 2  # the seed page and its related article
    assert stats["qa_articles"] > 6000
    assert stats["indexed_documents"] == stats["articles"]


def test_seed_is_first_among_the_demo_corpus(demo_home, seed_file):
    home, _ = demo_home
    before = json.loads(run_cli("stats", "--json", home=home).stdout)["articles"]
    run_cli("ingest", str(seed_file), home=home)
    assert json.loads(run_cli("stats", "--json", home=home).stdout)["articles"] == before
    answer = json.loads(run_cli("ask", "微创手术后腰酸是怎么回事", "--json", home=home).stdout)
    assert answer["hits"][0]["title"] == SEED_TITLE
    answer = json.loads(run_cli("ask", "腰突然直不起来", "--json", home=home).stdout)
    assert answer["hits"][0]["title"] == "腰突然直不起来是怎么回事"


def test_results_are_numbered_across_pages(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    for i in range(25):
        (pages / f"{i}.txt").write_text(f"头痛问题{i}\n头痛的第{i}种情况说明。", "utf-8")
    home = tmp_path / "home"
    run_cli("ingest", str(pages), home=home)
    last = run_cli("ask", "头痛", "--all", "-n", "10", "--page", "3", home=home).stdout
    numbers = [line.split(".")[0] for line in last.splitlines() if line[:1].isdigit()]
    assert numbers == ["21", "22", "23", "24", "25"]
