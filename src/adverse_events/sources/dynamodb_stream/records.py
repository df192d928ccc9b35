"""DynamoDB Stream records -> posts and dead letters, and back to their sequence numbers.

A record of either shape (a Lambda event's or the DynamoDB Streams API's) becomes a `Post` from
its NEW_IMAGE, a `DeadLetter` holding the whole record as JSON (ids first, so a payload cut to
`MAX_PAYLOAD_BYTES` still names its sequence number), or nothing (REMOVE, or a record type not
selected). Typed attribute values are read with boto3's `TypeDeserializer`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, DecimalException
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer
from pydantic import ValidationError

from adverse_events.errors import InputError
from adverse_events.records import MAX_NESTING_DEPTH, DeadLetter, Post
from adverse_events.sources._mapping import FieldMap

__all__ = ["RecordMapper", "record_text", "sequence_number_of"]


class _StreamDeserializer(TypeDeserializer):
    """boto3's deserializer, also taking ``B`` values as base64 text (how Lambda events hold
    them; the DynamoDB Streams API hands bytes)."""

    def _deserialize_b(self, value: Any) -> Binary:
        if isinstance(value, str):
            try:
                value = base64.b64decode(value, validate=True)
            except ValueError as exc:
                raise ValueError(f"binary value is not base64: {value[:40]!r}") from exc
        return super()._deserialize_b(value)  # type: ignore[no-any-return]


_DESERIALIZER = _StreamDeserializer()
_SEQUENCE = re.compile(r'"SequenceNumber": "(\d+)"')


def sequence_number_of(item: Post | DeadLetter) -> str | None:
    """The stream sequence number a post or dead letter came from (for ``batchItemFailures``)."""
    if isinstance(item, Post):
        value = item.metadata.get("sequence_number")
        return str(value) if value is not None else None
    try:
        record = json.loads(item.payload)
        return str(record["dynamodb"]["SequenceNumber"])
    except (json.JSONDecodeError, KeyError, TypeError, RecursionError):
        found = _SEQUENCE.search(item.payload[:4096])  # a payload cut to its size limit
        return found.group(1) if found else None


def record_text(record: Any) -> str:
    """A record as dead-letter payload: JSON with its ids first, so a payload cut to
    `MAX_PAYLOAD_BYTES` still names its sequence number (see `sequence_number_of`)."""
    if not (isinstance(record, Mapping) and isinstance(record.get("dynamodb"), Mapping)):
        return _json_or_marker(record)
    change = record["dynamodb"]
    first = {k: change[k] for k in ("SequenceNumber", "Keys") if k in change}
    ordered = {k: record[k] for k in ("eventID", "eventName") if k in record}
    text = _json_or_marker({**ordered, "dynamodb": {**first, **change}, **record})
    if text.startswith("<"):  # too deep for JSON: keep the record without its images
        note = "<left out: nested too deeply for JSON>"
        images = {k: note for k in ("NewImage", "OldImage") if k in change}
        text = _json_or_marker({**ordered, "dynamodb": {**first, **change, **images}})
    return text


def _json_or_marker(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError):
        return f"<{type(value).__name__} that JSON cannot hold (nested too deeply?)>"


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _plain(value: Any) -> Any:
    """Deserialised DynamoDB values -> JSON-friendly (Decimal -> int/float, sets -> lists)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode("ascii")
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class RecordMapper:
    """Turns stream records into posts with the table's attribute names (`fields`).

    Args:
        fields: the attribute names of a post, and the source name posts carry.
        metadata_attribute: a map attribute merged into ``Post.metadata``.
        event_names: record types that become posts (REMOVE is never one).
    """

    def __init__(
        self, fields: FieldMap, metadata_attribute: str | None, event_names: Sequence[str]
    ):
        self.fields, self.metadata_attribute = fields, metadata_attribute
        self.event_names = tuple(event_names)

    def to_item(self, record: Any, index: int | None = None) -> Post | DeadLetter | None:
        """One stream record -> a post, a dead letter, or None (REMOVE / not selected)."""
        try:
            return self._to_post(record)
        except InputError as exc:
            reason, post_id = exc.reason, exc.post_id
        except RecursionError:
            reason, post_id = f"NewImage nested deeper than {MAX_NESTING_DEPTH} levels", None
        return DeadLetter(
            stage="source",
            reason=reason,
            payload=self.fields.scrub(record_text(record)),
            post_id=post_id,
            source=self.fields.source,
            line=index,
        )

    def _to_post(self, record: Any) -> Post | None:
        if not isinstance(record, Mapping) or not isinstance(record.get("dynamodb"), Mapping):
            raise InputError("not a DynamoDB Streams record (no 'dynamodb' object)")
        event_name = record.get("eventName")
        if event_name == "REMOVE" or event_name not in self.event_names:
            if event_name not in ("REMOVE", "INSERT", "MODIFY"):
                raise InputError(f"unknown eventName {event_name!r}")
            return None
        change = record["dynamodb"]
        image = change.get("NewImage")
        if not isinstance(image, Mapping):
            raise InputError(
                f"{event_name} record has no NewImage: set the stream view type to "
                "NEW_IMAGE or NEW_AND_OLD_IMAGES"
            )
        try:
            row = {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in image.items()}
        # DecimalException: an N value past DynamoDB's 38 digits or 1E+125 (boto3 traps it)
        except (TypeError, ValueError, KeyError, AttributeError, DecimalException) as exc:
            raise InputError(f"undecodable attribute value in NewImage: {exc}") from exc
        extra = row.pop(self.metadata_attribute, None) if self.metadata_attribute else None
        post = self.fields.to_post(row)
        metadata = {
            **(extra if isinstance(extra, dict) else {}),
            **post.metadata,
            "event_id": _text_or_none(record.get("eventID")),
            "event_name": event_name,
            "sequence_number": _text_or_none(change.get("SequenceNumber")),
        }
        try:  # validated again: the metadata attribute is input too (depth, unicode)
            return Post.model_validate({**dict(post), "metadata": metadata})
        except ValidationError as exc:
            raise InputError(
                f"invalid post: {exc.errors()[0]['msg']}", post_id=post.post_id
            ) from exc
