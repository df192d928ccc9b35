"""`XSource`: posts from the X API v2, by filtered stream or recent search.

Built on tweepy (``pip install 'adverse-events[twitter]'``); registry name ``x`` (``twitter``,
its name before, is an alias for the same class):

* ``mode="stream"`` (X Pro access or above): keeps the filtered-stream rules in step with the
  drug vocabulary (`rules`), then reads the stream (`stream`). Each post carries the tags of the
  rules it matched in ``metadata["matching_rules"]``.
* ``mode="search"`` (X Basic access or above): polls recent search with ``since_id`` and
  pagination (`search`). Posts come out oldest first. The source is a `CheckpointingSource`:
  `snapshot()` is the newest post handed out, and the runner `commit()`s it to the cursor file
  only once the sinks hold every post before it, so a restart (even after a kill) misses
  nothing; at most the posts of the batch in flight are read again, and the idempotent sinks
  store them once. Stream mode has no position to save (X's filtered stream cannot be resumed,
  except ``backfill_minutes`` on Enterprise access).

Requests go through `transport` (tweepy pointed at `api_base_url`, X's backoff, errors mapped).
The token is read from the environment or a secrets reference (``env:NAME``, ``file:PATH``,
``aws-secretsmanager:SECRET_ID[#json-key]``, see `adverse_events.secrets`) and never appears in
a repr or log.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from adverse_events.errors import ConfigError
from adverse_events.protocols import Backend
from adverse_events.records import DeadLetter, Post
from adverse_events.secrets import resolve_secret
from adverse_events.sources._resilience import Backoff, JsonCheckpoint
from adverse_events.sources._social import DrugVocabulary, Pseudonymiser, XPostNormaliser
from adverse_events.sources.x import rules as x_rules
from adverse_events.sources.x.posts import RECORD_SOURCE, XPosts
from adverse_events.sources.x.search import RecentSearch
from adverse_events.sources.x.stream import FilteredStream, stream_params
from adverse_events.sources.x.transport import OFFICIAL_API, Deadline, XTransport

__all__ = ["DEFAULT_TOKEN_REF", "XSource"]

#: Where the bearer token is read from unless `bearer_token_ref` says otherwise.
DEFAULT_TOKEN_REF = "env:X_BEARER_TOKEN"
_STATS = ("posts", "dead_letters", "filtered", "duplicates", "reconnects")


class XSource(Backend):
    """Posts from the X API v2 filtered stream (``mode="stream"``) or recent search.

    Args:
        mode: ``"stream"`` (needs X Pro) or ``"search"`` (X Basic is enough).
        bearer_token: the token itself (Python use; prefer `bearer_token_ref`).
        bearer_token_ref: where the token is: ``env:NAME`` (default ``env:X_BEARER_TOKEN``),
            ``file:PATH`` or ``aws-secretsmanager:SECRET_ID[#json-key]``.
        api_base_url: the API host (default the official one): a gateway or a local stand-in.
        vocabulary: a JSON drug vocabulary that extends the built-in one.
        include_builtin_vocabulary: false to use only `vocabulary`.
        rules: your own rule / query strings instead of those built from the vocabulary.
        lang, retweets, quotes: filters applied to every post (and written into built rules).
        rule_max_length: longest rule or query built (512 fits every tier; Pro allows 1,024).
        rule_tag: tag prefix of the rules this source manages.
        sync_rules: keep the stream rules in step with the vocabulary before connecting.
        keep_foreign_rules: leave rules with other tags alone (default: delete them, since their
            posts would flow into this source).
        pseudonym_key: HMAC key for author ids (default: ``ADVERSE_EVENTS_PSEUDONYM_KEY``; with
            no key, authors are dropped).
        location: add country/state to ``metadata["location"]`` (off by default).
        cursor_path: search mode: JSON file with the newest post stored (committed by the
            runner after each write; read at the start of `read()`).
        poll_interval: search mode: seconds between polls.
        lookback_minutes: search mode, first poll without a cursor: how far back to start.
        page_size: search mode: posts per request (10-100).
        max_buffered_posts: search mode: most posts one poll holds in memory (older kept first;
            the rest come on the next poll).
        backfill_minutes: stream mode: ask X to re-send up to 5 minutes missed while
            disconnected (Enterprise/Academic; duplicates are dropped here).
        stall_timeout: stream mode: reconnect when neither data nor a keep-alive (X sends one
            every 20 s) arrives for this many seconds.
        max_posts, max_seconds, max_polls: end `read()` after so many posts, seconds or polls.
        max_retries: consecutive failed attempts before giving up (None: never give up).
        sleep, clock: injectable for tests (default `time.sleep`, `time.time`).
    """

    name = "x"
    #: Other registry names of this class (``twitter``: the name before X).
    aliases = ("twitter",)

    def __init__(
        self,
        mode: str = "stream",
        *,
        bearer_token: str | SecretStr | None = None,
        bearer_token_ref: str = DEFAULT_TOKEN_REF,
        api_base_url: str = OFFICIAL_API,
        vocabulary: str | os.PathLike[str] | None = None,
        include_builtin_vocabulary: bool = True,
        rules: Sequence[str] | None = None,
        lang: str | None = "en",
        retweets: str = "drop",
        quotes: str = "keep",
        rule_max_length: int = 512,
        rule_tag: str = "adverse-events",
        sync_rules: bool = True,
        keep_foreign_rules: bool = False,
        pseudonym_key: str | SecretStr | None = None,
        location: bool = False,
        cursor_path: str | os.PathLike[str] | None = None,
        poll_interval: float = 60.0,
        lookback_minutes: float = 60.0,
        page_size: int = 100,
        max_buffered_posts: int = 10_000,
        backfill_minutes: int | None = None,
        stall_timeout: float = 90.0,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        max_line_bytes: int = 1_000_000,
        dedupe_window: int = 10_000,
        max_posts: int | None = None,
        max_seconds: float | None = None,
        max_polls: int | None = None,
        max_retries: int | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ):
        _validate(
            mode=mode,
            api_base_url=api_base_url,
            page_size=page_size,
            backfill_minutes=backfill_minutes,
            lookback_minutes=lookback_minutes,
            stall_timeout=stall_timeout,
            poll_interval=poll_interval,
            max_buffered_posts=max_buffered_posts,
            rule_max_length=rule_max_length,
        )
        self.mode, self.api_base_url = mode, api_base_url.rstrip("/")
        self._token = SecretStr(bearer_token) if isinstance(bearer_token, str) else bearer_token
        self.bearer_token_ref = bearer_token_ref
        key = (
            pseudonym_key.get_secret_value()
            if isinstance(pseudonym_key, SecretStr)
            else pseudonym_key
        )
        self.vocabulary = DrugVocabulary.load(vocabulary, include_builtin_vocabulary)
        self.normaliser = XPostNormaliser(
            self.vocabulary,
            lang=lang or None,
            retweets=retweets,
            quotes=quotes,
            pseudonymiser=Pseudonymiser(key),
            location=location,
            source=RECORD_SOURCE,
        )
        suffix = x_rules.filter_suffix(lang, retweets, quotes)
        self.queries = x_rules.queries_for(self.vocabulary.terms, suffix, rule_max_length, rules)
        self.rule_tag, self.sync_rules = rule_tag, sync_rules
        self.keep_foreign_rules, self.location = keep_foreign_rules, location
        self.cursor_path = Path(cursor_path) if cursor_path else None
        self.poll_interval, self.lookback_minutes = poll_interval, lookback_minutes
        self.page_size, self.max_buffered_posts = page_size, max_buffered_posts
        self.backfill_minutes, self.stall_timeout = backfill_minutes, stall_timeout
        self.connect_timeout, self.request_timeout = connect_timeout, request_timeout
        self.max_line_bytes, self.dedupe_window = max_line_bytes, dedupe_window
        self.max_posts, self.max_seconds, self.max_polls = max_posts, max_seconds, max_polls
        self.max_retries = max_retries
        self._sleep, self._clock = sleep or time.sleep, clock or time.time
        self._deadline = Deadline(self._clock)
        self.transport = XTransport(
            self.api_base_url,
            self._bearer,
            request_timeout=request_timeout,
            max_retries=max_retries,
            deadline=self._deadline,
            backend=self.name,
            sleep=self._sleep,
        )
        self._readers: list[Iterator[Post | DeadLetter]] = []
        self._position: JsonCheckpoint | None = None  # where the reader is (search mode)
        self._committed: JsonCheckpoint | None = None  # what the cursor file holds
        self.stats: dict[str, int] = {}
        self._posts = XPosts(self.normaliser, self.stats)

    # -- credentials and clients --------------------------------------------------------------
    def _bearer(self) -> str:
        if self._token is None:
            token = resolve_secret(
                self.bearer_token_ref, what="bearer token", hint="your X app's bearer token"
            )
            self._token = SecretStr(token)
        return self._token.get_secret_value()

    def open(self) -> None:
        self.transport.client("search" if self.mode == "search" else "rules")

    def close(self) -> None:
        for reader in self._readers:
            reader.close()  # type: ignore[attr-defined]
        self._readers.clear()
        self.transport.close()

    def __repr__(self) -> str:
        return (
            f"XSource(mode={self.mode!r}, api_base_url={self.api_base_url!r}, "
            f"queries={len(self.queries)}, bearer_token=<hidden>)"
        )

    # -- checkpoints (`CheckpointingSource`) ----------------------------------------------------
    def snapshot(self) -> dict[str, Any] | None:
        """Search mode: the cursor just after the last post handed out (None in stream mode)."""
        return self._position.snapshot() if self._position is not None else None

    def commit(self, state: dict[str, Any] | None) -> None:
        """Save `state` to `cursor_path`: the runner calls it once the sinks hold the posts."""
        if state is None or self.cursor_path is None:
            return
        if self._committed is None:
            self._committed = JsonCheckpoint(self.cursor_path, "search cursor")
        self._committed.replace(state)
        self._committed.save()

    # -- stream rules -------------------------------------------------------------------------
    def desired_rules(self) -> dict[str, str]:
        """rule value -> tag, for the rules this source wants on the stream."""
        return x_rules.desired_rules(self.queries, self.rule_tag)

    def sync_stream_rules(self, backoff: Backoff | None = None) -> dict[str, list[str]]:
        """Make the stream's rules match `desired_rules()`: add missing, delete stale.

        Returns ``{"added": [values], "deleted": [values], "kept": [values]}``. Running it twice
        changes nothing the second time.
        """
        return x_rules.sync_stream_rules(
            self.transport,
            self.desired_rules(),
            backoff or self.transport.new_backoff(),
            rule_tag=self.rule_tag,
            keep_foreign_rules=self.keep_foreign_rules,
        )

    # -- reading ------------------------------------------------------------------------------
    def read(self) -> Iterator[Post | DeadLetter]:
        """Posts (and dead letters) until `max_posts` / `max_seconds` / `max_polls`, or forever."""
        reader = self._bounded(self._stream() if self.mode == "stream" else self._search())
        self._readers.append(reader)
        return reader

    def _bounded(self, items: Iterator[Post | DeadLetter]) -> Iterator[Post | DeadLetter]:
        """`items` counted in `stats`, ended at `max_posts` (the deadline starts here)."""
        self.stats.clear()
        self.stats.update(dict.fromkeys(_STATS, 0))
        self._deadline.start(self.max_seconds)
        try:
            if self.max_posts == 0:
                return
            for item in items:
                yield item
                if isinstance(item, Post):
                    self.stats["posts"] += 1
                    if self.max_posts is not None and self.stats["posts"] >= self.max_posts:
                        return
                else:
                    self.stats["dead_letters"] += 1
        finally:
            items.close()  # type: ignore[attr-defined]

    def _stream(self) -> Iterator[Post | DeadLetter]:
        stream = FilteredStream(
            self.transport,
            self._posts,
            self._deadline,
            self.stats,
            params=stream_params(self.location, self.backfill_minutes),
            sync_rules=self.sync_stream_rules if self.sync_rules else None,
            connect_timeout=self.connect_timeout,
            stall_timeout=self.stall_timeout,
            max_line_bytes=self.max_line_bytes,
            dedupe_window=self.dedupe_window,
        )
        yield from stream.read()

    def _search(self) -> Iterator[Post | DeadLetter]:
        """Recent search from the cursor file's ``since_id``; the cursor is `snapshot()`."""
        cursor = JsonCheckpoint(self.cursor_path, "search cursor")
        self._position = cursor
        search = RecentSearch(
            self.transport,
            self._posts,
            self._deadline,
            queries=self.queries,
            tags=self.desired_rules(),
            page_size=self.page_size,
            max_buffered_posts=self.max_buffered_posts,
            lookback_minutes=self.lookback_minutes,
            poll_interval=self.poll_interval,
            max_polls=self.max_polls,
            location=self.location,
            sleep=self._sleep,
        )
        yield from search.read(cursor)


def _validate(
    *,
    mode: str,
    api_base_url: str,
    page_size: int,
    backfill_minutes: int | None,
    lookback_minutes: float,
    **positive: float,
) -> None:
    """Raise `ConfigError` naming the first option out of range."""
    if mode not in ("stream", "search"):
        raise ConfigError(f"mode must be 'stream' (X Pro) or 'search' (X Basic), got {mode!r}")
    if not api_base_url.startswith(("http://", "https://")):
        raise ConfigError(f"api_base_url must be an http(s) URL, got {api_base_url!r}")
    if not 10 <= page_size <= 100:
        raise ConfigError(f"page_size must be between 10 and 100, got {page_size}")
    if backfill_minutes is not None and not 1 <= backfill_minutes <= 5:
        raise ConfigError(f"backfill_minutes must be 1 to 5, got {backfill_minutes}")
    if not 0 < lookback_minutes <= 7 * 24 * 60:
        raise ConfigError(
            "lookback_minutes must be more than 0 and at most 10080 (recent "
            f"search covers 7 days), got {lookback_minutes}"
        )
    for option, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{option} must be positive, got {value}")
