"""`ParquetSink`: records as a Parquet dataset in the S3/Athena layout, on local disk.

Layout under `path`::

    adverse_events/dt=YYYY-MM-DD/part-<digest>.parquet   one file per written batch
    dead_letters/part-<digest>.parquet

`dt` is the processing date, as in the S3 sink, so the same SQL (DuckDB's ``read_parquet`` with
``hive_partitioning``, Athena, Spark) reads both. File names are a digest of the batch's
content: writing the same batch again replaces the same file. Idempotent by post id: when a post
already stored is written again, the older file is rewritten without it (atomically) before the
new file lands, so a dataset never holds a post twice.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from adverse_events.errors import PermanentBackendError
from adverse_events.protocols import Backend
from adverse_events.records import AdverseEventRecord, DeadLetter
from adverse_events.sinks._arrow import (
    DEAD_LETTER_SCHEMA,
    RECORD_SCHEMA,
    dead_letters_table,
    records_table,
)
from adverse_events.sinks.base import split_latest

__all__ = ["ParquetSink"]


def _digest(ids: Sequence[str], extra: str) -> str:
    return hashlib.sha1(("\n".join(sorted(ids)) + extra).encode()).hexdigest()[:20]


def _write_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class ParquetSink(Backend):
    """Writes a Parquet dataset partitioned by processing date under `path`."""

    name = "parquet"

    def __init__(self, path: str | os.PathLike[str] = "out/parquet"):
        self.path = Path(path)
        self.records_dir = self.path / "adverse_events"
        self.letters_dir = self.path / "dead_letters"
        self._where: dict[str, Path] | None = None  # post id -> file holding it

    def _index(self) -> dict[str, Path]:
        if self._where is None:
            self._where = {}
            for file in sorted(self.records_dir.glob("dt=*/part-*.parquet")):
                for post_id in pq.read_table(file, columns=["post_id"]).column(0).to_pylist():
                    self._where[post_id] = file
        return self._where

    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        try:
            self._write(records)
        except OSError as exc:  # pyarrow's ArrowIOError is an OSError too
            raise PermanentBackendError(f"cannot write under {self.path}: {exc}",
                                        backend=self.name) from exc

    def _write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        good, letters = split_latest(records)
        if good:
            self._write_records(good)
        if letters:
            table = dead_letters_table(letters)
            ids = [d.dead_letter_id for d in letters]
            _write_atomic(table, self.letters_dir / f"part-{_digest(ids, '')}.parquet")

    def _write_records(self, records: list[AdverseEventRecord]) -> None:
        index = self._index()
        by_day: dict[str, list[AdverseEventRecord]] = defaultdict(list)
        for record in records:
            by_day[record.processed_at.strftime("%Y-%m-%d")].append(record)
        targets = {
            day: self.records_dir
            / f"dt={day}"
            / f"part-{_digest([r.post_id for r in group], day)}.parquet"
            for day, group in by_day.items()
        }
        self._remove_older([r.post_id for r in records], set(targets.values()))
        for day, group in by_day.items():
            _write_atomic(records_table(group), targets[day])
            index.update((r.post_id, targets[day]) for r in group)

    def _remove_older(self, post_ids: list[str], keep: set[Path]) -> None:
        """Rewrite files that hold any of `post_ids` without them (newest write wins)."""
        index = self._index()
        stale: dict[Path, set[str]] = defaultdict(set)
        for post_id in post_ids:
            file = index.get(post_id)
            if file is not None and file not in keep:
                stale[file].add(post_id)
        for file, ids in stale.items():
            table = pq.read_table(file, schema=RECORD_SCHEMA)
            kept = table.filter(pc.invert(pc.is_in(table["post_id"], pa.array(sorted(ids)))))
            if kept.num_rows:
                _write_atomic(kept, file)
            else:
                file.unlink()
            for post_id in ids:
                index.pop(post_id, None)

    def existing_ids(self, post_ids: Sequence[str]) -> set[str]:
        index = self._index()
        return {pid for pid in post_ids if pid in index}

    def read_records(self) -> list[AdverseEventRecord]:
        """Every stored record."""
        files = sorted(self.records_dir.glob("dt=*/part-*.parquet"))
        rows = [row for f in files for row in pq.read_table(f, schema=RECORD_SCHEMA).to_pylist()]
        return [AdverseEventRecord.from_row(row) for row in rows]

    def read_dead_letters(self) -> list[DeadLetter]:
        files = sorted(self.letters_dir.glob("part-*.parquet"))
        rows = {
            row["dead_letter_id"]: row
            for f in files
            for row in pq.read_table(f, schema=DEAD_LETTER_SCHEMA).to_pylist()
        }
        return [DeadLetter.from_row(row) for row in rows.values()]

    def close(self) -> None:
        self._where = None

    def __repr__(self) -> str:
        return f"ParquetSink(path={str(self.path)!r})"
