"""Commands that change a deployment's store as a whole: ``langzhong migrate`` (copy it to
another store, upgrade its schema in place, switch the index shape it serves)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.text import Text

from langzhong.cli.main import catch_up, err, fail, main, open_service, progress_bar
from langzhong.config import ENGINES, STORE_SCHEMES, Settings
from langzhong.service import Service


@main.command()
@click.option(
    "--to-store",
    "to_store",
    help="The target: a postgresql://… URL (shared), or a folder (an embedded home).",
)
@click.option(
    "--to-engine",
    type=click.Choice(ENGINES),
    help="The target's index engine (default: this deployment's). milvus needs"
    " LANGZHONG_MILVUS_URI.",
)
@click.option(
    "--upgrade",
    is_flag=True,
    help="Upgrade this store's schema in place (servers also do it when they start).",
)
@click.option(
    "--reshape",
    is_flag=True,
    help="Make this server's index shape (LANGZHONG_ENGINE) the shared store's and build its"
    " index: servers of the other shape are refused from then on.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def migrate(
    ctx: click.Context,
    to_store: str | None,
    to_engine: str | None,
    upgrade: bool,
    reshape: bool,
    as_json: bool,
) -> None:
    """Copy this deployment's store into an empty one and build its index, verified by counts
    and a sample of articles (docs/scale-out.md); or, in place, upgrade the store's schema
    (--upgrade) or switch the index shape it serves (--reshape)."""
    if upgrade or reshape:
        if to_store:
            fail("--upgrade and --reshape work in place: no --to-store")
        _change_in_place(ctx.obj, upgrade, reshape, as_json)
        return
    if not to_store:
        fail("name the target with --to-store (or use --upgrade or --reshape)")
    _copy_deployment(ctx, to_store, to_engine, as_json)


def _change_in_place(settings: Settings, upgrade: bool, reshape: bool, as_json: bool) -> None:
    service = Service(settings, reshape=reshape)  # opening the store upgrades its schema
    before, after = service.store.upgraded
    result: dict = {"schema": {"before": before, "after": after}}
    if reshape:
        catch_up(service)
        result["index_shape"] = service.store.index_shape()
        result["indexed_documents"] = service.index.doc_count()
    service.close()
    if as_json:
        click.echo(json.dumps(result))
        return
    err.print(f"schema version {before} → {after}" if before != after else f"schema {after}")
    if reshape:
        err.print(f"index shape {result['index_shape']}: {result['indexed_documents']} indexed")


def _copy_deployment(
    ctx: click.Context, to_store: str, to_engine: str | None, as_json: bool
) -> None:
    from langzhong.migrate import migrate as copy_deployment

    settings: Settings = ctx.obj
    engine = to_engine or settings.engine
    if to_store.startswith(STORE_SCHEMES):
        target = replace(settings, store_url=to_store, engine=engine)
    else:
        target = replace(settings, home=Path(to_store).expanduser(), store_url=None, engine=engine)
    if engine == "milvus" and not target.milvus_uri:
        fail("--to-engine milvus needs LANGZHONG_MILVUS_URI")
    service = open_service(ctx, demo=False)
    # Servers with an index of their own build it from the shared store when they start.
    build_index = engine == "milvus" or target.store_url is None
    with progress_bar() as progress:
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
            fail(str(error))
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
