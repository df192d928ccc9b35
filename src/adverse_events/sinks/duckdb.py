"""`DuckDBSink`: one DuckDB file that analytics and the dashboard query directly.

Tables (their columns are `adverse_events.schema`'s, the DDL generated from it):

* ``adverse_events``: one row per post (the flat record row), ``post_id`` primary key, upserted.
* ``mentions``: one row per mention (post_id, mention_index, text, start, end, category, score,
  traits, asserted).
* ``concepts``: one row per coded concept of a mention (post_id, mention_index, system, code,
  description, score).
* ``dead_letters``: one row per dead letter, ``dead_letter_id`` primary key.

A batch is written in one transaction: a run killed mid-write leaves the previous state.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from adverse_events.errors import PermanentBackendError, TransientBackendError
from adverse_events.protocols import Backend
from adverse_events.records import AdverseEventRecord, DeadLetter
from adverse_events.schema import (
    CONCEPTS,
    DEAD_LETTERS,
    MENTIONS,
    RECORDS,
    concept_rows,
    dead_letters_table,
    mention_rows,
    records_table,
)
from adverse_events.sinks.base import split_latest

__all__ = ["DuckDBSink"]

_TABLES = (RECORDS, MENTIONS, CONCEPTS, DEAD_LETTERS)
_SCHEMA = "\n".join(t.duckdb_ddl() for t in _TABLES)
#: Columns appended since a table's first release: a file written by an older version gets them
#: (NULL in old rows) when it is opened, so new rows fit; inserts go by name, not position.
_MIGRATION = "\n".join(t.duckdb_migration() for t in _TABLES)


def _arrow(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    """A relation as an Arrow table (the method's name changed across DuckDB releases)."""
    convert = getattr(relation, "to_arrow_table", None) or relation.arrow
    return convert()


class DuckDBSink(Backend):
    """Upserts records into a DuckDB file (``":memory:"`` for a throwaway database)."""

    name = "duckdb"

    def __init__(self, path: str | os.PathLike[str] = "adverse_events.duckdb"):
        self.path = str(path)
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection (opened and schema-created on first use)."""
        if self._conn is None:
            try:
                if self.path != ":memory:":
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                conn = duckdb.connect(self.path)
            except OSError as exc:
                raise PermanentBackendError(
                    f"cannot open {self.path!r}: {exc}", backend=self.name
                ) from exc
            except duckdb.IOException as exc:
                raise TransientBackendError(
                    f"cannot open {self.path!r}: {exc} (is another process using it?)",
                    backend=self.name,
                ) from exc
            conn.execute(_SCHEMA)
            conn.execute(_MIGRATION)
            self._conn = conn
        return self._conn

    def open(self) -> None:
        _ = self.connection

    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        good, letters = split_latest(records)
        with self._lock:
            conn = self.connection
            try:
                conn.execute("BEGIN TRANSACTION")
                if good:
                    self._upsert_records(conn, good)
                if letters:
                    batch = dead_letters_table(letters)  # noqa: F841 (read by DuckDB)
                    conn.execute("INSERT OR REPLACE INTO dead_letters BY NAME SELECT * FROM batch")
                conn.execute("COMMIT")
            except duckdb.Error as exc:
                conn.execute("ROLLBACK")
                raise PermanentBackendError(f"write failed: {exc}", backend=self.name) from exc

    @staticmethod
    def _upsert_records(
        conn: duckdb.DuckDBPyConnection, records: Sequence[AdverseEventRecord]
    ) -> None:
        batch = records_table(records)  # noqa: F841 (read by DuckDB by name)
        batch_mentions = MENTIONS.arrow_table(mention_rows(records))  # noqa: F841
        batch_concepts = CONCEPTS.arrow_table(concept_rows(records))  # noqa: F841
        conn.execute("INSERT OR REPLACE INTO adverse_events BY NAME SELECT * FROM batch")
        for table in ("mentions", "concepts"):
            conn.execute(f"DELETE FROM {table} WHERE post_id IN (SELECT post_id FROM batch)")
        conn.execute("INSERT INTO mentions BY NAME SELECT * FROM batch_mentions")
        conn.execute("INSERT INTO concepts BY NAME SELECT * FROM batch_concepts")
        conn.execute("DELETE FROM dead_letters WHERE post_id IN (SELECT post_id FROM batch)")

    def existing_ids(self, post_ids: Sequence[str]) -> set[str]:
        with self._lock:
            rows = self.connection.execute(
                "SELECT post_id FROM adverse_events WHERE post_id IN (SELECT unnest($ids))",
                {"ids": list(post_ids)},
            ).fetchall()
        return {row[0] for row in rows}

    def read_records(self) -> list[AdverseEventRecord]:
        """Every stored record (for tests and small exports)."""
        with self._lock:
            table = _arrow(self.connection.sql("SELECT * FROM adverse_events"))
        return [AdverseEventRecord.from_row(row) for row in table.to_pylist()]

    def read_dead_letters(self) -> list[DeadLetter]:
        with self._lock:
            table = _arrow(self.connection.sql("SELECT * FROM dead_letters"))
        return [DeadLetter.from_row(row) for row in table.to_pylist()]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return f"DuckDBSink(path={self.path!r})"
