"""`JsonlSource` and `CsvSource`: posts from local files.

A malformed line, a missing or empty text, a field of the wrong type, JSON nested deeper than
`MAX_NESTING_DEPTH` or a bad timestamp becomes a `DeadLetter` carrying the 1-based line number
and the reason; the run goes on. Author ids are pseudonymised (`adverse_events.privacy`) in
posts and in dead-letter payloads alike.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from adverse_events.errors import ConfigError, InputError
from adverse_events.privacy import withheld
from adverse_events.protocols import Backend
from adverse_events.records import MAX_NESTING_DEPTH, DeadLetter, Post
from adverse_events.sources._mapping import FieldMap

__all__ = ["CsvSource", "JsonlSource"]


class _FileSource(Backend):
    """Common options and the row -> Post step of file sources."""

    name = "file"

    def __init__(
        self,
        path: str | os.PathLike[str],
        id_field: str | None = "post_id",
        text_field: str = "text",
        time_field: str | None = "created_at",
        time_format: str | None = None,
        author_field: str | None = "author_id",
        lang_field: str | None = "lang",
        url_field: str | None = "url",
        drugs_field: str | None = "drug_mentions",
        source_name: str | None = None,
        encoding: str = "utf-8",
    ):
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"{self.name} source: no such file {str(self.path)!r}")
        self.encoding = encoding
        self.fields = FieldMap.from_options(
            source_name or self.name,
            id_field=id_field,
            text_field=text_field,
            time_field=time_field,
            time_format=time_format,
            author_field=author_field,
            lang_field=lang_field,
            url_field=url_field,
            drugs_field=drugs_field,
        )

    def _post_or_letter(self, row: Any, raw: str, line: int) -> Post | DeadLetter:
        try:
            return self.fields.to_post(row, line)
        except InputError as exc:
            return self._letter(exc.reason, raw, line, exc.post_id)

    def _letter(self, reason: str, raw: str, line: int, post_id: str | None = None) -> DeadLetter:
        return DeadLetter(
            stage="source",
            reason=f"{self.path.name} line {line}: {reason}",
            payload=self.fields.scrub(raw),
            post_id=post_id,
            source=self.fields.source,
            line=line,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r})"


class JsonlSource(_FileSource):
    """Posts from a JSON Lines file: one JSON object per line; blank lines are skipped.

    Lines end at ``\n`` only (a ``\r`` before it is dropped): a stray carriage return inside
    a line neither splits it nor shifts the line numbers after it.
    """

    name = "jsonl"

    def read(self) -> Iterator[Post | DeadLetter]:
        with self.path.open(encoding=self.encoding, errors="replace", newline="\n") as handle:
            for line_no, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                line = raw.rstrip("\n").removesuffix("\r")
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield self._letter(
                        f"malformed JSON ({exc.msg} at column {exc.colno})", line, line_no
                    )
                    continue
                except RecursionError:
                    yield self._letter(
                        f"JSON nested deeper than {MAX_NESTING_DEPTH} levels", line, line_no
                    )
                    continue
                yield self._post_or_letter(row, line, line_no)


class _Recorder:
    """Iterates a file's lines and keeps those read since `take()`: the raw text of a row and
    the line it starts on (blank lines before it, which the CSV reader skips, do not count)."""

    def __init__(self, handle: IO[str]):
        self.handle, self.count = handle, 0
        self.lines: list[str] = []

    def __iter__(self) -> _Recorder:
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.lines.append(line)
        self.count += 1
        return line

    def take(self) -> tuple[int, str]:
        """(first line number, raw text) of the row read since the last call."""
        lines, self.lines = self.lines, []
        blank = 0
        while blank < len(lines) - 1 and lines[blank] in ("\n", "\r\n"):
            blank += 1
        return self.count - len(lines) + 1 + blank, "".join(lines[blank:])


class CsvSource(_FileSource):
    """Posts from a CSV file with a header row; `delimiter` is configurable.

    Records end at ``\n`` or ``\r\n``; a quoted cell may hold either. A row the CSV parser
    refuses (a bare ``\r`` in an unquoted cell, a cell over the parser's size limit) becomes a
    dead letter and reading goes on at the next line; its raw text is withheld (size and
    SHA-256 only) when the file has an author column, which could not be found to pseudonymise.
    """

    name = "csv"

    def __init__(self, path: str | os.PathLike[str], delimiter: str = ",", **options: Any):
        super().__init__(path, **options)
        self.delimiter = delimiter

    def read(self) -> Iterator[Post | DeadLetter]:
        with self.path.open(encoding=self.encoding, errors="replace", newline="\n") as handle:
            lines = _Recorder(handle)
            reader = csv.DictReader(lines, delimiter=self.delimiter)
            try:
                reader.fieldnames  # noqa: B018 - reads the header row
            except csv.Error as exc:
                yield self._letter(f"malformed CSV header ({exc})", withheld(lines.take()[1]), 1)
                return
            lines.take()
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    start, raw = lines.take()
                    if self.fields.author_field in (reader.fieldnames or ()):
                        raw = withheld(raw)  # cannot find the author cell to pseudonymise it
                    yield self._letter(f"malformed CSV ({exc})", raw, start)
                    continue
                start = lines.take()[0]
                raw = json.dumps(row, ensure_ascii=False, default=str)
                if None in row:  # more cells than the header has columns
                    yield self._letter("more cells than header columns", raw, start)
                else:
                    yield self._post_or_letter(row, raw, start)
