"""`TwitterSource`: posts from the X (Twitter) API v2, by filtered stream or recent search.

Built on tweepy (``pip install 'adverse-events[twitter]'``):

* ``mode="stream"`` (X Pro access or above): keeps the filtered-stream rules in step with the
  drug vocabulary (``(prozac OR fluoxetine ...) lang:en -is:retweet``, split to respect the rule
  length limit; missing rules added, stale ones deleted, nothing done when they already match)
  through tweepy's `StreamingClient` rule methods, then reads the stream. Each post carries the
  tags of the rules it matched in ``metadata["matching_rules"]``.
* ``mode="search"`` (X Basic access or above): polls recent search with ``since_id`` and
  pagination through tweepy's `Client`. Posts come out oldest first. The source is a
  `CheckpointingSource`: `snapshot()` is the newest post handed out, and the runner `commit()`s
  it to the cursor file only once the sinks hold every post before it, so a restart (even after
  a kill) misses nothing; at most the posts of the batch in flight are read again, and the
  idempotent sinks store them once. Stream mode has no position to save (X's filtered stream
  cannot be resumed, except ``backfill_minutes`` on Enterprise access).

Why tweepy's own stream loop (`StreamingClient.filter`) is not used: it is callback-based on a
thread, sleeps with a hard-coded ``time.sleep`` (no way to make tests fast), ignores the
``x-rate-limit-reset`` header, and stops for good on the first malformed line. The stream is read
here with the same ``requests`` session tweepy builds, with X's reconnect schedule
(`_resilience.Backoff`), stall detection (no data or keep-alive within `stall_timeout`),
bounded line length and de-duplication, and malformed lines become dead letters.

Pointing tweepy at another host: tweepy 4.x hard-codes ``https://api.twitter.com`` in
``BaseClient.request`` and ``StreamingClient._connect``. `_XAdapter`, a `requests` transport
adapter mounted on tweepy's session, rewrites that prefix to `api_base_url` (a gateway or a local
stand-in) just before sending. The same adapter adds the ``Authorization`` header, so tweepy only
ever holds a placeholder token and its debug log (which prints request headers) never shows the
secret. The token is read from the environment or a secrets reference (``env:NAME``,
``file:PATH``, ``aws-secretsmanager:SECRET_ID[#json-key]``) and never appears in a repr or log.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import requests
import tweepy
from pydantic import SecretStr
from requests.adapters import HTTPAdapter

from adverse_events.errors import (
    ConfigError,
    InputError,
    PermanentBackendError,
    TransientBackendError,
)
from adverse_events.protocols import Backend
from adverse_events.records import MAX_NESTING_DEPTH, DeadLetter, Post
from adverse_events.sources._resilience import Backoff, JsonCheckpoint, RecentIds
from adverse_events.sources._social import (
    DrugVocabulary,
    Pseudonymiser,
    XPostNormaliser,
    build_queries,
)

__all__ = ["OFFICIAL_API", "TwitterSource"]

log = logging.getLogger(__name__)

#: The official X API host (tweepy's hard-coded default).
OFFICIAL_API = "https://api.twitter.com"
DEFAULT_TOKEN_REF = "env:X_BEARER_TOKEN"
_PLACEHOLDER = "<set-by-adverse-events>"
#: Fields of X objects that hold a user id (pseudonymised in dead letters) or a user's name,
#: handle, profile text or location (redacted).
_USER_IDS = ("author_id", "in_reply_to_user_id")
_USER_NAMES = ("username", "name", "location", "description")
_TWEET_FIELDS = "author_id,conversation_id,created_at,geo,lang,referenced_tweets"
_KEEP_ALIVE = object()
_NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class _XAdapter(HTTPAdapter):
    """Sends requests for the official host to `base_url`, with auth and a default timeout."""

    def __init__(self, base_url: str, token: Callable[[], str], timeout: float):
        super().__init__()
        self.base_url, self._token, self.timeout = base_url.rstrip("/"), token, timeout

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = request.url or ""
        if url.startswith(OFFICIAL_API) and self.base_url != OFFICIAL_API:
            request.url = self.base_url + url[len(OFFICIAL_API) :]
        request.headers["Authorization"] = f"Bearer {self._token()}"
        return super().send(
            request,
            stream=stream,
            timeout=timeout or self.timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def resolve_secret(reference: str) -> str:
    """The secret a reference names: ``env:NAME``, ``file:PATH`` or ``aws-secretsmanager:ID``."""
    scheme, _, target = reference.partition(":")
    if scheme == "env":
        value = os.environ.get(target, "")
        if not value:
            raise ConfigError(
                f"bearer token: environment variable {target} is not set; "
                f"export {target}=... (your X app's bearer token)"
            )
        return value.strip()
    if scheme == "file":
        try:
            return Path(target).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"bearer token: cannot read file {target!r}: {exc}") from exc
    if scheme == "aws-secretsmanager":
        return _aws_secret(target)
    raise ConfigError(
        f"bearer token reference {scheme + ':' if target else reference!r}... "
        "must start with env:, file: or aws-secretsmanager:"
    )


def _aws_secret(target: str) -> str:
    secret_id, _, key = target.partition("#")
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:
        raise ConfigError(
            "aws-secretsmanager: references need: pip install 'adverse-events[aws]'"
        ) from exc
    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except (BotoCoreError, ClientError) as exc:
        raise ConfigError(f"bearer token: cannot read secret {secret_id!r}: {exc}") from exc
    if key:
        try:
            return str(json.loads(value)[key])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"bearer token: secret {secret_id!r} has no JSON key {key!r}"
            ) from exc
    return value.strip()


class _LineReader:
    """Splits a streamed body into lines; empty lines are keep-alives; lines are bounded."""

    def __init__(self, max_line_bytes: int):
        self.max_line_bytes = max_line_bytes
        self.buffer = bytearray()
        self.oversized = 0

    def lines(self, response: requests.Response) -> Iterator[bytes | object]:
        for chunk in response.iter_content(chunk_size=None):
            self.buffer += chunk
            while (end := self.buffer.find(b"\n")) >= 0:
                line = bytes(self.buffer[:end]).strip()
                del self.buffer[: end + 1]
                if self.oversized:
                    self.oversized = 0
                    continue  # the tail of a line already dead-lettered
                yield line if line else _KEEP_ALIVE
            if len(self.buffer) > self.max_line_bytes and not self.oversized:
                self.oversized = len(self.buffer)
                yield OverflowError(bytes(self.buffer[:1000]))
            if self.oversized:
                self.buffer.clear()

    def take_partial(self) -> bytes:
        """What was left of an unfinished line (after a disconnect), clearing it."""
        partial = bytes(self.buffer).strip()
        self.buffer.clear()
        self.oversized = 0
        return partial


class TwitterSource(Backend):
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

    name = "twitter"

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
        for option, value in (
            ("stall_timeout", stall_timeout),
            ("poll_interval", poll_interval),
            ("max_buffered_posts", max_buffered_posts),
            ("rule_max_length", rule_max_length),
        ):
            if value <= 0:
                raise ConfigError(f"{option} must be positive, got {value}")
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
            source=self.name,
        )
        suffix = " ".join(
            part
            for part in (
                f"lang:{lang}" if lang else "",
                "-is:retweet" if retweets == "drop" else "",
                "-is:quote" if quotes == "drop" else "",
            )
            if part
        )
        self.queries = (
            list(rules) if rules else build_queries(self.vocabulary.terms, suffix, rule_max_length)
        )
        self.rule_tag, self.sync_rules, self.keep_foreign_rules = (
            rule_tag,
            sync_rules,
            keep_foreign_rules,
        )
        self.location = location
        self.cursor_path = Path(cursor_path) if cursor_path else None
        self.poll_interval, self.lookback_minutes = poll_interval, lookback_minutes
        self.page_size, self.max_buffered_posts = page_size, max_buffered_posts
        self.backfill_minutes, self.stall_timeout = backfill_minutes, stall_timeout
        self.connect_timeout, self.request_timeout = connect_timeout, request_timeout
        self.max_line_bytes, self.dedupe_window = max_line_bytes, dedupe_window
        self.max_posts, self.max_seconds, self.max_polls = max_posts, max_seconds, max_polls
        self.max_retries = max_retries
        self._sleep, self._clock = sleep or time.sleep, clock or time.time
        self._clients: dict[str, Any] = {}
        self._readers: list[Iterator[Post | DeadLetter]] = []
        self._position: JsonCheckpoint | None = None  # where the reader is (search mode)
        self._committed: JsonCheckpoint | None = None  # what the cursor file holds
        self.stats: dict[str, int] = {}

    # -- credentials and clients --------------------------------------------------------------
    def _bearer(self) -> str:
        if self._token is None:
            self._token = SecretStr(resolve_secret(self.bearer_token_ref))
        return self._token.get_secret_value()

    def _client(self, kind: str) -> Any:
        """tweepy `Client` ("search") or `StreamingClient` ("rules"), pointed at our host."""
        if kind not in self._clients:
            self._bearer()  # fail early with a clear message when the token is missing
            cls = tweepy.StreamingClient if kind == "rules" else tweepy.Client
            client = cls(bearer_token=_PLACEHOLDER, return_type=dict, wait_on_rate_limit=False)
            adapter = _XAdapter(self.api_base_url, self._bearer, self.request_timeout)
            for prefix in {OFFICIAL_API + "/", self.api_base_url + "/"}:
                client.session.mount(prefix, adapter)
            self._clients[kind] = client
        return self._clients[kind]

    def open(self) -> None:
        self._client("search" if self.mode == "search" else "rules")

    def close(self) -> None:
        for reader in self._readers:
            reader.close()  # type: ignore[attr-defined]
        self._readers.clear()
        for client in self._clients.values():
            client.session.close()
        self._clients.clear()

    def __repr__(self) -> str:
        return (
            f"TwitterSource(mode={self.mode!r}, api_base_url={self.api_base_url!r}, "
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

    # -- reading ------------------------------------------------------------------------------
    def read(self) -> Iterator[Post | DeadLetter]:
        """Posts (and dead letters) until `max_posts` / `max_seconds` / `max_polls`, or forever."""
        reader = self._bounded(self._stream() if self.mode == "stream" else self._search())
        self._readers.append(reader)
        return reader

    def _bounded(self, items: Iterator[Post | DeadLetter]) -> Iterator[Post | DeadLetter]:
        self.stats = {
            "posts": 0,
            "dead_letters": 0,
            "filtered": 0,
            "duplicates": 0,
            "reconnects": 0,
        }
        self._deadline = None if self.max_seconds is None else self._clock() + self.max_seconds
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

    def _expired(self) -> bool:
        return self._deadline is not None and self._clock() >= self._deadline

    def _letter(self, reason: str, payload: Any, post_id: str | None = None) -> DeadLetter:
        return DeadLetter(
            stage="source",
            reason=reason,
            payload=self._scrub(payload),
            post_id=post_id,
            source=self.name,
        )

    def _scrub(self, payload: Any) -> str:
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
            text, "x", ids=_USER_IDS, names=_USER_NAMES, cut=("includes",)
        )

    def _normalise(
        self, tweet: Any, includes: Mapping[str, Any] | None, rules: Sequence[Any], raw: Any
    ) -> Post | DeadLetter | None:
        try:
            post = self.normaliser.to_post(tweet, includes, rules)
        except InputError as exc:
            return self._letter(exc.reason, raw, exc.post_id)
        if post is None:
            self.stats["filtered"] += 1
        return post

    # -- failures ------------------------------------------------------------------------------
    def _give_up(self, backoff: Backoff, what: str) -> None:
        if self.max_retries is not None and backoff.failures > self.max_retries:
            raise TransientBackendError(
                f"gave up after {backoff.failures} failed attempts: {what}", backend=self.name
            )

    def _http_failure(
        self, status: int, headers: Mapping[str, str], body: str, backoff: Backoff
    ) -> None:
        """Wait as X asks after an HTTP error status, or raise when retrying cannot help."""
        if status in (420, 429):
            reset = headers.get("x-rate-limit-reset")
            reset_at = float(reset) if reset and reset.strip().isdigit() else None
            waited = backoff.rate_limited(reset_at)
            log.warning("X API rate limit (HTTP %s); waited %.1f s", status, waited)
        elif status >= 500 or status in (408, 409):
            waited = backoff.http_error()
            log.warning("X API HTTP %s; waited %.1f s before retrying", status, waited)
        else:
            hint = {
                401: "check the bearer token",
                403: "your X access tier may not include "
                "this endpoint (filtered stream needs Pro; recent search needs Basic)",
            }
            raise PermanentBackendError(
                f"X API HTTP {status}: {body[:300]} ({hint.get(status, 'not retried')})",
                backend=self.name,
            )
        self._give_up(backoff, f"HTTP {status}")

    def _call(self, backoff: Backoff, what: str, fn: Callable[[], Any]) -> Any:
        """Call tweepy with X's backoff for 429 / 5xx / network errors."""
        while True:
            try:
                result = fn()
                backoff.success()
                return result
            except tweepy.HTTPException as exc:
                response = exc.response
                self._http_failure(
                    response.status_code,
                    response.headers,
                    getattr(response, "text", "") or str(exc),
                    backoff,
                )
            except _NETWORK_ERRORS as exc:
                waited = backoff.network_error()
                log.warning(
                    "%s: network error (%s); waited %.2f s", what, type(exc).__name__, waited
                )
                self._give_up(backoff, what)
            if self._expired():
                raise TransientBackendError(
                    f"{what}: max_seconds reached while retrying", backend=self.name
                )

    # -- stream mode: rules ---------------------------------------------------------------------
    def desired_rules(self) -> dict[str, str]:
        """rule value -> tag, for the rules this source wants on the stream."""
        return {
            value: f"{self.rule_tag}:{index}" for index, value in enumerate(self.queries, start=1)
        }

    def sync_stream_rules(self, backoff: Backoff | None = None) -> dict[str, list[str]]:
        """Make the stream's rules match `desired_rules()`: add missing, delete stale.

        Returns ``{"added": [values], "deleted": [values], "kept": [values]}``. Running it twice
        changes nothing the second time.
        """
        client, backoff = self._client("rules"), backoff or self._new_backoff()
        current = self._call(backoff, "list rules", client.get_rules).get("data") or []
        desired = self.desired_rules()
        stale = [
            rule
            for rule in current
            if rule.get("value") not in desired or rule.get("tag") != desired[rule.get("value")]
        ]
        if self.keep_foreign_rules:
            stale = [r for r in stale if str(r.get("tag", "")).startswith(self.rule_tag)]
        kept = {r["value"] for r in current if r not in stale}
        if stale:
            ids = [str(rule["id"]) for rule in stale]
            self._check_rule_errors(
                self._call(backoff, "delete rules", lambda: client.delete_rules(ids))
            )
        missing = [tweepy.StreamRule(value=v, tag=t) for v, t in desired.items() if v not in kept]
        if missing:
            self._check_rule_errors(
                self._call(backoff, "add rules", lambda: client.add_rules(missing))
            )
        summary = {
            "added": [r.value for r in missing],
            "deleted": [r["value"] for r in stale],
            "kept": sorted(kept),
        }
        log.info(
            "stream rules: %d added, %d deleted, %d kept",
            len(summary["added"]),
            len(summary["deleted"]),
            len(summary["kept"]),
        )
        return summary

    def _check_rule_errors(self, response: Mapping[str, Any]) -> None:
        errors = [e for e in response.get("errors") or [] if e.get("title") != "DuplicateRule"]
        if errors:
            detail = "; ".join(str(e.get("details") or e.get("title") or e) for e in errors)
            raise PermanentBackendError(f"X rejected stream rules: {detail}", backend=self.name)

    # -- stream mode: reading -------------------------------------------------------------------
    def _new_backoff(self) -> Backoff:
        return Backoff(sleep=self._sleep, clock=self._clock)

    def _stream_params(self) -> dict[str, str]:
        params = {"tweet.fields": _TWEET_FIELDS}
        if self.location:
            params.update(
                {
                    "expansions": "author_id,geo.place_id",
                    "user.fields": "location",
                    "place.fields": "country_code,full_name",
                }
            )
        if self.backfill_minutes:
            params["backfill_minutes"] = str(self.backfill_minutes)
        return params

    def _stream(self) -> Iterator[Post | DeadLetter]:
        backoff = self._new_backoff()
        if self.sync_rules:
            self.sync_stream_rules(backoff)
        session = self._client("rules").session
        url = f"{self.api_base_url}/2/tweets/search/stream"
        seen, reader = RecentIds(self.dedupe_window), _LineReader(self.max_line_bytes)
        while not self._expired():
            try:
                with session.get(
                    url,
                    params=self._stream_params(),
                    stream=True,
                    timeout=(self.connect_timeout, self._read_timeout()),
                ) as resp:
                    if resp.status_code != 200:
                        self._http_failure(resp.status_code, resp.headers, resp.text, backoff)
                        continue
                    log.info("connected to the X filtered stream")
                    for line in reader.lines(resp):
                        if backoff.failures:
                            backoff.success()  # data flows: the connection is healthy again
                        if line is not _KEEP_ALIVE:
                            yield from self._stream_items(line, seen)
                        if self._expired():
                            return
                log.warning("X stream closed by the server; reconnecting")
                self._reconnect_wait(backoff, reader)
            except _NETWORK_ERRORS as exc:
                stalled = "Read timed out" in str(exc)
                log.warning(
                    "X stream %s; reconnecting",
                    f"stalled (no data or keep-alive for {self.stall_timeout:g} s)"
                    if stalled
                    else f"dropped ({exc})",
                )
                partial = reader.take_partial()
                if partial:
                    yield self._letter(
                        f"stream disconnected mid-record ({len(partial)} bytes "
                        "received); the post may be re-sent on reconnect",
                        partial,
                    )
                self._reconnect_wait(backoff, reader)

    def _read_timeout(self) -> float:
        if self._deadline is None:
            return self.stall_timeout
        return max(0.05, min(self.stall_timeout, self._deadline - self._clock()))

    def _reconnect_wait(self, backoff: Backoff, reader: _LineReader) -> None:
        reader.take_partial()
        self.stats["reconnects"] += 1
        if not self._expired():
            backoff.network_error()
            self._give_up(backoff, "stream connection")

    def _stream_items(self, line: Any, seen: RecentIds) -> Iterator[Post | DeadLetter]:
        if isinstance(line, OverflowError):
            yield self._letter(
                f"stream record longer than max_line_bytes ({self.max_line_bytes}); dropped",
                line.args[0],
            )
            return
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield self._letter(f"malformed JSON on the stream: {exc}", line)
            return
        except RecursionError:
            yield self._letter(f"stream record nested deeper than {MAX_NESTING_DEPTH} levels", line)
            return
        if not isinstance(message, dict) or not ("data" in message or "errors" in message):
            yield self._letter("stream message has neither 'data' nor 'errors'", line)
            return
        if "data" not in message:
            log.warning("X stream says: %s", json.dumps(message["errors"])[:500])
            return
        tweet = message["data"]
        tweet_id = str(tweet.get("id")) if isinstance(tweet, dict) else ""
        if tweet_id and seen.seen(tweet_id):
            self.stats["duplicates"] += 1
            return
        item = self._normalise(
            tweet, message.get("includes"), message.get("matching_rules") or [], line
        )
        if item is not None:
            yield item

    # -- search mode ----------------------------------------------------------------------------
    def _search(self) -> Iterator[Post | DeadLetter]:
        """Poll every query from one cursor (X ids grow with time), merge, hand out oldest first.

        The in-memory cursor (``since_id``) is the newest post handed out; it moves just before
        a post is yielded. It is never saved here: the runner commits `snapshot()`s.
        """
        cursor = JsonCheckpoint(self.cursor_path, "search cursor")
        self._position = cursor
        backoff, tags = self._new_backoff(), self.desired_rules()
        polls = 0
        while True:
            merged, bad, limit = self._poll(cursor.get("since_id"), backoff)
            for raw in bad:
                yield self._letter("recent search returned a post without a numeric id", raw)
            for tweet_id in sorted(merged, key=int):
                if limit is not None and int(tweet_id) > limit:
                    break  # newer than what every query could hold: next poll
                tweet, includes, queries = merged[tweet_id]
                cursor.set("since_id", tweet_id)  # handed out once yielded
                rules = [{"tag": tags.get(q, q)} for q in queries]
                item = self._normalise(tweet, includes, rules, tweet)
                if item is not None:
                    yield item
            polls += 1
            if (self.max_polls is not None and polls >= self.max_polls) or self._expired():
                return
            if limit is None:  # caught up: wait for new posts
                self._sleep(self._poll_wait())

    def _poll(
        self, since_id: str | None, backoff: Backoff
    ) -> tuple[dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]], list[Any], int | None]:
        """One sweep of every query: posts by id, malformed entries, and the id limit.

        When a query had more posts than `max_buffered_posts`, only posts up to the newest it
        kept can go out now (``limit``), or posts it dropped would fall behind the cursor.
        """
        merged: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {}
        bad: list[Any] = []
        limit: int | None = None
        for query in self.queries:
            pending, bad_entries, complete = self._sweep(query, since_id, backoff)
            bad += bad_entries
            for tweet, includes in pending:
                merged.setdefault(str(tweet["id"]), (tweet, includes, []))[2].append(query)
            if not complete and pending:
                newest_kept = int(pending[-1][0]["id"])
                limit = newest_kept if limit is None else min(limit, newest_kept)
            if self._expired():
                break
        return merged, bad, limit

    def _poll_wait(self) -> float:
        if self._deadline is None:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, self._deadline - self._clock()))

    def _sweep(
        self, query: str, since_id: str | None, backoff: Backoff
    ) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[Any], bool]:
        """Every post newer than `since_id`, oldest first, at most `max_buffered_posts`.

        X returns newest first; when there are more posts than the buffer holds, the newest
        are dropped here (the next poll fetches them again), so posts still come out in order
        with no gap. Returns the posts, malformed entries, and whether the sweep was complete.
        """
        client = self._client("search")
        params: dict[str, Any] = {
            "max_results": self.page_size,
            "tweet_fields": _TWEET_FIELDS.split(","),
        }
        if self.location:
            params.update(
                expansions=["author_id", "geo.place_id"],
                user_fields=["location"],
                place_fields=["country_code", "full_name"],
            )
        if since_id:
            params["since_id"] = since_id
        else:
            start = datetime.now(timezone.utc) - timedelta(minutes=self.lookback_minutes)
            params["start_time"] = start.replace(microsecond=0)
        newest_first: list[tuple[dict[str, Any], dict[str, Any]]] = []
        bad: list[Any] = []
        complete, token = True, None
        while True:
            page_params = {**params, **({"next_token": token} if token else {})}
            page = self._call(
                backoff, "recent search", partial(client.search_recent_tweets, query, **page_params)
            )
            includes = page.get("includes") or {}
            for tweet in page.get("data") or []:
                if isinstance(tweet, dict) and str(tweet.get("id", "")).isdigit():
                    newest_first.append((tweet, includes))
                else:
                    bad.append(tweet)
            if len(newest_first) > self.max_buffered_posts:
                del newest_first[: len(newest_first) - self.max_buffered_posts]
                complete = False
            token = (page.get("meta") or {}).get("next_token")
            if not token or self._expired():
                break
        newest_first.sort(key=lambda pair: int(pair[0]["id"]), reverse=True)
        return newest_first[::-1], bad, complete
