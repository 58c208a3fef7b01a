"""Commands that write to the store: ingest, embed, crawl, import."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from langzhong.backup import CarriedVectors
from langzhong.cli.main import err, fail, main, open_service, progress_bar, summary
from langzhong.crawl.fetch import USER_AGENT
from langzhong.crawl.options import CrawlOptions, CrawlReport
from langzhong.embed.base import EmbedderUnavailable
from langzhong.ingest.sources import iter_files
from langzhong.ingest.writer import IngestReport
from langzhong.service import Service


def _embedding_bar(service: Service, progress: Progress) -> None:
    """Show, in ``progress``, the new articles getting their e5 vectors after a write."""
    task = None

    def advanced(done: int, of: int) -> None:
        nonlocal task
        if task is None:
            task = progress.add_task("embedding new articles (e5)", total=of)
        progress.update(task, completed=done)

    service.writing.on_embedding = advanced


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
        fail("name the files or folders to ingest")
    if max_file_mb:
        ctx.obj = replace(ctx.obj, max_file_mb=max_file_mb)
    service = open_service(ctx, demo=False)
    if from_archive:
        with progress_bar() as progress:
            _embedding_bar(service, progress)
            report = service.writing.ingest_archive(list(paths))
        for rejection in report.rejections:
            err.print(Text(f"error: {rejection}", style="red"), soft_wrap=True)
        _report(report, as_json)
        return
    files = sum(1 for _ in iter_files(paths))
    with progress_bar() as progress:
        task = progress.add_task("ingesting", total=files)
        _embedding_bar(service, progress)
        report = service.writing.ingest(
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
    """Say when articles still wait for their e5 vectors (an interrupted run; search ranks them
    by their words meanwhile)."""
    if service.embedder is not None and (waiting := service.vectors.counts()["pending"]):
        err.print(
            f"{waiting} articles wait for their e5 vectors (ranked by their words meanwhile):"
            " a server gives them theirs in the background, or run `langzhong embed`"
        )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option(
    "--ray-address",
    metavar="ADDRESS",
    help="Embed on this Ray cluster ('host:port', 'ray://host:10001', 'auto'; 'local' starts "
    "one here), one e5 actor per CPU; every node needs langzhong installed.",
)
@click.pass_context
def embed(ctx: click.Context, as_json: bool, ray_address: str | None) -> None:
    """Give every article that lacks one its e5 vector, on every core (or a Ray cluster's), so
    that search ranks it by meaning too. Resumable: a killed run loses at most one batch."""
    service = open_service(ctx, demo=True)
    try:
        pending = service.vectors.counts()["pending"]
        with progress_bar() as progress:
            task = progress.add_task("embedding articles", total=pending)
            done = service.vectors.embed(
                on_progress=lambda n: progress.update(task, completed=n), ray_address=ray_address
            )
    except EmbedderUnavailable as error:
        fail(str(error))
    counts = service.vectors.counts()
    if as_json:
        click.echo(json.dumps({"embedded": done, **counts}))
    else:
        err.print(f"{done} articles got a vector; {counts['with_vector']} have one")


def _report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        err.print(summary(report))
    if report.rejections and not (report.counts["added"] or report.counts["updated"]):
        sys.exit(1)


@main.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--sitemap", "sitemaps", multiple=True, help="A sitemap (or index) to read too.")
@click.option(
    "--max-pages",
    default=100,
    show_default=True,
    type=click.IntRange(1),
    help="Pages asked for in this run, 304s of a --refresh included; the queue and the"
    " sitemaps read grow with it. A crawl stopped by it resumes on the next run.",
)
@click.option(
    "--max-depth", default=3, show_default=True, type=click.IntRange(0), help="Links from a start."
)
@click.option(
    "--same-site/--any-site",
    default=True,
    show_default=True,
    help="Stay on the start addresses' origins (scheme, host and port).",
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
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds one request may take in all (connect, headers and body).",
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
    timeout: float,
    as_json: bool,
) -> None:
    """Fetch a health site politely and store its articles (robots.txt obeyed, one request at a
    time per host, conditional re-fetches). Run it again to resume or to refresh.

    Only article pages are stored: lists, tag, search and the site's own pages (免责声明…) are
    followed, not stored. Addresses on loopback, link-local, private or multicast networks are
    refused unless a start address is on one (an intranet site, a test site on 127.0.0.1).
    With LANGZHONG_STORE_URL the crawl writes to the shared PostgreSQL store directly."""
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
        timeout_s=timeout,
    )
    service = open_service(ctx, demo=False)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("crawling", total=None)
        _embedding_bar(service, progress)
        try:
            report = service.crawling.crawl(
                list(urls),
                options,
                on_visit=lambda r: progress.update(task, description=_crawl_line(r)),
            )
        except ValueError as error:
            fail(str(error))
    for rejection in report.rejections:
        err.print(Text(f"error: {rejection}", style="red"), soft_wrap=True)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        err.print(", ".join(f"{n} {name}" for name, n in report.as_dict().items()))
    if report.stopped_at_max_pages:
        err.print(
            f"stopped at --max-pages {max_pages} with {report.queued} addresses queued:"
            " run it again to go on, or raise --max-pages"
        )


def _crawl_line(report: CrawlReport) -> str:
    counts = report.counts
    line = (
        f"fetched {counts['fetched']} · unchanged {counts['not_modified']} · not articles"
        f" {counts['not_articles']} · queued {report.queued} · robots"
        f" {counts['skipped_robots']} · errors {counts['errors']}"
    )
    return line if report.phase == "fetching" else f"{line} · {report.phase} the new articles…"


@main.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_store(ctx: click.Context, path: Path) -> None:
    """Load an export into the store: every article under its own id, exactly as exported, with
    its e5 vector where this installation's weights made it (the others are embedded again)."""
    service = open_service(ctx, demo=False)
    with progress_bar() as progress:
        _embedding_bar(service, progress)
        report, vectors = service.writing.restore(path)
    for rejection in report.rejections:
        err.print(Text(f"error: {rejection}", style="red"), soft_wrap=True)
    err.print(summary(report))
    _carried_note(service, vectors)
    if report.rejections:
        sys.exit(1)


def _carried_note(service: Service, vectors: CarriedVectors) -> None:
    """Say what became of an import's e5 vectors, and what waits to be embedded again."""
    if not (vectors.carried or vectors.left_out):
        return
    said = f"{vectors.carried} e5 vectors carried, {vectors.left_out} left out"
    if service.embedder is None:
        err.print(f"{said}: dense retrieval is {service.dense_state}")
        return
    if vectors.left_out:
        said += " (made by other e5 weights, or for other text)"
        if not service.vectors.counts()["pending"]:
            said += ": embedded again"
    err.print(said)
    _vectors_note(service)
