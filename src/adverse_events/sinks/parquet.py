"""`ParquetSink`: records as a Parquet dataset in the S3/Athena layout, on local disk.

Layout under `path`::

    adverse_events/dt=YYYY-MM-DD/part-<digest>.parquet   one file per written batch
    dead_letters/part-<digest>.parquet

`dt` is the processing date, as in the S3 sink, so the same SQL (DuckDB's ``read_parquet`` with
``hive_partitioning``, Athena, Spark) reads both. File names are a digest of the batch's
content: writing the same batch again replaces the same file. Idempotent by post id: when a post
already stored is written again, the older file is rewritten without it (atomically) before the
new file lands, so a dataset never holds a post twice. Dead letters follow the same rule by
dead-letter id (a dead letter is stored once, however many batches carry it), and a stored post
replaces its old dead letters: the dead-letter files that hold them are rewritten without them,
after the records' file landed. A dead letter written after its post was stored is kept.
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
from adverse_events.schema import DEAD_LETTERS, RECORDS, dead_letters_table, records_table
from adverse_events.sinks.base import split_latest

__all__ = ["ParquetSink"]


def _digest(ids: Sequence[str], extra: str) -> str:
    return hashlib.sha1(("\n".join(sorted(ids)) + extra).encode()).hexdigest()[:20]


def _write_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class _Files:
    """The Parquet files under `root` matching `pattern`, indexed by their `key` column (and
    `group` column), so a key is kept in one file only."""

    def __init__(
        self, root: Path, pattern: str, schema: pa.Schema, key: str, group: str | None = None
    ):
        self.root, self.pattern, self.schema = root, pattern, schema
        self.key, self.group = key, group
        self._where: dict[str, Path] | None = None  # key -> file holding it
        self.groups: dict[str, set[str]] = {}  # group value -> keys

    def files(self) -> list[Path]:
        return sorted(self.root.glob(self.pattern))

    def index(self) -> dict[str, Path]:
        if self._where is None:
            self._where, self.groups = {}, {}
            columns = [self.key] + ([self.group] if self.group else [])
            for file in self.files():
                table = pq.read_table(file, columns=columns)
                keys = table.column(0).to_pylist()
                values = table.column(1).to_pylist() if self.group else [None] * len(keys)
                self.add(file, keys, values)
        return self._where

    def add(self, file: Path, keys: list[str], values: list[str | None]) -> None:
        where = self._where if self._where is not None else self.index()
        for key, value in zip(keys, values, strict=True):
            where[key] = file
            if value is not None:
                self.groups.setdefault(value, set()).add(key)

    def write(self, table: pa.Table, file: Path) -> None:
        """Store `table` as `file`, removing its keys from every other file first."""
        keys = table.column(self.key).to_pylist()
        self.remove(keys, keep={file})
        _write_atomic(table, file)
        values = table.column(self.group).to_pylist() if self.group else [None] * len(keys)
        self.add(file, keys, values)

    def remove(self, keys: Sequence[str], keep: frozenset[Path] | set[Path] = frozenset()) -> None:
        """Rewrite the files that hold any of `keys` (but those in `keep`) without them."""
        index = self.index()
        stale: dict[Path, set[str]] = defaultdict(set)
        for key in keys:
            file = index.get(key)
            if file is not None and file not in keep:
                stale[file].add(key)
        for file, doomed in stale.items():
            table = pq.read_table(file, schema=self.schema)
            kept = table.filter(pc.invert(pc.is_in(table[self.key], pa.array(sorted(doomed)))))
            if kept.num_rows:
                _write_atomic(kept, file)
            else:
                file.unlink()
            for key in doomed:
                index.pop(key, None)

    def remove_groups(self, values: set[str]) -> None:
        self.index()
        keys = [key for value in values for key in self.groups.pop(value, ())]
        self.remove(keys)

    def forget(self) -> None:
        self._where, self.groups = None, {}


class ParquetSink(Backend):
    """Writes a Parquet dataset partitioned by processing date under `path`."""

    name = "parquet"

    def __init__(self, path: str | os.PathLike[str] = "out/parquet"):
        self.path = Path(path)
        self.records_dir = self.path / "adverse_events"
        self.letters_dir = self.path / "dead_letters"
        self._records = _Files(
            self.records_dir, "dt=*/part-*.parquet", RECORDS.arrow_schema(), "post_id"
        )
        self._letters = _Files(
            self.letters_dir,
            "part-*.parquet",
            DEAD_LETTERS.arrow_schema(),
            "dead_letter_id",
            group="post_id",
        )

    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        try:
            self._write(records)
        except OSError as exc:  # pyarrow's ArrowIOError is an OSError too
            self._records.forget()  # a failed rewrite: read the files again next time
            self._letters.forget()
            raise PermanentBackendError(
                f"cannot write under {self.path}: {exc}", backend=self.name
            ) from exc

    def _write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        good, letters = split_latest(records)
        if good:
            self._write_records(good)
            self._letters.remove_groups({r.post_id for r in good})
        if letters:
            ids = [d.dead_letter_id for d in letters]
            self._letters.write(
                dead_letters_table(letters), self.letters_dir / f"part-{_digest(ids, '')}.parquet"
            )

    def _write_records(self, records: list[AdverseEventRecord]) -> None:
        by_day: dict[str, list[AdverseEventRecord]] = defaultdict(list)
        for record in records:
            by_day[record.processed_at.strftime("%Y-%m-%d")].append(record)
        targets = {
            day: self.records_dir
            / f"dt={day}"
            / f"part-{_digest([r.post_id for r in group], day)}.parquet"
            for day, group in by_day.items()
        }
        self._records.remove([r.post_id for r in records], set(targets.values()))
        for day, group in by_day.items():
            self._records.write(records_table(group), targets[day])

    def existing_ids(self, post_ids: Sequence[str]) -> set[str]:
        index = self._records.index()
        return {pid for pid in post_ids if pid in index}

    def read_records(self) -> list[AdverseEventRecord]:
        """Every stored record."""
        rows = [
            row
            for f in self._records.files()
            for row in pq.read_table(f, schema=RECORDS.arrow_schema()).to_pylist()
        ]
        return [AdverseEventRecord.from_row(row) for row in rows]

    def read_dead_letters(self) -> list[DeadLetter]:
        """Every stored dead letter, as stored (a dead letter is stored once)."""
        rows = [
            row
            for f in self._letters.files()
            for row in pq.read_table(f, schema=DEAD_LETTERS.arrow_schema()).to_pylist()
        ]
        return [DeadLetter.from_row(row) for row in rows]

    def close(self) -> None:
        self._records.forget()
        self._letters.forget()

    def __repr__(self) -> str:
        return f"ParquetSink(path={str(self.path)!r})"
