"""Athena / Glue DDL for what `S3Sink` writes: one source of truth for the table's columns.

`RECORD_COLUMNS` and `DEAD_LETTER_COLUMNS` are the Hive types of the flat rows, generated from
`adverse_events.schema` like the Arrow schemas the sink writes, so the CDK app,
``adverse-events athena-ddl`` and the Parquet files never disagree. Partitions are found by
*partition projection* on ``dt`` (no crawler, no ``MSCK REPAIR TABLE``).
"""

from __future__ import annotations

import re
from datetime import date

from adverse_events.errors import ConfigError
from adverse_events.schema import DEAD_LETTERS, RECORDS

__all__ = ["DEAD_LETTER_COLUMNS", "RECORD_COLUMNS", "athena_ddl", "projection_properties"]

#: (column, Hive type) of the records table, in order (generated from `adverse_events.schema`).
RECORD_COLUMNS: tuple[tuple[str, str], ...] = RECORDS.hive_columns()
#: (column, Hive type) of the dead-letter table, in order.
DEAD_LETTER_COLUMNS: tuple[tuple[str, str], ...] = DEAD_LETTERS.hive_columns()

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _location(bucket: str, prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"s3://{bucket}/{prefix}/" if prefix else f"s3://{bucket}/"


def projection_properties(location: str, start: date) -> dict[str, str]:
    """Table properties that project ``dt=YYYY-MM-DD`` partitions from `start` to today."""
    return {
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{start.isoformat()},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": location + "dt=${dt}/",
    }


def _table(
    name: str, columns: tuple[tuple[str, str], ...], location: str, format: str, start: date
) -> str:
    if format == "jsonl":  # the JSON SerDe reads ISO-8601 text, not timestamps with offsets
        columns = tuple((c, "string" if t == "timestamp" else t) for c, t in columns)
        storage = "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'"
    else:
        storage = "STORED AS PARQUET"
    cols = ",\n".join(f"  `{c}` {t}" for c, t in columns)
    props = ",\n".join(
        f"  '{k}' = '{v}'" for k, v in projection_properties(location, start).items()
    )
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {name} (\n{cols}\n)\n"
        f"PARTITIONED BY (`dt` string)\n{storage}\nLOCATION '{location}'\n"
        f"TBLPROPERTIES (\n{props}\n);"
    )


def athena_ddl(
    bucket: str,
    prefix: str = "lambda_predictions/",
    *,
    database: str = "adverse_events",
    table: str = "predictions",
    format: str = "parquet",
    start: date = date(2024, 1, 1),
    dead_letter_prefix: str | None = "lambda_dead_letters/",
) -> str:
    """CREATE statements for the S3 layout: database, records table, a latest-row view and
    (with `dead_letter_prefix`) the dead-letter table. Run them one at a time in Athena.
    """
    for key, value in (("database", database), ("table", table)):
        if not _NAME.match(value):
            raise ConfigError(f"{key} must be lowercase letters, digits and _, got {value!r}")
    if not bucket or "/" in bucket or bucket.startswith("s3:"):
        raise ConfigError(f"bucket must be a bucket name like 'my-bucket', got {bucket!r}")
    if format not in ("parquet", "jsonl"):
        raise ConfigError(f"format must be parquet or jsonl, got {format!r}")
    name = f"{database}.{table}"
    columns = ", ".join(f'"{c}"' for c, _ in RECORD_COLUMNS)  # views are SQL: double quotes
    statements = [
        f"CREATE DATABASE IF NOT EXISTS {database};",
        _table(name, RECORD_COLUMNS, _location(bucket, prefix), format, start),
        # S3 objects are idempotent per batch; a post reprocessed in a *different* batch (a
        # partial retry, a replay) can have two rows. This view keeps the newest.
        f'CREATE OR REPLACE VIEW {name}_latest AS\nSELECT {columns}, "dt" FROM (\n'
        f"  SELECT *, row_number() OVER (PARTITION BY post_id ORDER BY processed_at DESC) AS rn\n"
        f"  FROM {name}\n) WHERE rn = 1;",
    ]
    if dead_letter_prefix:
        statements.append(
            _table(
                f"{name}_dead_letters",
                DEAD_LETTER_COLUMNS,
                _location(bucket, dead_letter_prefix),
                format,
                start,
            )
        )
    return "\n\n".join(statements) + "\n"
