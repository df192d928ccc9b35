"""Turning one raw row (a dict from JSON, CSV, Parquet, DynamoDB) into a `Post`.

Shared by every file-like source so field mapping, timestamp parsing and error messages are the
same everywhere. Problems raise `InputError` with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from adverse_events.errors import InputError
from adverse_events.privacy import Pseudonymiser
from adverse_events.records import MAX_ID_CHARS, Post

__all__ = ["FieldMap", "parse_timestamp"]


def parse_timestamp(value: Any, fmt: str | None = None) -> datetime | None:
    """ISO 8601 text, epoch seconds (or milliseconds), or text in `fmt`; naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value
        parsed = datetime.fromtimestamp(seconds, tz=timezone.utc)
    elif isinstance(value, str):
        text = value.strip()
        parsed = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    else:
        raise ValueError(f"unsupported timestamp type {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _as_tuple(value: Any, name: str | None) -> tuple[str, ...]:
    """Drug tags: ``"a|b"`` text or a list of texts; anything else is an `InputError`."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split("|") if v.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputError(f"field {name!r} must be text (a|b) or a list of texts, got {_kind(value)}")


def _kind(value: Any) -> str:
    """A short description of a wrong value for a reason: its type and a clipped repr."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'…' if len(text) > 60 else ''}"


def _is_id(value: Any) -> bool:
    """Ids are text or integers (JSON numbers such as 1234); never booleans, floats or objects."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


@dataclass(frozen=True)
class FieldMap:
    """Which input fields hold which `Post` attributes.

    `id_field=None` derives a stable id from the source name and line number. Fields not mapped
    go into `Post.metadata`. The author id is pseudonymised with `pseudonymiser` (platform: the
    source name; dropped without a key), and `scrub` does the same to a dead-letter payload.
    """

    source: str
    id_field: str | None = "post_id"
    text_field: str = "text"
    time_field: str | None = "created_at"
    time_format: str | None = None
    author_field: str | None = "author_id"
    lang_field: str | None = "lang"
    url_field: str | None = "url"
    drugs_field: str | None = "drug_mentions"
    pseudonymiser: Pseudonymiser = field(default_factory=Pseudonymiser)
    mapped: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = (
            self.id_field,
            self.text_field,
            self.time_field,
            self.author_field,
            self.lang_field,
            self.url_field,
            self.drugs_field,
        )
        object.__setattr__(self, "mapped", frozenset(n for n in names if n))

    @classmethod
    def from_options(cls, source: str, text_field: str = "text", **fields: str | None) -> FieldMap:
        """A map from source options, where an empty optional field name means "no such field"."""
        names: dict[str, Any] = {name: value or None for name, value in fields.items()}
        return cls(source=source, text_field=text_field, **names)

    def _post_id(self, row: Mapping[str, Any], line: int | None) -> str:
        if self.id_field is None:
            digest = hashlib.sha1(f"{self.source}:{line}".encode()).hexdigest()[:16]
            return f"{self.source}:{digest}"
        value = row.get(self.id_field)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            raise InputError(
                f"missing id field {self.id_field!r}; set id_field to the column "
                'that holds a unique post id (or id_field = "" to derive one)'
            )
        if not _is_id(value):
            raise InputError(
                f"id field {self.id_field!r} must be text or an integer, got {_kind(value)}"
            )
        post_id = str(value).strip()
        if len(post_id) > MAX_ID_CHARS:
            raise InputError(
                f"id field {self.id_field!r} is longer than {MAX_ID_CHARS} "
                f"characters ({len(post_id)})"
            )
        return post_id

    def _text(self, row: Mapping[str, Any]) -> str:
        value = row.get(self.text_field)
        if not isinstance(value, str) or not value.strip():
            state = "missing" if value is None else "empty or not text"
            raise InputError(f"text field {self.text_field!r} is {state}")
        return value

    def _time(self, row: Mapping[str, Any]) -> datetime | None:
        if not self.time_field:
            return None
        value = row.get(self.time_field)
        try:
            return parse_timestamp(value, self.time_format)
        except (ValueError, OverflowError, OSError) as exc:
            hint = f"format {self.time_format!r}" if self.time_format else "ISO 8601 or epoch"
            raise InputError(
                f"bad timestamp in {self.time_field!r}: {_kind(value)} ({hint} expected: {exc})"
            ) from exc

    def _optional(self, row: Mapping[str, Any], name: str | None, ids: bool = False) -> str | None:
        """An optional text field (`ids`: integers allowed too); other types are refused."""
        value = row.get(name) if name else None
        if value is None or value == "":
            return None
        if isinstance(value, str) or (ids and _is_id(value)):
            return str(value)
        if ids:  # an author id: its value stays out of the reason (privacy)
            raise InputError(
                f"field {name!r} must be text or an integer, got {type(value).__name__}"
            )
        raise InputError(f"field {name!r} must be text, got {_kind(value)}")

    def scrub(self, payload: str) -> str:
        """A dead-letter payload with the author field's values pseudonymised (JSON text)."""
        if not self.author_field:
            return payload
        return self.pseudonymiser.scrub(payload, self.source, ids=(self.author_field,))

    def to_post(self, row: Mapping[str, Any], line: int | None = None) -> Post:
        """Build a `Post`, raising `InputError` that says what is wrong with the row."""
        if not isinstance(row, Mapping):
            raise InputError(f"expected an object per record, got {type(row).__name__}")
        post_id = self._post_id(row, line)
        try:
            return Post(
                post_id=post_id,
                source=self.source,
                text=self._text(row),
                created_at=self._time(row),
                author_id=self.pseudonymiser.author(
                    self.source, self._optional(row, self.author_field, ids=True)
                ),
                lang=self._optional(row, self.lang_field),
                url=self._optional(row, self.url_field),
                drug_mentions=_as_tuple(
                    row.get(self.drugs_field) if self.drugs_field else None, self.drugs_field
                ),
                metadata={k: v for k, v in row.items() if k not in self.mapped},
            )
        except InputError as exc:
            exc.post_id = post_id
            raise
        except ValidationError as exc:
            raise InputError(f"invalid post: {exc.errors()[0]['msg']}", post_id=post_id) from exc
