"""`ReplaySource`: replays a file of posts in timestamp order at a chosen speed.

For demos and load tests of the streaming path: the same posts a live source would have
produced, paced as they were written (``speed="1x"``), faster (``"60x"``: an hour a minute), or
as fast as the pipeline takes them (``"max"``). The file is parsed by `JsonlSource`, `CsvSource`
or `ParquetSource`, so field options and dead letters are the same as theirs.

The file is read whole and sorted (stable, by ``created_at``) before the first post comes out:
memory grows with the file. Rows without a timestamp cannot be placed in time and become dead
letters; they come out first, with every other bad row.

With `checkpoint_path` the source is a `CheckpointingSource`: its position is the number of
items (dead letters and posts, in replay order) handed out, and the runner `commit()`s it only
once the sinks hold them, so a restarted replay continues after the last stored item. The
checkpoint names the file's size and modification time; replaying a changed file with an old
checkpoint is refused (the order, and so the offset, would differ).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError
from adverse_events.protocols import Backend
from adverse_events.records import DeadLetter, Post
from adverse_events.sources._resilience import JsonCheckpoint
from adverse_events.sources.files import CsvSource, JsonlSource
from adverse_events.sources.parquet import ParquetSource

__all__ = ["ReplaySource", "parse_speed"]

_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def parse_speed(speed: str | float | int) -> float | None:
    """``"max"`` -> None (no waiting); ``"60x"``, ``"1x"``, ``60`` -> the factor."""
    if isinstance(speed, str):
        text = speed.strip().lower()
        if text == "max":
            return None
        match = re.fullmatch(r"(\d+(?:\.\d+)?)x?", text)
        if not match:
            raise ConfigError(
                f"speed must be 'max' or a factor such as '1x' or '60x', got {speed!r}"
            )
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
        max_posts: stop after this many posts (counted from where a checkpoint resumes).
        checkpoint_path: JSON file with the position stored so far (see the module doc).
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
        checkpoint_path: str | os.PathLike[str] | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ):
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"replay source: no such file {str(self.path)!r}")
        self.format = format or _FORMATS.get(self.path.suffix.lower())
        if self.format not in ("jsonl", "csv", "parquet"):
            raise ConfigError(
                f"replay source: cannot tell the format of {self.path.name!r}; "
                "set format = 'jsonl', 'csv' or 'parquet'"
            )
        if not time_field:
            raise ConfigError(
                "replay source: time_field is required (posts are replayed in timestamp order)"
            )
        self.factor = parse_speed(speed)
        self.speed = speed
        if max_posts is not None and max_posts < 0:
            raise ConfigError(f"max_posts must be 0 or more, got {max_posts}")
        self.max_posts = max_posts
        self.options: dict[str, Any] = dict(
            id_field=id_field,
            text_field=text_field,
            time_field=time_field,
            time_format=time_format,
            author_field=author_field,
            lang_field=lang_field,
            url_field=url_field,
            drugs_field=drugs_field,
            source_name=source_name or self.name,
            encoding=encoding,
        )
        self.delimiter = delimiter
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self._offset: int | None = None  # items handed out by the current read()
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
            import pyarrow.parquet  # noqa: F401 - checked here, for the install hint
        except ImportError as exc:
            raise ConfigError(
                "replaying Parquet needs: pip install 'adverse-events[parquet]'"
            ) from exc
        yield from ParquetSource(self.path, batch_rows=4096, **self.options).read()

    def _sorted(self) -> tuple[list[Post], list[DeadLetter]]:
        posts: list[Post] = []
        letters: list[DeadLetter] = []
        for item in self._items():
            if isinstance(item, DeadLetter):
                letters.append(item)
            elif item.created_at is None:
                letters.append(
                    DeadLetter(
                        stage="source",
                        post_id=item.post_id,
                        source=item.source,
                        reason=f"no timestamp in {self.options['time_field']!r}: replay needs one "
                        "to place the post in time",
                        payload=item.model_dump_json(),
                    )
                )
            else:
                posts.append(item)
        posts.sort(key=lambda post: post.created_at)  # type: ignore[arg-type,return-value]
        return posts, letters

    def read(self) -> Iterator[Post | DeadLetter]:
        """Dead letters first, then posts oldest first, each when its time (scaled) comes;
        after a committed checkpoint, only what comes after it."""
        posts, letters = self._sorted()
        items: list[Post | DeadLetter] = [*letters, *posts]
        start = self._resume_offset()
        self._offset = start
        handed, first, started = 0, None, self._clock()
        for index in range(start, len(items)):
            item = items[index]
            if isinstance(item, Post):
                if self.max_posts is not None and handed >= self.max_posts:
                    return
                handed += 1
                first = first or item.created_at
                self._pace(item, first, started)
            self._offset = index + 1
            yield item

    def _pace(self, post: Post, first: Any, started: float) -> None:
        if self.factor is None:
            return
        offset = (post.created_at - first).total_seconds() / self.factor  # type: ignore[operator]
        wait = started + offset - self._clock()
        if wait > 0:
            self._sleep(wait)

    # -- checkpoints (`CheckpointingSource`) ----------------------------------------------------
    def _fingerprint(self) -> dict[str, Any]:
        stat = self.path.stat()
        return {"file": self.path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def _resume_offset(self) -> int:
        if self.checkpoint_path is None or not self.checkpoint_path.exists():
            return 0
        state = JsonCheckpoint(self.checkpoint_path, "replay checkpoint").state
        if {k: state.get(k) for k in ("file", "size", "mtime_ns")} != self._fingerprint():
            raise ConfigError(
                f"replay checkpoint {str(self.checkpoint_path)!r} belongs to "
                f"another version of {self.path.name!r}; delete it to start over"
            )
        return int(state.get("offset", 0))

    def snapshot(self) -> dict[str, Any] | None:
        """How many items (in replay order) were handed out, and which file they came from."""
        if self._offset is None:
            return None
        return {**self._fingerprint(), "offset": self._offset}

    def commit(self, state: dict[str, Any] | None) -> None:
        """Save `state` to `checkpoint_path`: the runner calls it once the sinks hold the items."""
        if state is None or self.checkpoint_path is None:
            return
        checkpoint = JsonCheckpoint(None, "replay checkpoint")
        checkpoint.path = self.checkpoint_path
        checkpoint.replace(state)
        checkpoint.save()

    def __repr__(self) -> str:
        return f"ReplaySource(path={str(self.path)!r}, speed={self.speed!r})"
