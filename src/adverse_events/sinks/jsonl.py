"""`JsonlSink`: records and dead letters as JSON Lines files, idempotent by id.

Writes append (cheap, crash-safe: a torn last line is cut off when the file is opened again).
When a post id is written a second time, the file is compacted on `close()` so it holds only
the newest line per id, replaced atomically.

Dead letters follow the same rules as every sink: one line per dead-letter id, and a stored
post replaces its old dead letters: a write that stores posts with dead letters on file
rewrites the dead-letter file without them (atomically, after the records are on disk), so the
replacement survives a kill. A dead letter written after its post was stored is kept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from adverse_events.errors import PermanentBackendError
from adverse_events.protocols import Backend
from adverse_events.records import AdverseEventRecord, DeadLetter
from adverse_events.sinks.base import split_latest

__all__ = ["JsonlSink"]


class _JsonlFile:
    """One append-only JSONL file keyed by a field, compacted when a key repeats."""

    def __init__(self, path: Path, key: str, group: str | None = None):
        self.path, self.key, self.group = path, key, group
        self.keys: set[str] = set()
        #: group value (a dead letter's post id) -> keys of the lines that hold it
        self.groups: dict[str, set[str]] = {}
        self.dirty = False
        self.handle: IO[str] | None = None

    def open(self) -> None:
        if self.handle is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._recover()
            self.handle = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise PermanentBackendError(f"cannot open {self.path}: {exc}", backend="jsonl") from exc

    def _recover(self) -> None:
        """Load the keys present and cut a torn last line left by a crash.

        A bad line anywhere but at the end is not a torn write: refuse to touch the file.
        """
        if not self.path.exists():
            return
        good_bytes = 0
        size = self.path.stat().st_size
        with self.path.open("rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                try:
                    row = json.loads(raw) if raw.endswith(b"\n") else None
                    key = row[self.key] if row is not None else None
                except (ValueError, KeyError, TypeError):
                    key, row = None, None
                if key is None:
                    if good_bytes + len(raw) < size:
                        raise PermanentBackendError(
                            f"{self.path} line {line_no} is not a record written by this sink; "
                            "fix or move the file",
                            backend="jsonl",
                        )
                    break
                self.dirty |= key in self.keys
                self.keys.add(key)
                self._remember_group(key, (row or {}).get(self.group) if self.group else None)
                good_bytes += len(raw)
        if good_bytes != size:
            with self.path.open("r+b") as handle:
                handle.truncate(good_bytes)

    def _remember_group(self, key: str, value: object) -> None:
        if self.group and isinstance(value, str):
            self.groups.setdefault(value, set()).add(key)

    def append(self, rows: list[tuple[str, str]], groups: list[str | None]) -> None:
        """Append (key, JSON line) rows; `groups[i]` is row i's group field (may be None)."""
        self.open()
        assert self.handle is not None
        try:
            for (key, line), group in zip(rows, groups, strict=True):
                self.dirty |= key in self.keys
                self.keys.add(key)
                self._remember_group(key, group)
                self.handle.write(line + "\n")
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except (OSError, ValueError) as exc:  # disk full, unencodable text
            self._forget()
            raise PermanentBackendError(
                f"cannot write {self.path}: {exc}", backend="jsonl"
            ) from exc

    def _forget(self) -> None:
        """After a failed append: drop the handle and the keys, so the next use re-reads the
        file (`_recover` cuts the torn last line) instead of trusting ids never stored."""
        handle, self.handle = self.handle, None
        self.keys, self.groups = set(), {}
        if handle is not None:
            try:
                handle.close()
            except (OSError, ValueError):
                pass

    def lines(self) -> Iterator[dict[str, object]]:
        if self.path.exists():
            with self.path.open(encoding="utf-8") as handle:
                for raw in handle:
                    yield json.loads(raw)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.dirty:
            self._compact()

    def drop_groups(self, values: set[str]) -> None:
        """Remove every line whose group field is one of `values` (rewrites the file)."""
        self.open()
        doomed = {key for value in values for key in self.groups.get(value, ())}
        if not doomed:
            return
        try:
            if self.handle is not None:
                self.handle.close()
                self.handle = None
            self._compact(without=doomed)
        except OSError as exc:
            self._forget()
            raise PermanentBackendError(
                f"cannot rewrite {self.path}: {exc}", backend="jsonl"
            ) from exc
        self.keys -= doomed
        for value in values:
            self.groups.pop(value, None)

    def _compact(self, without: frozenset[str] | set[str] = frozenset()) -> None:
        latest = {row[self.key]: row for row in self.lines()}
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            for key, row in latest.items():
                if key not in without:
                    handle.write(_dumps(row) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self.dirty = False


def _dumps(row: dict[str, object]) -> str:
    return json.dumps(row, ensure_ascii=False)


def _serialised(key: str, value: str, item: AdverseEventRecord | DeadLetter) -> tuple[str, str]:
    """(key, one JSON line); a record JSON cannot hold (built without validation, nested past
    pydantic's serialisation depth) is a `PermanentBackendError`, so the runner dead-letters it."""
    try:
        return value, _dumps({key: value, **item.model_dump(mode="json")})
    except (ValueError, RecursionError) as exc:
        raise PermanentBackendError(
            f"cannot serialise {key} {value!r}: {exc}", backend="jsonl"
        ) from exc


class JsonlSink(Backend):
    """Records to `path`; dead letters to `dead_letter_path`.

    The dead-letter file defaults to ``<stem>.dead_letters.jsonl`` beside `path`.
    """

    name = "jsonl"

    def __init__(self, path: str | os.PathLike[str], dead_letter_path: str | None = None):
        self.path = Path(path)
        letters = (
            Path(dead_letter_path)
            if dead_letter_path
            else self.path.with_name(f"{self.path.stem}.dead_letters.jsonl")
        )
        self._records = _JsonlFile(self.path, "post_id")
        self._letters = _JsonlFile(letters, "dead_letter_id", group="post_id")

    def open(self) -> None:
        self._records.open()
        self._letters.open()

    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        good, letters = split_latest(records)
        if good:
            self._records.append(
                [_serialised("post_id", r.post_id, r) for r in good],
                groups=[r.post_id for r in good],
            )
            self._letters.drop_groups({r.post_id for r in good})
        if letters:
            self._letters.append(
                [_serialised("dead_letter_id", d.dead_letter_id, d) for d in letters],
                groups=[d.post_id for d in letters],
            )

    def existing_ids(self, post_ids: Sequence[str]) -> set[str]:
        self._records.open()
        return {pid for pid in post_ids if pid in self._records.keys}

    def read_records(self) -> list[AdverseEventRecord]:
        """The stored records, newest per post id."""
        rows = {row["post_id"]: row for row in self._records.lines()}
        return [
            AdverseEventRecord.model_validate({k: v for k, v in row.items() if k != "post_id"})
            for row in rows.values()
        ]

    def read_dead_letters(self) -> list[DeadLetter]:
        rows = {row["dead_letter_id"]: row for row in self._letters.lines()}
        return [DeadLetter.from_row(row) for row in rows.values()]

    def close(self) -> None:
        self._records.close()
        self._letters.close()

    def __repr__(self) -> str:
        return f"JsonlSink(path={str(self.path)!r})"
