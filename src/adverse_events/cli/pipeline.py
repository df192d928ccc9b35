"""``adverse-events run`` (a pipeline file, on the local or the Ray engine) and ``backends``."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated, Any

import typer

from adverse_events.cli.render import (
    EXIT_INTERRUPTED,
    backends_table,
    console,
    fail,
    print_mapping,
)
from adverse_events.errors import AdverseEventsError, ConfigError

__all__ = ["backends", "run"]


def run(
    config: Annotated[Path, typer.Argument(help="Pipeline TOML file.")],
    resume: Annotated[
        bool | None, typer.Option("--resume/--no-resume", help="Skip posts already stored.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Posts per batch.")] = None,
    engine: Annotated[
        str | None,
        typer.Option(help="local (this process) or ray (a Ray cluster); default: [engine] type."),
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (ray engine; default: RAY_ADDRESS).")
    ] = None,
) -> None:
    """Run the pipeline a TOML file describes and print its report."""
    from adverse_events.config import load_config

    try:
        cfg = load_config(config)
        updates = {
            k: v for k, v in {"resume": resume, "batch_size": batch_size}.items() if v is not None
        }
        if updates:
            cfg = cfg.model_copy(update={"pipeline": cfg.pipeline.model_copy(update=updates)})
        runner = _with_engine(cfg, engine, address).build_runner()
    except AdverseEventsError as exc:
        raise fail(exc) from None
    # What is alive now (modules, models) lives as long as the process: keeping it out of the
    # garbage collector's scans makes record-heavy runs about 15% faster.
    gc.collect()
    gc.freeze()
    try:
        report = runner.run()
    finally:
        gc.unfreeze()
    print_mapping(f"run report: {config}", report.to_dict())
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.failed:
        raise typer.Exit(1)


def _with_engine(cfg: Any, engine: str | None, address: str | None) -> Any:
    """`cfg` with the CLI's --engine / --address over its [engine] table, validated alike."""
    from adverse_events.config import EngineOptions

    updates = {k: v for k, v in {"type": engine, "address": address}.items() if v is not None}
    if not updates:
        return cfg
    try:
        options = EngineOptions(**{**cfg.engine.model_dump(), **updates})
    except ValueError:
        raise ConfigError(f"--engine must be local or ray, not {engine!r}") from None
    if options.type == "local" and address is not None:
        raise ConfigError("--address is an option of the ray engine: add --engine ray")
    return cfg.model_copy(update={"engine": options})


def backends() -> None:
    """List every registered backend by role, with its extra and whether it is installed."""
    from adverse_events.registry import get_registry

    try:
        entries = get_registry().entries()
    except AdverseEventsError as exc:
        raise fail(exc) from None
    console.print(backends_table(entries))
