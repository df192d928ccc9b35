"""Pseudonymisation: the one place where author ids are hashed and dead-letter payloads scrubbed.

Every source (files, replay, DynamoDB stream, X) maps author ids through `Pseudonymiser.author`
and passes each dead-letter payload through `Pseudonymiser.scrub`, so no stored byte, dead
letters included, keeps a raw author id or a user name:

* an author id becomes ``<platform>u_<32 hex>``, an HMAC-SHA256 keyed with
  `PSEUDONYM_KEY_ENV` (or an explicit key): stable for one key, not reversible without it.
  With no key, author ids are dropped (``None`` on the post, ``null`` in the payload).
* in a payload (JSON text, or text that is nearly JSON: a truncated or malformed line), every
  value of an id field (``"author_id": "1001"``, ``"author_id": 1001``, DynamoDB's
  ``"author_id": {"S": "1001"}``) is replaced by its pseudonym, every value of a name field
  (``"username"``, ``"name"``, ...) by ``"<redacted>"``, and a cut field (X's ``"includes"``,
  the user objects) is left out with everything after it.
* text that cannot be scrubbed by field name (a CSV row the parser refuses, when the file has an
  author column) is withheld: the payload keeps only its size and SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["PSEUDONYM_KEY_ENV", "REDACTED", "Pseudonymiser", "withheld"]

#: Environment variable read when no pseudonym key is configured.
PSEUDONYM_KEY_ENV = "ADVERSE_EVENTS_PSEUDONYM_KEY"
#: What a user name (or another redacted value) becomes in a dead-letter payload.
REDACTED = "<redacted>"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?')  # a JSON string, maybe cut off before its end
_BARE = re.compile(r'[^,{}\[\]\s"]*')  # a number, true, false, null (or garbage)


@lru_cache(maxsize=64)
def _key_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    keys = "|".join(re.escape(name) for name in names)
    return re.compile(rf'"(?:{keys})"\s*:\s*')


def _value_end(text: str, start: int) -> int:
    """Where the JSON value at `start` ends: a string, a bracketed value (strings inside
    respected; unbalanced runs to the end of the text) or a bare token."""
    if start >= len(text):
        return start
    if text[start] == '"':
        return _STRING.match(text, start).end()  # type: ignore[union-attr]
    if text[start] not in "[{":
        return _BARE.match(text, start).end()  # type: ignore[union-attr]
    depth, at = 0, start
    while at < len(text):
        char = text[at]
        if char == '"':
            at = _STRING.match(text, at).end()  # type: ignore[union-attr]
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return at + 1
        at += 1
    return len(text)


def _id_of(value: str) -> tuple[str | None, bool]:
    """The id a JSON value holds, and whether it is DynamoDB-typed (``{"S": "1001"}``)."""
    try:
        parsed = json.loads(value)
    except ValueError:  # cut off or malformed: hash the text itself
        return (value[1:].rstrip('"') if value.startswith('"') else value) or None, False
    if isinstance(parsed, dict) and len(parsed) == 1 and next(iter(parsed)) in ("S", "N"):
        return str(next(iter(parsed.values()))), True
    if parsed is None or isinstance(parsed, (str, int, float, bool)):
        return (None if parsed is None else str(parsed)), False
    return value, False  # a list or object where an id belongs: hash its text


def _replace_values(text: str, names: tuple[str, ...], replace: Callable[[str], str]) -> str:
    """`text` with the value of every ``"name":`` (any of `names`) replaced by `replace(value)`."""
    parts, at = [], 0
    for found in _key_pattern(names).finditer(text):
        if found.start() < at:  # inside a value already replaced
            continue
        end = _value_end(text, found.end())
        parts += [text[at : found.end()], replace(text[found.end() : end])]
        at = end
    return "".join(parts) + text[at:]


@lru_cache(maxsize=65536)
def _pseudonym(key: bytes, platform: str, author_id: str) -> str:
    """The HMAC, cached: authors repeat, and a file of posts has many per author."""
    digest = hmac.new(key, f"{platform}:{author_id}".encode(), hashlib.sha256).hexdigest()
    return f"{platform}u_{digest[:32]}"


def withheld(text: str) -> str:
    """A payload that cannot be scrubbed: only its size and SHA-256 are kept."""
    data = text.encode("utf-8", errors="replace")
    return f"<withheld: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}>"


@dataclass(frozen=True)
class Pseudonymiser:
    """Keyed hash of author ids: stable for one key, not reversible without it.

    `key=None` reads `PSEUDONYM_KEY_ENV` at each use; with no key at all, `author()` returns None
    (authors are dropped rather than stored in the clear).
    """

    key: str | None = field(default=None, repr=False)

    def _key(self) -> bytes | None:
        key = self.key if self.key is not None else os.environ.get(PSEUDONYM_KEY_ENV)
        return key.encode("utf-8") if key else None

    def author(self, platform: str, author_id: object) -> str | None:
        """``<platform>u_<hex>``, or None without a key or without an id."""
        key = self._key()
        if key is None or author_id in (None, ""):
            return None
        return _pseudonym(key, platform, str(author_id))

    def scrub(
        self,
        text: str,
        platform: str,
        ids: Sequence[str] = ("author_id",),
        names: Sequence[str] = (),
        cut: Sequence[str] = (),
    ) -> str:
        """`text` (a dead-letter payload) with ids pseudonymised, names redacted, `cut` fields
        and everything after them left out (see the module docstring)."""
        for name in cut:
            found = re.search(rf'"{re.escape(name)}"\s*:', text)
            if found:
                text = text[: found.start()] + f'"{name}": "<left out>"}}'
        if names:
            text = _replace_values(text, tuple(names), lambda _: f'"{REDACTED}"')
        if ids:
            text = _replace_values(text, tuple(ids), lambda value: self._id_value(value, platform))
        return text

    def _id_value(self, value: str, platform: str) -> str:
        author, typed = _id_of(value)
        pseudonym = self.author(platform, author)
        if pseudonym is None:
            return '{"NULL": true}' if typed else "null"
        return f'{{"S": "{pseudonym}"}}' if typed else f'"{pseudonym}"'

    def __repr__(self) -> str:
        return "Pseudonymiser(key=<hidden>)"
