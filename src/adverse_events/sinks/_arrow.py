"""Arrow schemas of the flat record and dead-letter rows, shared by tabular sinks.

One schema keeps DuckDB, Parquet and S3/Athena column names and types identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from adverse_events.records import (
    DEAD_LETTER_COLUMNS,
    ROW_COLUMNS,
    AdverseEventRecord,
    DeadLetter,
)

__all__ = ["DEAD_LETTER_SCHEMA", "RECORD_SCHEMA", "dead_letters_table", "records_table"]

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())

RECORD_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("source", pa.string()),
        ("text", pa.string()),
        ("created_at", _TS),
        ("author_id", pa.string()),
        ("lang", pa.string()),
        ("url", pa.string()),
        ("drug_mentions", _STRINGS),
        ("metadata_json", pa.string()),
        ("label", pa.string()),
        ("score", pa.float64()),
        ("is_adverse_event", pa.bool_()),
        ("probabilities_json", pa.string()),
        ("model", pa.string()),
        ("ae_type", pa.string()),
        ("ae_type_score", pa.float64()),
        ("drugs", _STRINGS),
        ("events", _STRINGS),
        ("icd10_codes", _STRINGS),
        ("icd10_descriptions", _STRINGS),
        ("meddra_pt_codes", _STRINGS),
        ("meddra_pt_names", _STRINGS),
        ("mentions_json", pa.string()),
        ("extractor", pa.string()),
        ("library_version", pa.string()),
        ("processed_at", _TS),
        ("ingredients", _STRINGS),
        ("drug_ingredients", _STRINGS),
    ]
)

DEAD_LETTER_SCHEMA = pa.schema(
    [
        ("dead_letter_id", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("payload", pa.string()),
        ("post_id", pa.string()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("failed_at", _TS),
    ]
)

assert tuple(RECORD_SCHEMA.names) == ROW_COLUMNS
assert tuple(DEAD_LETTER_SCHEMA.names) == DEAD_LETTER_COLUMNS


def _columnar(rows: list[dict[str, object]], schema: pa.Schema) -> pa.Table:
    # Column by column is about twice as fast as Table.from_pylist for these rows.
    return pa.table(
        [pa.array([row[field.name] for row in rows], type=field.type) for field in schema],
        schema=schema,
    )


def records_table(records: Sequence[AdverseEventRecord]) -> pa.Table:
    """Records as an Arrow table with `RECORD_SCHEMA`."""
    return _columnar([r.to_row() for r in records], RECORD_SCHEMA)


def dead_letters_table(letters: Sequence[DeadLetter]) -> pa.Table:
    """Dead letters as an Arrow table with `DEAD_LETTER_SCHEMA`."""
    return _columnar([d.to_row() for d in letters], DEAD_LETTER_SCHEMA)
