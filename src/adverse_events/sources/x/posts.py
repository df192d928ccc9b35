"""X objects -> `Post` or `DeadLetter`, with no raw author id or user data in either.

Tweets become posts through `XPostNormaliser` (author ids pseudonymised, filters applied). What
cannot become a post is a dead letter whose payload is scrubbed first: the response's
``includes`` block (user and place objects) left out, author and reply-to ids pseudonymised,
user names, handles, profile text and locations redacted, also when the line is malformed or
cut off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from adverse_events.errors import InputError
from adverse_events.records import DeadLetter, Post
from adverse_events.sources._social import XPostNormaliser

__all__ = ["RECORD_SOURCE", "XPosts"]

#: `Post.source` and `DeadLetter.source` of what the X source reads: ``"twitter"``, its name
#: before the registry name became ``"x"``, kept so tables written before and after the rename
#: hold one source.
RECORD_SOURCE = "twitter"
#: Fields of X objects that hold a user id (pseudonymised in dead letters) or a user's name,
#: handle, profile text or location (redacted).
USER_IDS = ("author_id", "in_reply_to_user_id")
USER_NAMES = ("username", "name", "location", "description")


class XPosts:
    """Makes posts and dead letters of X tweets and stream lines, counting filtered tweets.

    Args:
        normaliser: tweet JSON -> `Post` (its ``source`` is the records' source).
        stats: counters of the read in progress; ``"filtered"`` is counted here.
    """

    def __init__(self, normaliser: XPostNormaliser, stats: MutableMapping[str, int]):
        self.normaliser, self.stats = normaliser, stats

    def post(
        self, tweet: Any, includes: Mapping[str, Any] | None, rules: Sequence[Any], raw: Any
    ) -> Post | DeadLetter | None:
        """The tweet as a post, a dead letter (carrying `raw`), or None when a filter drops it."""
        try:
            post = self.normaliser.to_post(tweet, includes, rules)
        except InputError as exc:
            return self.letter(exc.reason, raw, exc.post_id)
        if post is None:
            self.stats["filtered"] += 1
        return post

    def letter(self, reason: str, payload: Any, post_id: str | None = None) -> DeadLetter:
        """A source-stage dead letter with `payload` scrubbed."""
        return DeadLetter(
            stage="source",
            reason=reason,
            payload=self.scrub(payload),
            post_id=post_id,
            source=self.normaliser.source,
        )

    def scrub(self, payload: Any) -> str:
        """A dead letter's payload with no raw author id and no user data: ``includes`` (user
        and place objects) left out, author and reply-to ids pseudonymised, names redacted."""
        if isinstance(payload, (bytes, bytearray)):
            text = bytes(payload).decode("utf-8", errors="replace")
        elif isinstance(payload, str):
            text = payload
        else:
            try:
                text = json.dumps(payload, default=str)
            except (ValueError, TypeError, RecursionError):
                text = f"<{type(payload).__name__} that JSON cannot hold>"
        try:
            parsed = json.loads(text)
            if isinstance(parsed, dict) and "includes" in parsed:
                parsed.pop("includes")
                text = json.dumps(parsed)
        except (ValueError, RecursionError):
            pass  # not JSON: scrubbed as text below
        return self.normaliser.pseudonymiser.scrub(
            text, "x", ids=USER_IDS, names=USER_NAMES, cut=("includes",)
        )
