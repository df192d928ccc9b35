"""Commands over stored records: ``report``, ``signals``, ``dashboard``, ``export`` and
``athena-ddl`` (the Athena tables over the S3 sink's layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adverse_events.cli.render import (
    cell,
    console,
    fail,
    print_mapping,
    rows_table,
    signal_table,
)
from adverse_events.errors import AdverseEventsError

__all__ = ["athena_ddl", "dashboard", "export", "report", "signals"]

Db = Annotated[Path, typer.Option("--db", help="DuckDB file (or Parquet folder) of records.")]
By = Annotated[str, typer.Option(help="Event coding: icd10, meddra_pt or mention.")]
MinCases = Annotated[
    int, typer.Option(help="No screening rule fires on a pair seen in fewer posts.")
]
Drugs = Annotated[str, typer.Option(help="Count drugs by active ingredient or by name as written.")]


def report(
    db: Db,
    by: By = "icd10",
    top: Annotated[int, typer.Option(help="Rows per table.")] = 10,
    min_cases: MinCases = 3,
    drugs: Drugs = "ingredient",
) -> None:
    """Print the key numbers: totals, top pairs, drug names, provenance, dead letters, signals."""
    from adverse_events.analytics.overview import overview

    try:
        found = overview(db, by=by, min_cases=min_cases, drugs=drugs)
    except AdverseEventsError as exc:
        raise fail(exc) from None
    print_mapping(f"records: {db}", {k: cell(v) for k, v in found.summary.items()})
    console.print(rows_table(f"top drug ({drugs}) x event ({by}) pairs", found.pairs, top))
    console.print(rows_table("names behind each ingredient", found.brands, top))
    console.print(
        rows_table("unresolved drug spans (left out of the counts)", found.unresolved, top)
    )
    flagged = found.flagged
    console.print(
        signal_table(
            f"signals: {len(flagged)} of {len(found.signals)} pairs fire a rule", flagged, top
        )
    )
    console.print(rows_table("provenance", found.provenance))
    console.print(rows_table("dead letters", found.dead_letters, top))


def signals(
    db: Db,
    by: By = "icd10",
    window: Annotated[
        str, typer.Option(help="all, year, quarter, month, week or day (of created_at).")
    ] = "all",
    min_count: Annotated[int, typer.Option(help="Leave out pairs in fewer posts.")] = 1,
    min_cases: MinCases = 3,
    drugs: Drugs = "ingredient",
    only_signals: Annotated[
        bool, typer.Option("--only-signals", help="Keep pairs where a rule fires.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option(help="Write the table to a .csv or .parquet file.")
    ] = None,
    top: Annotated[int, typer.Option(help="Rows to print.")] = 20,
) -> None:
    """Disproportionality (PRR, ROR, chi-square, IC) for every drug-event pair."""
    from adverse_events.analytics.signals import signals as compute
    from adverse_events.analytics.signals import write_signals

    try:
        found = compute(
            db,
            by=by,  # type: ignore[arg-type]
            window=window,
            min_count=min_count,
            min_cases=min_cases,
            drugs=drugs,
        )
        if only_signals:
            found = [s for s in found if s.stats.any_signal]
        if output is not None:
            write_signals(found, output)
    except AdverseEventsError as exc:
        raise fail(exc) from None
    console.print(signal_table(f"signals by {by}, window {window}: {len(found)} pairs", found, top))
    if output is not None:
        console.print(f"wrote {len(found)} rows to {output}")


def dashboard(
    db: Db,
    output: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    by: Annotated[
        str, typer.Option(help="Event coding: auto, icd10, meddra_pt or mention.")
    ] = "auto",
    grain: Annotated[
        str, typer.Option(help="Time axis: auto, day, week, month, quarter or year.")
    ] = "auto",
    min_cases: Annotated[
        int,
        typer.Option(
            help="No screening rule fires on a pair seen in fewer posts (the page can change it)."
        ),
    ] = 3,
    drugs: Drugs = "ingredient",
) -> None:
    """Write one self-contained HTML dashboard (opens offline, from disk)."""
    from adverse_events.analytics.dashboard import write_dashboard

    try:
        path = write_dashboard(db, output, by=by, grain=grain, min_cases=min_cases, drugs=drugs)
    except AdverseEventsError as exc:
        raise fail(exc) from None
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def export(
    db: Annotated[Path, typer.Option(help="DuckDB file written by the duckdb sink.")],
    output: Annotated[Path, typer.Option(help="Directory for the Parquet files.")],
) -> None:
    """Export a DuckDB sink to Parquet in the S3/Athena layout (dt= partitions).

    Records are partitioned by processing date (dt=YYYY-MM-DD; the records folder is replaced);
    mentions, concepts and dead letters go to one Parquet file each. Paths never enter SQL text:
    DuckDB's own Parquet writer takes them as arguments, so any file name works.
    """
    from adverse_events.analytics.export import export_parquet

    try:
        count = export_parquet(db, output)
    except AdverseEventsError as exc:
        raise fail(exc) from None
    console.print(f"exported {count:,} records to {output}")


def athena_ddl(
    bucket: Annotated[str, typer.Option(help="Bucket the S3 sink writes to.")],
    prefix: Annotated[str, typer.Option(help="Records prefix of the S3 sink.")] = (
        "lambda_predictions/"
    ),
    dead_letter_prefix: Annotated[
        str, typer.Option(help="Dead-letter prefix of the S3 sink ('' for no dead-letter table).")
    ] = ("lambda_dead_letters/"),
    database: Annotated[str, typer.Option(help="Glue database.")] = "adverse_events",
    table: Annotated[str, typer.Option(help="Table name.")] = "predictions",
    format: Annotated[str, typer.Option(help="parquet or jsonl (as the sink writes).")] = (
        "parquet"
    ),
    start: Annotated[str, typer.Option(help="First dt partition (YYYY-MM-DD).")] = "2024-01-01",
) -> None:
    """Print the Athena CREATE statements (partition projection on dt) for the S3 sink layout."""
    from datetime import date

    from adverse_events.aws.athena import athena_ddl as make_ddl

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise fail(ValueError(f"--start must be a date like 2024-01-01, got {start!r}")) from None
    try:
        ddl = make_ddl(
            bucket,
            prefix,
            database=database,
            table=table,
            format=format,
            start=first,
            dead_letter_prefix=dead_letter_prefix or None,
        )
    except AdverseEventsError as exc:
        raise fail(exc) from None
    typer.echo(ddl, nl=False)
