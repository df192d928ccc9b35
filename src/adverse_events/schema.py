"""The one schema of what the library stores: records, mentions, concepts and dead letters.

Every tabular sink (DuckDB, Parquet, S3 for Athena, DynamoDB items) and the Ray engine write the
rows this module builds, with the types declared here, and the DuckDB and Hive/Athena DDL are
generated from the same declaration. Adding a column is one edit: a `Column` in its `Table`
and its value in the row function below it (a test checks the two agree, and that each sink
writes exactly this schema).

Column types are the library's own small vocabulary (`TYPES`), each mapped once to Arrow,
DuckDB and Hive. pyarrow is imported only by the functions that build Arrow objects, so records
and DDL need no optional dependency.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from adverse_events.records import AdverseEventRecord, DeadLetter

__all__ = [
    "CONCEPTS",
    "DEAD_LETTERS",
    "MENTIONS",
    "RECORDS",
    "TABLES",
    "TYPES",
    "Column",
    "Table",
    "concept_rows",
    "dead_letter_row",
    "dead_letters_table",
    "mention_rows",
    "record_row",
    "records_table",
]

#: Column type -> (DuckDB type, Hive type). The Arrow type is built by `_arrow_type`.
TYPES: dict[str, tuple[str, str]] = {
    "string": ("VARCHAR", "string"),
    "strings": ("VARCHAR[]", "array<string>"),
    "double": ("DOUBLE", "double"),
    "boolean": ("BOOLEAN", "boolean"),
    "int32": ("INTEGER", "int"),
    "int64": ("BIGINT", "bigint"),
    "timestamp": ("TIMESTAMPTZ", "timestamp"),
}


@dataclass(frozen=True)
class Column:
    """One stored column: its name and its type (a key of `TYPES`)."""

    name: str
    type: str

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name!r}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Table:
    """A stored table: name, columns in order, and the primary key (empty for child tables)."""

    name: str
    columns: tuple[Column, ...]
    key: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(c.name for c in self.columns)

    def duckdb_ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for DuckDB (names quoted: ``end`` is a keyword)."""
        columns = ", ".join(
            f'"{c.name}" {TYPES[c.type][0]}' + (" PRIMARY KEY" if c.name == self.key else "")
            for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({columns});"

    def duckdb_migration(self) -> str:
        """``ADD COLUMN IF NOT EXISTS`` for every column: a file written by an older release
        gets the columns added since (NULL in its old rows), so new rows fit."""
        return "\n".join(
            f'ALTER TABLE {self.name} ADD COLUMN IF NOT EXISTS "{c.name}" {TYPES[c.type][0]};'
            for c in self.columns
        )

    def hive_columns(self) -> tuple[tuple[str, str], ...]:
        """(column, Hive type) pairs, in order, for Glue / Athena DDL."""
        return tuple((c.name, TYPES[c.type][1]) for c in self.columns)

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema every Parquet file of this table has."""
        import pyarrow as pa

        return pa.schema([(c.name, _arrow_type(c.type)) for c in self.columns])

    def arrow_table(self, rows: Sequence[dict[str, Any]]) -> pa.Table:
        """Rows (dicts with exactly these columns) as an Arrow table with `arrow_schema`."""
        import pyarrow as pa

        schema = self.arrow_schema()
        # Column by column is about twice as fast as Table.from_pylist for these rows.
        return pa.table(
            [pa.array([row[f.name] for row in rows], type=f.type) for f in schema],
            schema=schema,
        )


def _arrow_type(name: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "string": pa.string,
        "strings": lambda: pa.list_(pa.string()),
        "double": pa.float64,
        "boolean": pa.bool_,
        "int32": pa.int32,
        "int64": pa.int64,
        "timestamp": lambda: pa.timestamp("us", tz="UTC"),
    }[name]()


def _columns(spec: str) -> tuple[Column, ...]:
    """``"name:type name:type ..."`` -> columns (keeps each table's declaration one block)."""
    return tuple(Column(*item.split(":")) for item in spec.split())


RECORDS = Table(
    "adverse_events",
    _columns(
        "post_id:string source:string text:string created_at:timestamp author_id:string"
        " lang:string url:string drug_mentions:strings metadata_json:string label:string"
        " score:double is_adverse_event:boolean probabilities_json:string model:string"
        " ae_type:string ae_type_score:double drugs:strings events:strings"
        " icd10_codes:strings icd10_descriptions:strings meddra_pt_codes:strings"
        " meddra_pt_names:strings mentions_json:string extractor:string"
        " library_version:string processed_at:timestamp ingredients:strings"
        " drug_ingredients:strings"
    ),
    key="post_id",
)
MENTIONS = Table(
    "mentions",
    _columns(
        "post_id:string mention_index:int32 text:string start:int32 end:int32"
        " category:string score:double traits:strings asserted:boolean"
    ),
)
CONCEPTS = Table(
    "concepts",
    _columns(
        "post_id:string mention_index:int32 system:string code:string"
        " description:string score:double"
    ),
)
DEAD_LETTERS = Table(
    "dead_letters",
    _columns(
        "dead_letter_id:string stage:string reason:string payload:string post_id:string"
        " source:string line:int64 failed_at:timestamp transient:boolean"
    ),
    key="dead_letter_id",
)
TABLES: tuple[Table, ...] = (RECORDS, MENTIONS, CONCEPTS, DEAD_LETTERS)


# -- rows ---------------------------------------------------------------------------------------
# One encoder: json.dumps builds a new JSONEncoder per call when given options (slow in bulk).
_ENCODE = json.JSONEncoder(sort_keys=True, default=str).encode


def _json(value: Any, empty: str) -> str:
    return _ENCODE(value) if value else empty


def record_row(record: AdverseEventRecord) -> dict[str, Any]:
    """The flat `RECORDS` row of one record (`AdverseEventRecord.from_row` reverses it)."""
    post, pred = record.post, record.prediction
    events = record.event_mentions
    icd, pts = record.codes("ICD-10-CM"), record.codes("MedDRA-PT")
    return {
        "post_id": post.post_id,
        "source": post.source,
        "text": post.text,
        "created_at": post.created_at,
        "author_id": post.author_id,
        "lang": post.lang,
        "url": post.url,
        "drug_mentions": list(post.drug_mentions),
        "metadata_json": _json(post.metadata, "{}"),
        "label": pred.label,
        "score": pred.score,
        "is_adverse_event": pred.is_adverse_event,
        "probabilities_json": _json(pred.probabilities, "{}"),
        "model": pred.model,
        "ae_type": events[0].text if events else None,
        "ae_type_score": events[0].score if events else None,
        "drugs": list(record.drugs),
        "events": [m.text for m in events],
        "icd10_codes": [c.code for c in icd],
        "icd10_descriptions": [c.description for c in icd],
        "meddra_pt_codes": [c.code for c in pts],
        "meddra_pt_names": [c.description for c in pts],
        "mentions_json": _json([m.model_dump(mode="json") for m in record.mentions], "[]"),
        "extractor": record.extractor,
        "library_version": record.library_version,
        "processed_at": record.processed_at,
        "ingredients": list(record.ingredients),
        "drug_ingredients": list(record.drug_ingredients),
    }


def mention_rows(records: Iterable[AdverseEventRecord]) -> list[dict[str, Any]]:
    """`MENTIONS` rows: one per mention, numbered within its record."""
    return [
        {
            "post_id": record.post_id,
            "mention_index": index,
            "text": m.text,
            "start": m.start,
            "end": m.end,
            "category": m.category,
            "score": m.score,
            "traits": list(m.traits),
            "asserted": m.asserted,
        }
        for record in records
        for index, m in enumerate(record.mentions)
    ]


def concept_rows(records: Iterable[AdverseEventRecord]) -> list[dict[str, Any]]:
    """`CONCEPTS` rows: one per coded concept of a mention."""
    return [
        {
            "post_id": record.post_id,
            "mention_index": index,
            "system": c.system,
            "code": c.code,
            "description": c.description,
            "score": c.score,
        }
        for record in records
        for index, m in enumerate(record.mentions)
        for c in m.concepts
    ]


def dead_letter_row(letter: DeadLetter) -> dict[str, Any]:
    """The flat `DEAD_LETTERS` row of one dead letter (`DeadLetter.from_row` reverses it)."""
    return {
        "dead_letter_id": letter.dead_letter_id,
        "stage": letter.stage,
        "reason": letter.reason,
        "payload": letter.payload,
        "post_id": letter.post_id,
        "source": letter.source,
        "line": letter.line,
        "failed_at": letter.failed_at,
        "transient": letter.transient,
    }


def records_table(records: Sequence[AdverseEventRecord]) -> pa.Table:
    """Records as an Arrow table with the `RECORDS` schema."""
    return RECORDS.arrow_table([record_row(r) for r in records])


def dead_letters_table(letters: Sequence[DeadLetter]) -> pa.Table:
    """Dead letters as an Arrow table with the `DEAD_LETTERS` schema."""
    return DEAD_LETTERS.arrow_table([dead_letter_row(d) for d in letters])
