"""A DuckDB sink file as Parquet in the S3 / Athena layout (what ``adverse-events export`` runs).

Records go to ``<output>/adverse_events/dt=YYYY-MM-DD/`` (Hive partitions by processing date,
the folder replaced on each export); mentions, concepts and dead letters to one Parquet file
each. Paths never enter SQL text: DuckDB's own Parquet writer takes them as arguments, so any
folder name works (quotes, spaces, semicolons), and the table names are fixed, not input.
"""

from __future__ import annotations

import os
from pathlib import Path

from adverse_events.errors import BackendError, ConfigError

__all__ = ["CHILD_TABLES", "export_parquet"]

#: The tables exported as one Parquet file each, next to the partitioned records.
CHILD_TABLES = ("mentions", "concepts", "dead_letters")


def export_parquet(db: str | os.PathLike[str], output: str | os.PathLike[str]) -> int:
    """Export the DuckDB sink file `db` to Parquet under `output`; returns the records written.

    A missing file raises `ConfigError` (naming it and the fix); a file that is not a DuckDB
    sink's (no such table, not a database) raises `BackendError`.
    """
    import duckdb

    source, target = Path(db), Path(output)
    if not source.is_file():
        raise ConfigError(f"no DuckDB file at {source}; run a pipeline with a duckdb sink")
    target.mkdir(parents=True, exist_ok=True)
    try:
        with duckdb.connect(str(source), read_only=True) as conn:
            conn.sql(
                "SELECT *, strftime(processed_at, '%Y-%m-%d') AS dt FROM adverse_events"
            ).write_parquet(str(target / "adverse_events"), partition_by=["dt"], overwrite=True)
            for table in CHILD_TABLES:
                conn.table(table).write_parquet(str(target / f"{table}.parquet"))
            count = conn.execute("SELECT count(*) FROM adverse_events").fetchone()
    except duckdb.Error as exc:
        raise BackendError(f"cannot export {str(source)!r}: {exc}", backend="duckdb") from exc
    return int(count[0]) if count else 0
