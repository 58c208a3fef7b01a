"""The ``langzhong`` command group and what its commands share: the consoles, one-line errors,
progress bars, opening the service. The commands live by purpose: asking.py (ask, show),
writing.py (ingest, embed, crawl, import), admin.py (stats, serve, export, feedback), deploy.py
(migrate), measure.py (train, eval), bench.py (bench)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from langzhong.config import Settings
from langzhong.index import IndexUnavailable
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


def fail(message: str) -> NoReturn:
    err.print(Text(f"error: {message}", style="red"))
    sys.exit(2)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def catch_up(service: Service) -> None:
    """Index what a crash or another process left unindexed, with a bar when it is much."""
    pending = service.indexer.pending()
    if pending < 10_000:
        service.catch_up()
        return
    with progress_bar() as progress:
        task = progress.add_task("indexing stored articles", total=pending)
        service.catch_up(on_progress=lambda applied: progress.update(task, completed=applied))


def open_service(ctx: click.Context, *, demo: bool) -> Service:
    """Open the store; read commands fill a brand-new store with the demo corpus first."""
    service = Service(ctx.obj)
    catch_up(service)
    if demo and service.writing.needs_demo():
        err.print("First run: building the store from the bundled demo corpus…")
        with progress_bar() as progress:
            task = progress.add_task("demo corpus", total=len(DEMO_FILES))
            report = service.writing.load_demo(on_file=lambda path: progress.advance(task))
        err.print(summary(report))
    return service


def summary(report: IngestReport) -> str:
    return ", ".join(f"{n} {name}" for name, n in report.as_dict().items())


class _Commands(click.Group):
    """A store or index server that cannot be reached is a one-line error, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (StoreError, IndexUnavailable) as error:
            fail(str(error))


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
        fail(f"bad setting: {error}")
