"""The ``langzhong`` command: ingest, crawl, ask, show, stats, serve."""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from langzhong.config import ENGINES, STORE_SCHEMES, Settings
from langzhong.core import Answer, Article, KnowledgeCard
from langzhong.crawl.crawler import CrawlOptions, CrawlReport
from langzhong.crawl.fetch import USER_AGENT
from langzhong.embed.base import EmbedderUnavailable
from langzhong.index import IndexUnavailable
from langzhong.ingest.sources import iter_files
from langzhong.ingest.writer import IngestReport
from langzhong.service import DEMO_FILES, Service
from langzhong.store import StoreError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str, style: str = "") -> Text:
    """Stored text for the terminal: never read as markup, control characters (escape
    sequences) blanked one for one so highlight offsets still fit."""
    return Text(_CONTROL.sub(" ", text), style=style)


def _fail(message: str) -> None:
    err.print(Text(f"error: {message}", style="red"))
    sys.exit(2)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _catch_up(service: Service) -> None:
    """Index what a crash or another process left unindexed, with a bar when it is much."""
    pending = service.indexer.pending()
    if pending < 10_000:
        service.catch_up()
        return
    with _progress() as progress:
        task = progress.add_task("indexing stored articles", total=pending)
        service.catch_up(on_progress=lambda applied: progress.update(task, completed=applied))


def _open(ctx: click.Context, *, demo: bool) -> Service:
    """Open the store; read commands fill a brand-new store with the demo corpus first."""
    service = Service(ctx.obj)
    _catch_up(service)
    if demo and service.needs_demo():
        err.print("First run: building the store from the bundled demo corpus…")
        with _progress() as progress:
            task = progress.add_task("demo corpus", total=len(DEMO_FILES))
            report = service.load_demo(on_file=lambda path: progress.advance(task))
        err.print(_summary(report))
    return service


def _summary(report: IngestReport) -> str:
    return ", ".join(f"{n} {name}" for name, n in report.as_dict().items())


