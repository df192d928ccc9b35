"""What any sink can store: valid Unicode, bounded nesting, bounded payloads, reasons and ids.

Input is never trusted to fit: a post may hold half an emoji or metadata nested thousands of
levels deep, a dead letter's raw payload may be megabytes. The records (`adverse_events.records`)
apply these bounds when they are built, so every sink (files, DuckDB, Parquet, S3, DynamoDB)
can store every post and every dead letter. The limits are re-exported by `records`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = [
    "MAX_ID_CHARS",
    "MAX_NESTING_DEPTH",
    "MAX_PAYLOAD_BYTES",
    "MAX_REASON_CHARS",
    "bounded_id",
    "bounded_payload",
    "bounded_reason",
    "json_text",
    "storable_text",
    "valid_unicode",
]

#: How deeply a post's metadata may nest (objects and arrays). Deeper input is refused (the
#: source makes it a dead letter): recursive code everywhere downstream (JSON encoders, pydantic's
#: serializer, Arrow) fails somewhere between 255 and 1,000 levels.
MAX_NESTING_DEPTH = 64
#: The largest dead-letter payload stored, in UTF-8 bytes (64 KiB). A longer one keeps its first
#: bytes and a trailer with the original's size and SHA-256, so a dead letter always fits in any
#: sink (DynamoDB's item limit is 400 KB).
MAX_PAYLOAD_BYTES = 64 * 1024
#: The longest dead-letter reason stored, in characters.
MAX_REASON_CHARS = 2000
#: The longest post id a source accepts (DynamoDB keys hold 2,048 bytes); a dead letter's
#: longer id is cut and ends with a digest of the whole id.
MAX_ID_CHARS = 256


def storable_text(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD (length kept)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def valid_unicode(value: Any, max_depth: int = MAX_NESTING_DEPTH) -> Any:
    """`value` with lone surrogates replaced by U+FFFD (length kept), anywhere inside it.

    JSON can escape half an emoji (``"\\ud83d"``, a truncated tweet); no UTF-8 file, database
    or service can store it, so one such post would otherwise fail every sink's write. Raises
    `ValueError` when `value` nests deeper than `max_depth` (the repair, recursive, runs only
    on values the iterative scan has bounded).
    """
    if isinstance(value, str):  # the common case, kept cheap: one check per field
        return storable_text(value)
    if not isinstance(value, (list, tuple, dict)) or not value:
        return value
    return _repair(value) if _scan(value, max_depth) else value


def _scan(value: Any, max_depth: int) -> bool:
    """Whether any text in `value` needs repair; `ValueError` when it nests past `max_depth`.

    Iterative, one nesting level at a time, so any depth is measured without recursion.
    """
    needs_repair = False
    level, depth = [value], 0
    while level:
        if depth >= max_depth:
            raise ValueError(f"nested deeper than {max_depth} levels")
        deeper = []
        for container in level:
            items = [*container, *container.values()] if isinstance(container, dict) else container
            for item in items:
                if isinstance(item, str):
                    if not item.isascii() and storable_text(item) is not item:
                        needs_repair = True
                elif isinstance(item, (list, tuple, dict)):
                    deeper.append(item)
        level, depth = deeper, depth + 1
    return needs_repair


def _repair(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_repair(v) for v in value)
    if isinstance(value, dict):
        return {_repair(k): _repair(v) for k, v in value.items()}
    return value


def bounded_payload(text: str, limit: int = MAX_PAYLOAD_BYTES) -> str:
    """`text` if it fits in `limit` UTF-8 bytes, else its head and a trailer naming the original.

    The trailer reads ``…[payload truncated: <size> bytes, sha256 <hex>]``; size and digest are
    of the whole text as UTF-8, so the original can be found again in the source data.
    """
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    digest = hashlib.sha256(data).hexdigest()
    trailer = f"…[payload truncated: {len(data)} bytes, sha256 {digest}]"
    head = data[: max(0, limit - len(trailer.encode("utf-8")))]
    return head.decode("utf-8", errors="ignore") + trailer


def bounded_reason(text: str) -> str:
    """`text` as storable text of at most `MAX_REASON_CHARS` characters (cut, ending in …)."""
    text = storable_text(text)
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def bounded_id(text: str) -> str:
    """`text` as storable text of at most `MAX_ID_CHARS` characters; a longer one is cut and
    ends in ``…sha256:<16 hex>``, a digest of the whole."""
    text = storable_text(text)
    if len(text) <= MAX_ID_CHARS:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"{text[: MAX_ID_CHARS - 25]}…sha256:{digest}"


def json_text(value: Any) -> str:
    """Any payload as JSON text; one JSON cannot hold (nested too deeply) as a marker."""
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (ValueError, TypeError, RecursionError):
        return f"<{type(value).__name__} that JSON cannot hold (nested too deeply?)>"
