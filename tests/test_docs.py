"""The README and the docs a newcomer reads: every command they show exists, every link leads
somewhere, every page is reachable from the README, and no page grows back into a notebook."""

import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
COMMAND_PAGES = (README, DOCS / "cli.md")  # the pages whose ```sh blocks run `langzhong …`
ARCHIVES = (DOCS / "history", DOCS / "results")  # kept as written: exempt from the length rule
MAX_README_LINES = 120
MAX_PAGE_LINES = 320  # "at most ~300 lines a page"

SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
FENCED = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"|<a [^>]*href=\"([^\"]+)\"")
HEADING = re.compile(r"^#{1,6} (.+)$", re.M)


def pages() -> list[Path]:
    return [README, ROOT / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]


def shown_commands(page: Path) -> set[tuple[str, ...]]:
    """The `langzhong` command words (a command, or a group and its command) of each line of the
    page's ```sh blocks: ``langzhong eval qa-retrieval --json r.json`` gives ('eval',
    'qa-retrieval'); whether the second word is a subcommand is for --help to say."""
    found = set()
    for block in SH_BLOCK.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if "langzhong" in words:
                after = words[words.index("langzhong") + 1 :]
                found.add(tuple(after[:2]))
    return found


def langzhong_help(path: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``python -m langzhong <path> --help``: exit 0 when the command exists."""
    return subprocess.run(
        [sys.executable, "-m", "langzhong", *path, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_command_the_readme_and_cli_page_show_answers_help():
    shown = set().union(*(shown_commands(page) for page in COMMAND_PAGES))
    assert len(shown) >= 10, shown  # the pages show commands, and the blocks were found
    with ThreadPoolExecutor(4) as pool:
        firsts = sorted({(words[0],) for words in shown})
        results = dict(zip(firsts, pool.map(langzhong_help, firsts), strict=True))
        groups = {path for path, r in results.items() if "Commands:" in r.stdout}
        subs = sorted({words[:2] for words in shown if words[:1] in groups and len(words) > 1})
        results |= dict(zip(subs, pool.map(langzhong_help, subs), strict=True))
    failing = {" ".join(p): r.stderr.strip()[-300:] for p, r in results.items() if r.returncode}
    assert not failing, failing


def test_the_cli_page_has_a_section_for_every_command():
    listed = langzhong_help().stdout.split("Commands:")[1]
    commands = re.findall(r"^  ([a-z][a-z-]*)", listed, re.M)
    headings = " ".join(HEADING.findall((DOCS / "cli.md").read_text(encoding="utf-8")))
    missing = [name for name in commands if f"`langzhong {name}" not in headings]
    assert commands and not missing, missing


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def links(page: Path) -> list[str]:
    """The relative links of a page's text (not of its code), without the web's."""
    text = CODE_SPAN.sub("", FENCED.sub("", page.read_text(encoding="utf-8")))
    targets = ("".join(groups) for groups in LINK.findall(text))
    return [t for t in targets if not re.match(r"[a-z]+:", t)]


def resolve(page: Path, target: str) -> tuple[Path, str]:
    path, _, anchor = target.partition("#")
    return (page.parent / path).resolve() if path else page, anchor


def test_every_relative_link_leads_to_a_file_and_heading_that_exist():
    broken = []
    for page in pages():
        for target in links(page):
            path, anchor = resolve(page, target)
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and path.suffix == ".md":
                anchors = {slug(h) for h in HEADING.findall(path.read_text(encoding="utf-8"))}
                if anchor not in anchors:
                    broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, broken


def test_every_docs_page_is_reachable_from_the_readme():
    seen, todo = set(), [README.resolve()]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md" or not page.is_file():
            continue
        seen.add(page)
        todo += [resolve(page, target)[0] for target in links(page)]
    unreachable = [str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md") if p.resolve() not in seen]
    assert not unreachable, unreachable


def test_pages_stay_short_enough_to_read():
    long = {
        str(page.relative_to(ROOT)): lines
        for page in DOCS.rglob("*.md")
        if not any(page.is_relative_to(archive) for archive in ARCHIVES)
        and (lines := len(page.read_text(encoding="utf-8").splitlines())) > MAX_PAGE_LINES
    }
    assert not long, long
    assert len(README.read_text(encoding="utf-8").splitlines()) <= MAX_README_LINES