class _Commands(click.Group):
    """A store or index server that cannot be reached is a one-line error, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (StoreError, IndexUnavailable) as error:
            _fail(str(error))


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (default: $LANGZHONG_HOME, else the user data directory).",
)
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """langzhong (郎中): answers health questions from trusted articles and doctor answers."""
    try:
        ctx.obj = Settings.load(home)
    except ValueError as error:
        _fail(f"bad setting: {error}")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--source", help="Site name for pages that do not say it.")
@click.option("--max-file-mb", type=click.IntRange(1), help="Skip files larger than this.")
@click.option(
    "--from-archive",
    is_flag=True,
    help="PATHS are WARC files or folders written by `crawl` (default: this home's archive):"
    " extract their pages again, fetching nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    source: str | None,
    max_file_mb: int | None,
    from_archive: bool,
    as_json: bool,
) -> None:
    """Ingest crawled pages (text or HTML), article JSONL or question/answer JSONL(.gz).

    Directories are read recursively. Bad files and lines are reported one per line and skipped;
    nothing already stored is lost.
    """
    if not paths and not from_archive:
        _fail("name the files or folders to ingest")
    if max_file_mb:
        ctx.obj = replace(ctx.obj, max_file_mb=max_file_mb)
    service = _open(ctx, demo=False)
    if from_archive:
        report = service.ingest_archive(list(paths))
        for rejection in report.rejections:
            err.print(Text(f"error: {rejection}", style="red"), soft_wrap=True)
        _report(report, as_json)
        return
    files = sum(1 for _ in iter_files(paths))
    with _progress() as progress:
        task = progress.add_task("ingesting", total=files)
        report = service.ingest(
            list(paths),
            source=source,
            on_file=lambda path: progress.advance(task),
            on_rejection=lambda r: progress.console.print(
                Text(f"error: {r}", style="red"), soft_wrap=True
            ),
        )
    _report(report, as_json)
    _vectors_note(service)


def _vectors_note(service: Service) -> None:
    """Say when articles wait for their e5 vectors (search scores them by words meanwhile)."""
    if service.embedder is not None and (waiting := service.vector_counts()["pending"]):
        err.print(f"{waiting} articles wait for their e5 vectors: run `langzhong embed`")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option(
    "--ray-address",
    metavar="ADDRESS",
    help="Embed on this Ray cluster ('host:port', 'ray://host:10001', 'auto'; 'local' starts "
    "one here), one e5 actor per CPU; every node needs langzhong[dense].",
)
@click.pass_context
def embed(ctx: click.Context, as_json: bool, ray_address: str | None) -> None:
    """Give every article that lacks one its e5 vector, on every core (or a Ray cluster's), so
    that search ranks it by meaning too. Resumable: a killed run loses at most one batch."""
    service = _open(ctx, demo=True)
    try:
        pending = service.vector_counts()["pending"]
        with _progress() as progress:
            task = progress.add_task("embedding articles", total=pending)
            done = service.embed(
                on_progress=lambda n: progress.update(task, completed=n), ray_address=ray_address
            )
    except EmbedderUnavailable as error:
        _fail(str(error))
    counts = service.vector_counts()
    if as_json:
        click.echo(json.dumps({"embedded": done, **counts}))
    else:
        err.print(f"{done} articles got a vector; {counts['with_vector']} have one")


def _report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        err.print(_summary(report))
    if report.rejections and not (report.counts["added"] or report.counts["updated"]):
        sys.exit(1)


@main.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--sitemap", "sitemaps", multiple=True, help="A sitemap (or index) to read too.")
@click.option("--max-pages", default=100, show_default=True, type=click.IntRange(1))
@click.option(
    "--max-depth", default=3, show_default=True, type=click.IntRange(0), help="Links from a start."
)
@click.option(
    "--same-site/--any-site", default=True, show_default=True, help="Stay on the start hosts."
)
@click.option(
    "--delay",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds between two requests to one host (robots.txt's Crawl-delay wins if longer).",
)
@click.option("--user-agent", default=USER_AGENT, show_default=True)
@click.option("--refresh", is_flag=True, help="Re-visit the known pages that are due.")
@click.option(
    "--revisit-after",
    default=24.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Hours after which a page is due again (--refresh).",
)
@click.option(
    "--gone-grace",
    default=7.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Days a page may answer 404/410 before its articles leave search.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def crawl(
    ctx: click.Context,
    urls: tuple[str, ...],
    sitemaps: tuple[str, ...],
    max_pages: int,
    max_depth: int,
    same_site: bool,
    delay: float,
    user_agent: str,
    refresh: bool,
    revisit_after: float,
    gone_grace: float,
    as_json: bool,
) -> None:
    """Fetch a health site politely and store its articles (robots.txt obeyed, one request at a
    time per host, conditional re-fetches). Run it again to resume or to refresh."""
    options = CrawlOptions(
        max_pages=max_pages,
        max_depth=max_depth,
        same_site=same_site,
        delay_s=delay,
        user_agent=user_agent,
        sitemaps=sitemaps,
        refresh=refresh,
        revisit_after_s=revisit_after * 3600,
        gone_grace_s=gone_grace * 86_400,
        max_bytes=ctx.obj.max_file_mb << 20,
    )
    service = _open(ctx, demo=False)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("crawling", total=None)
        try:
            report = service.crawl(
                list(urls),
                options,
                on_visit=lambda r: progress.update(task, description=_crawl_line(r)),
            )
        except ValueError as error:
            _fail(str(error))
    for rejection in report.rejections:
        err.print(Text(f"error: {rejection}", style="red"), soft_wrap=True)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        err.print(", ".join(f"{n} {name}" for name, n in report.as_dict().items()))


def _crawl_line(report: CrawlReport) -> str:
    counts = report.counts
    return (
        f"fetched {counts['fetched']} · unchanged {counts['not_modified']} · queued"
        f" {report.queued} · robots {counts['skipped_robots']} · errors {counts['errors']}"
    )


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-n", "--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--all", "everything", is_flag=True, help="The whole ranking, each hit with its confidence."
)
@click.pass_context
def ask(
    ctx: click.Context, question: str, as_json: bool, limit: int, page: int, everything: bool
) -> None:
    """Answer a question: the articles that answer it confidently, each with its passage."""
    if not question.strip():
        _fail("the question is empty")
    service = _open(ctx, demo=True)
    answer = service.ask(question, page=page, page_size=limit, everything=everything)
    if as_json:
        click.echo(answer.model_dump_json(indent=2))
    else:
        _print_answer(answer, limit)


def _print_card(card: KnowledgeCard) -> None:
    out.print(plain(f"【{card.entity}】", style="bold magenta"))
    if card.missing:
        out.print(plain(f"  知识图谱里没有「{card.entity}」的{card.missing}。", style="bold"))
    for fact, items in card.facts.items():
        more = " …" if fact in card.more else ""
        style = "bold" if fact == card.answer else ""
        out.print(plain(f"  {fact}：{'、'.join(items)}{more}", style=style))
    out.print(plain(f"  来源：{card.source}", style="dim"))
    out.print()


def _highlighted(text: str, spans: tuple[tuple[int, int], ...]) -> Text:
    shown = plain(text)
    for start, end in spans:
        shown.stylize("bold black on yellow", start, end)
    return shown


CRISIS_LINES = (
    "你并不孤单，现在就可以找人谈谈：",
    "  12356          全国统一心理援助热线",
    "  400-161-9995   希望24热线（24 小时）",
    "  010-82951332   北京心理危机研究与干预中心（24 小时）",
    "  120            已经伤害了自己或有立即的危险时，或去最近医院的急诊",
)


def _print_answer(answer: Answer, page_size: int) -> None:
    if answer.crisis:
        out.print(Text("\n".join(CRISIS_LINES), style="bold green"))
        return
    for flag in answer.red_flags:
        out.print(Text(f"⚠ {flag.sign}：{flag.advice}", style="bold red"))
    if answer.department:
        out.print(Text(f"建议就诊科室：{answer.department}"))
    for card in answer.knowledge:
        _print_card(card)
    if answer.emergency:  # the notice above is the whole answer
        return
    if not answer.hits:
        out.print("没有找到足够可靠的答案。No reliable answer in the corpus; please ask a doctor.")
        return
    if not answer.everything:
        out.print(Text(f"找到 {answer.total} 条相关回答", style="dim"))
        if answer.page == 1 and not answer.best:
            out.print(Text("没有一条把握很大，不一定回答了你的问题；请结合医生的意见参考。"))
    for rank, hit in enumerate(answer.hits, start=(answer.page - 1) * page_size + 1):
        out.print(plain(f"{rank}. {hit.title}", style="bold"))
        meta = " · ".join(x for x in (hit.source, hit.date, hit.department) if x)
        # A ranked hit's score is its confidence; a score alone where no model gives one.
        shown = (
            f"score {hit.score:.2f}"
            if hit.confidence is None
            else f"confidence {hit.confidence:.2f}"
        )
        out.print(plain(f"   {meta} · {shown} · id {hit.id}", style="dim"))
        if hit.section:
            out.print(plain(f"   {hit.section}", style="cyan"))
        out.print(Text("   ").append(_highlighted(hit.passage, hit.highlights)))
        if hit.related:
            names = "；".join(link.title for link in hit.related)
            out.print(plain(f"   相关阅读：{names}", style="green"))
        out.print()


@main.command()
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, article_id: str, as_json: bool) -> None:
    """Print one stored article with its structure."""
    article = _open(ctx, demo=True).article(article_id)
    if article is None:
        _fail(f"no article with id {article_id!r}")
    if as_json:
        click.echo(article.model_dump_json(indent=2))
    else:
        _print_article(article)


def _print_article(article: Article) -> None:
    out.print(plain(article.title, style="bold"))
    out.print(plain(" · ".join(x for x in (article.source, article.date, article.id) if x)))
    if article.lead:
        out.print(plain(article.lead))
    for section in article.sections:
        out.print(plain("  " * (section.level - 1) + section.heading, style="bold cyan"))
        if section.text:
            out.print(plain(section.text))
    if article.related:
        out.print(Text("相关阅读", style="bold green"))
        for link in article.related:
            out.print(plain(f"  {link.title}" + (f"  ({link.id})" if link.id else "")))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of stored articles, sections, related links and indexed documents; settings."""
    figures = _open(ctx, demo=True).stats()
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    table = Table(show_header=False)
    for name, value in figures.items():
        if name != "settings":
            table.add_row(name, str(value))
    for name, value in figures["settings"].items():
        table.add_row(f"settings.{name}", str(value))
    out.print(table)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=min(os.cpu_count() or 1, 4),
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes; each answers on its own core (Python runs one thread at a time).",
)
@click.option(
    "--forwarded-allow-ips",
    default="",
    help="Addresses of reverse proxies whose X-Forwarded-For names the client, comma-separated"
    " (default: none; the connection's own address counts).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, forwarded_allow_ips: str) -> None:
    """Serve the web site and the JSON API (OpenAPI at /docs)."""
    from langzhong.web import serve as serving

    service = _open(ctx, demo=True)
    documents = service.index.doc_count()
    service.close()
    # Each worker process opens the store itself, from the same settings.
    os.environ["LANGZHONG_HOME"] = str(ctx.obj.home)
    try:
        serving.listener(host, port, share_port=workers > 1).close()
    except OSError as error:
        _fail(f"cannot listen on {host}:{port}: {error.strerror}")
    err.print(
        f"langzhong: serving {documents} documents on http://{host}:{port}"
        f" ({workers} worker{'s' if workers > 1 else ''})"
    )
    sys.exit(serving.run(host, port, workers, forwarded_allow_ips))


@main.command(name="export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_store(ctx: click.Context, path: Path) -> None:
    """Write the whole store as JSON lines (gzipped when PATH ends in .gz); see ``import``."""
    service = _open(ctx, demo=False)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as lines:
        count = service.export(lines)
    err.print(f"exported {count} articles to {path}")


@main.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_store(ctx: click.Context, path: Path) -> None:
    """Load an export into the store: every article under its own id, exactly as exported."""
    report = _open(ctx, demo=False).restore(path)
    for rejection in report.rejections:
        err.print(Text(f"error: {rejection}", style="red"), soft_wrap=True)
    err.print(_summary(report))
    if report.rejections:
        sys.exit(1)


@main.command()
@click.option(
    "--to-store",
    "to_store",
    required=True,
    help="The target: a postgresql://… URL (shared), or a folder (an embedded home).",
)
@click.option(
    "--to-engine",
    type=click.Choice(ENGINES),
    help="The target's index engine (default: this deployment's). milvus needs"
    " LANGZHONG_MILVUS_URI.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def migrate(ctx: click.Context, to_store: str, to_engine: str | None, as_json: bool) -> None:
    """Copy this deployment's store into an empty one and build its index, verified by counts
    and a sample of articles (docs/scale-out.md)."""
    from langzhong.migrate import migrate as copy_deployment

    settings: Settings = ctx.obj
    engine = to_engine or settings.engine
    if to_store.startswith(STORE_SCHEMES):
        target = replace(settings, store_url=to_store, engine=engine)
    else:
        target = replace(settings, home=Path(to_store).expanduser(), store_url=None, engine=engine)
    if engine == "milvus" and not target.milvus_uri:
        _fail("--to-engine milvus needs LANGZHONG_MILVUS_URI")
    service = _open(ctx, demo=False)
    # Servers with an index of their own build it from the shared store when they start.
    build_index = engine == "milvus" or target.store_url is None
    with _progress() as progress:
        copying = progress.add_task("copying articles", total=service.store.counts()["articles"])
        indexing = progress.add_task("building the target's index", total=None, visible=False)

        def indexed(applied: int) -> None:
            progress.update(indexing, completed=applied, visible=True)

        try:
            result = copy_deployment(
                service,
                target,
                build_index=build_index,
                on_copied=lambda: progress.advance(copying),
                on_indexed=indexed,
            )
        except ValueError as error:
            _fail(str(error))
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        for name, (before, after) in result.counts.items():
            err.print(f"{name}: {before} here, {after} there")
        err.print(
            f"{result.vectors} vectors copied; {result.indexed} documents indexed;"
            f" {result.sample_checked} sampled articles compared,"
            f" {len(result.mismatches)} different"
        )
        err.print("verified" if result.verified else Text("NOT verified", style="red"))
    if not result.verified:
        sys.exit(1)


@main.group()
def feedback() -> None:
    """Readers' 「这个回答有帮助吗？」 answers."""


@feedback.command(name="export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.pass_context
def export_feedback(ctx: click.Context, path: Path | None) -> None:
    """Write every answer as a JSON line (question, article, helpful, at) to PATH or stdout:
    relevance judgements from readers."""
    service = _open(ctx, demo=False)
    lines = path.open("w", encoding="utf-8") if path else sys.stdout
    count = 0
    for row in service.feedback():
        lines.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    if path:
        lines.close()
    err.print(f"exported {count} feedback answers" + (f" to {path}" if path else ""))


@feedback.command(name="eval")
@click.option(
    "--from",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An exported feedback file (default: this store's own feedback).",
)
@click.pass_context
def eval_feedback(ctx: click.Context, path: Path | None) -> None:
    """Score the store's search against readers' answers as relevance judgements."""
    from langzhong.evaluation.feedback import score_feedback

    service = _open(ctx, demo=False)
    if path:
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    else:
        rows = list(service.feedback())
    out.print_json(data=score_feedback(service.searcher, rows))
