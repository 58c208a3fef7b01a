"""An operator's commands: stats, serve, export, feedback."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import click
from rich.table import Table

from langzhong.cli.main import err, fail, main, open_service, out


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of stored articles, sections, related links and indexed documents; settings."""
    figures = open_service(ctx, demo=True).admin.stats()
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

    try:
        port_held = serving.claim_port(host, port)  # before the store: a clash costs no wait
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror}")
    with port_held:
        service = open_service(ctx, demo=True)
        documents = service.index.doc_count()
        service.close()
        # Each worker process opens the store itself, from the same settings.
        os.environ["LANGZHONG_HOME"] = str(ctx.obj.home)
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
    service = open_service(ctx, demo=False)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as lines:
        count, vectors = service.admin.export(lines)
    err.print(f"exported {count} articles ({vectors} with their e5 vectors) to {path}")


@main.group()
def feedback() -> None:
    """Readers' 「这个回答有帮助吗？」 answers."""


@feedback.command(name="export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.pass_context
def export_feedback(ctx: click.Context, path: Path | None) -> None:
    """Write every answer as a JSON line (question, article, helpful, at) to PATH or stdout:
    relevance judgements from readers."""
    service = open_service(ctx, demo=False)
    lines = path.open("w", encoding="utf-8") if path else sys.stdout
    count = 0
    for row in service.admin.feedback():
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

    service = open_service(ctx, demo=False)
    if path:
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    else:
        rows = list(service.admin.feedback())
    out.print_json(data=score_feedback(service.searcher, rows))
