"""`ReplaySource`: replays a file of posts in timestamp order at a chosen speed.

For demos and load tests of the streaming path: the same posts a live source would have
produced, paced as they were written (``speed="1x"``), faster (``"60x"``: an hour a minute), or
as fast as the pipeline takes them (``"max"``). JSONL and CSV are parsed by `JsonlSource` and
`CsvSource`, Parquet through the same `FieldMap`, so field options and dead letters are the same.

The file is read whole and sorted (stable, by ``created_at``) before the first post comes out:
memory grows with the file. Rows without a timestamp cannot be placed in time and become dead
letters; they come out first, with every other bad row.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError, InputError
from adverse_events.protocols import Backend
from adverse_events.records import DeadLetter, Post
from adverse_events.sources._mapping import FieldMap
from adverse_events.sources.files import CsvSource, JsonlSource

__all__ = ["ReplaySource", "parse_speed"]

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
            ".parquet": "parquet", ".pq": "parquet"}


def parse_speed(speed: str | float | int) -> float | None:
    """``"max"`` -> None (no waiting); ``"60x"``, ``"1x"``, ``60`` -> the factor."""
    if isinstance(speed, str):
        text = speed.strip().lower()
        if text == "max":
            return None
        match = re.fullmatch(r"(\d+(?:\.\d+)?)x?", text)
        if not match:
            raise ConfigError(f"speed must be 'max' or a factor such as '1x' or '60x', "
                              f"got {speed!r}")
        factor = float(match.group(1))
    elif isinstance(speed, (int, float)) and not isinstance(speed, bool):
        factor = float(speed)
    else:
        raise ConfigError(f"speed must be 'max' or a factor such as '60x', got {speed!r}")
    if factor <= 0:
        raise ConfigError(f"speed must be more than 0x, got {speed!r}")
    return factor


class ReplaySource(Backend):
    """Posts from a JSONL, CSV or Parquet file, oldest first, paced by `speed`.

    Args:
        path: the file; `format` is taken from its suffix unless given
            (``jsonl``, ``csv`` or ``parquet``).
        speed: ``"max"`` (default), ``"1x"`` (real time), ``"60x"`` (60 times faster), ...
        max_posts: stop after this many posts.
        id_field, text_field, time_field, ...: as for `JsonlSource`.
        sleep, clock: injectable for tests (default `time.sleep`, `time.monotonic`).
    """

    name = "replay"

    def __init__(
        self,
        path: str | os.PathLike[str],
        speed: str | float = "max",
        format: str | None = None,  # noqa: A002 - the natural option name in a config file
        max_posts: int | None = None,
        id_field: str | None = "post_id",
        text_field: str = "text",
        time_field: str = "created_at",
        time_format: str | None = None,
        author_field: str | None = "author_id",
        lang_field: str | None = "lang",
        url_field: str | None = "url",
        drugs_field: str | None = "drug_mentions",
        source_name: str | None = None,
        delimiter: str = ",",
        encoding: str = "utf-8",
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ):
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"replay source: no such file {str(self.path)!r}")
        self.format = format or _FORMATS.get(self.path.suffix.lower())
        if self.format not in ("jsonl", "csv", "parquet"):
            raise ConfigError(f"replay source: cannot tell the format of {self.path.name!r}; "
                              "set format = 'jsonl', 'csv' or 'parquet'")
        if not time_field:
            raise ConfigError("replay source: time_field is required (posts are replayed "
                              "in timestamp order)")
        self.factor = parse_speed(speed)
        self.speed = speed
        if max_posts is not None and max_posts < 0:
            raise ConfigError(f"max_posts must be 0 or more, got {max_posts}")
        self.max_posts = max_posts
        self.options: dict[str, Any] = dict(
            id_field=id_field, text_field=text_field, time_field=time_field,
            time_format=time_format, author_field=author_field, lang_field=lang_field,
            url_field=url_field, drugs_field=drugs_field, source_name=source_name or self.name,
            encoding=encoding)
        self.delimiter = delimiter
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic

    def _items(self) -> Iterator[Post | DeadLetter]:
        if self.format == "jsonl":
            yield from JsonlSource(self.path, **self.options).read()
        elif self.format == "csv":
            yield from CsvSource(self.path, delimiter=self.delimiter, **self.options).read()
        else:
            yield from self._parquet()

    def _parquet(self) -> Iterator[Post | DeadLetter]:
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ConfigError("replaying Parquet needs: pip install 'adverse-events[parquet]'") \
                from exc
        fields = FieldMap.from_options(**{
            k: v for k, v in self.options.items() if k not in ("source_name", "encoding")
        }, source=self.options["source_name"])
        row_number = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                row_number += 1
                try:
                    yield fields.to_post(row, row_number)
                except InputError as exc:
                    yield DeadLetter(
                        stage="source", reason=f"{self.path.name} row {row_number}: {exc.reason}",
                        payload=fields.scrub(json.dumps(row, default=str, ensure_ascii=False)),
                        post_id=exc.post_id, source=fields.source, line=row_number)

    def _sorted(self) -> tuple[list[Post], list[DeadLetter]]:
        posts: list[Post] = []
        letters: list[DeadLetter] = []
        for item in self._items():
            if isinstance(item, DeadLetter):
                letters.append(item)
            elif item.created_at is None:
                letters.append(DeadLetter(
                    stage="source", post_id=item.post_id, source=item.source,
                    reason=f"no timestamp in {self.options['time_field']!r}: replay needs one "
                           "to place the post in time",
                    payload=item.model_dump_json()))
            else:
                posts.append(item)
        posts.sort(key=lambda post: post.created_at)  # type: ignore[arg-type,return-value]
        return posts, letters

    def read(self) -> Iterator[Post | DeadLetter]:
        """Dead letters first, then posts oldest first, each when its time (scaled) comes."""
        posts, letters = self._sorted()
        yield from letters
        if self.max_posts is not None:
            posts = posts[: self.max_posts]
        if not posts:
            return
        first, started = posts[0].created_at, self._clock()
        for post in posts:
            if self.factor is not None:
                offset = (post.created_at - first).total_seconds() / self.factor  # type: ignore[operator]
                wait = started + offset - self._clock()
                if wait > 0:
                    self._sleep(wait)
            yield post

    def __repr__(self) -> str:
        return f"ReplaySource(path={str(self.path)!r}, speed={self.speed!r})"
