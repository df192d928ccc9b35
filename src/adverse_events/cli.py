"""The ``adverse-events`` command.

Bad input (a wrong config, an unknown backend, a missing file) prints one line that names the
problem and the fix, and exits 2; it never prints a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adverse_events.errors import AdverseEventsError

app = typer.Typer(
    name="adverse-events",
    help="Find adverse drug events in social-media posts: run pipelines, train, evaluate, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def print_mapping(title: str, data: dict[str, Any]) -> None:
    """Print a key/value table (used by several commands)."""
    table = Table(title=title, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", justify="right")
    for key, value in data.items():
        table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else str(value))
    console.print(table)


@app.callback()
def _setup(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Pipeline TOML file.")],
    resume: Annotated[
        Optional[bool], typer.Option("--resume/--no-resume", help="Skip posts already stored.")
    ] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Posts per batch.")] = None,
) -> None:
    """Run the pipeline a TOML file describes and print its report."""
    from adverse_events.config import load_config

    try:
        cfg = load_config(config)
        updates = {k: v for k, v in {"resume": resume, "batch_size": batch_size}.items()
                   if v is not None}
        if updates:
            cfg = cfg.model_copy(update={"pipeline": cfg.pipeline.model_copy(update=updates)})
        pipeline = cfg.build()
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    report = pipeline.run()
    print_mapping(f"run report: {config}", report.to_dict())
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def backends() -> None:
    """List every registered backend by role, with its extra and whether it is installed."""
    from adverse_events.registry import get_registry

    try:
        entries = get_registry().entries()
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    table = Table(title="backends")
    for column in ("role", "name", "class", "extra", "installed"):
        table.add_column(column)
    for info in entries:
        installed = "yes" if info.installed else f"no: {info.install_hint}"
        table.add_row(info.role, info.name, info.target, info.extra or "-", installed)
    console.print(table)


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)


@app.command("athena-ddl")
def athena_ddl(
    bucket: Annotated[str, typer.Option(help="Bucket the S3 sink writes to.")],
    prefix: Annotated[str, typer.Option(help="Records prefix of the S3 sink.")] = (
        "lambda_predictions/"),
    dead_letter_prefix: Annotated[str, typer.Option(
        help="Dead-letter prefix of the S3 sink ('' for no dead-letter table).")] = (
        "lambda_dead_letters/"),
    database: Annotated[str, typer.Option(help="Glue database.")] = "adverse_events",
    table: Annotated[str, typer.Option(help="Table name.")] = "predictions",
    format: Annotated[str, typer.Option(help="parquet or jsonl (as the sink writes).")] = (
        "parquet"),
    start: Annotated[str, typer.Option(help="First dt partition (YYYY-MM-DD).")] = "2024-01-01",
) -> None:
    """Print the Athena CREATE statements (partition projection on dt) for the S3 sink layout."""
    from datetime import date

    from adverse_events.aws.athena import athena_ddl as make_ddl

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise _fail(ValueError(f"--start must be a date like 2024-01-01, got {start!r}")) \
            from None
    try:
        ddl = make_ddl(bucket, prefix, database=database, table=table, format=format,
                       start=first, dead_letter_prefix=dead_letter_prefix or None)
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    typer.echo(ddl, nl=False)
