"""The ``adverse-events`` command.

Bad input (a wrong config, an unknown backend, a missing file) prints one line that names the
problem and the fix, and exits 2; it never prints a traceback.

This package builds the typer `app` and lists its commands in the order ``--help`` shows them.
Each command group lives in its own module (`pipeline`, `analytics`, `training`, `extractor`)
and stays thin: it parses options, calls one library function and prints what it returns
through `render`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from adverse_events.cli.analytics import athena_ddl, dashboard, export, report, signals
from adverse_events.cli.extractor import evaluate_extractor_command, train_extractor
from adverse_events.cli.pipeline import backends, run
from adverse_events.cli.render import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    console,
    err_console,
    print_mapping,
)
from adverse_events.cli.training import evaluate, train

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "app",
    "athena_ddl",
    "backends",
    "console",
    "dashboard",
    "err_console",
    "evaluate",
    "evaluate_extractor_command",
    "export",
    "main",
    "print_mapping",
    "report",
    "run",
    "signals",
    "train",
    "train_extractor",
]

app = typer.Typer(
    name="adverse-events",
    help="Find adverse drug events in social-media posts: run pipelines, train, evaluate, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _setup(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="-v: DEBUG for this library; -vv: DEBUG for every library (botocore included).",
        ),
    ] = 0,
    debug_logger: Annotated[
        list[str] | None,
        typer.Option(
            help="A third-party logger to put at DEBUG (repeatable), e.g. --debug-logger urllib3.",
        ),
    ] = None,
) -> None:
    from adverse_events.logs import configure_logging

    configure_logging(verbose, debug_logger or ())


# The order here is the order of ``adverse-events --help``.
app.command()(run)
app.command()(backends)
app.command()(report)
app.command()(signals)
app.command()(dashboard)
app.command()(train)
app.command()(evaluate)
app.command("athena-ddl")(athena_ddl)
app.command("train-extractor")(train_extractor)
app.command("evaluate-extractor")(evaluate_extractor_command)
app.command()(export)


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
