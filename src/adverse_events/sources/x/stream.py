"""Reading the X filtered stream (``/2/tweets/search/stream``): lines -> posts, reconnecting.

Why tweepy's own stream loop (`StreamingClient.filter`) is not used: it is callback-based on a
thread, sleeps with a hard-coded ``time.sleep`` (no way to make tests fast), ignores the
``x-rate-limit-reset`` header, and stops for good on the first malformed line. The stream is read
here with the same ``requests`` session tweepy builds, with X's reconnect schedule (`Backoff`),
stall detection (no data or keep-alive within ``stall_timeout``), bounded line length
(`LineReader`) and de-duplication, and malformed lines become dead letters.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import requests

from adverse_events.records import MAX_NESTING_DEPTH, DeadLetter, Post
from adverse_events.sources._resilience import Backoff, RecentIds
from adverse_events.sources.x.posts import XPosts
from adverse_events.sources.x.transport import NETWORK_ERRORS, Deadline, XTransport

__all__ = ["KEEP_ALIVE", "TWEET_FIELDS", "FilteredStream", "LineReader", "stream_params"]

log = logging.getLogger(__name__)

#: The tweet fields asked for, in stream and search mode alike.
TWEET_FIELDS = "author_id,conversation_id,created_at,geo,lang,referenced_tweets"
#: What `LineReader.lines` yields for an empty line (X's keep-alive).
KEEP_ALIVE = object()


class LineReader:
    """Splits a streamed body into lines; empty lines are keep-alives; lines are bounded.

    A line longer than `max_line_bytes` comes out once as an `OverflowError` holding its first
    1,000 bytes, and the rest of it is skipped.
    """

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
                yield line if line else KEEP_ALIVE
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


def stream_params(location: bool, backfill_minutes: int | None) -> dict[str, str]:
    """Query parameters of the stream connection."""
    params = {"tweet.fields": TWEET_FIELDS}
    if location:
        params.update(
            {
                "expansions": "author_id,geo.place_id",
                "user.fields": "location",
                "place.fields": "country_code,full_name",
            }
        )
    if backfill_minutes:
        params["backfill_minutes"] = str(backfill_minutes)
    return params


class FilteredStream:
    """One read of the filtered stream: connects, reconnects on X's schedule, yields items.

    Args:
        transport: the clients and X's retry protocol.
        posts: makes posts and dead letters.
        deadline: the read ends when it expires.
        stats: counters of the read; ``"duplicates"`` and ``"reconnects"`` are counted here.
        params: the connection's query parameters (`stream_params`).
        sync_rules: called with the backoff before connecting (None: leave the rules alone).
        connect_timeout, stall_timeout: seconds to connect; seconds without data or keep-alive
            before reconnecting.
        max_line_bytes, dedupe_window: the longest line kept; how many recent ids are checked
            for re-sent posts.
    """

    def __init__(
        self,
        transport: XTransport,
        posts: XPosts,
        deadline: Deadline,
        stats: MutableMapping[str, int],
        *,
        params: dict[str, str],
        sync_rules: Callable[[Backoff], object] | None,
        connect_timeout: float,
        stall_timeout: float,
        max_line_bytes: int,
        dedupe_window: int,
    ):
        self.transport, self.posts, self.deadline, self.stats = transport, posts, deadline, stats
        self.params, self.sync_rules = params, sync_rules
        self.connect_timeout, self.stall_timeout = connect_timeout, stall_timeout
        self.max_line_bytes, self.dedupe_window = max_line_bytes, dedupe_window

    def read(self) -> Iterator[Post | DeadLetter]:
        """Posts and dead letters until the deadline (or forever); reconnects on failure."""
        backoff = self.transport.new_backoff()
        if self.sync_rules is not None:
            self.sync_rules(backoff)
        session = self.transport.client("rules").session
        url = f"{self.transport.base_url}/2/tweets/search/stream"
        seen, reader = RecentIds(self.dedupe_window), LineReader(self.max_line_bytes)
        while not self.deadline.expired():
            try:
                with session.get(
                    url,
                    params=self.params,
                    stream=True,
                    timeout=(self.connect_timeout, self.deadline.cap(self.stall_timeout, 0.05)),
                ) as resp:
                    if resp.status_code != 200:
                        self.transport.http_failure(
                            resp.status_code, resp.headers, resp.text, backoff
                        )
                        continue
                    log.info("connected to the X filtered stream")
                    for line in reader.lines(resp):
                        if backoff.failures:
                            backoff.success()  # data flows: the connection is healthy again
                        if line is not KEEP_ALIVE:
                            yield from self._items(line, seen)
                        if self.deadline.expired():
                            return
                log.warning("X stream closed by the server; reconnecting")
                self._reconnect_wait(backoff, reader)
            except NETWORK_ERRORS as exc:
                yield from self._dropped(exc, reader)
                self._reconnect_wait(backoff, reader)

    def _dropped(self, exc: Exception, reader: LineReader) -> Iterator[DeadLetter]:
        """Log a dropped or stalled connection; the line it cut, if any, is a dead letter."""
        stalled = "Read timed out" in str(exc)
        log.warning(
            "X stream %s; reconnecting",
            f"stalled (no data or keep-alive for {self.stall_timeout:g} s)"
            if stalled
            else f"dropped ({exc})",
        )
        partial = reader.take_partial()
        if partial:
            yield self.posts.letter(
                f"stream disconnected mid-record ({len(partial)} bytes "
                "received); the post may be re-sent on reconnect",
                partial,
            )

    def _reconnect_wait(self, backoff: Backoff, reader: LineReader) -> None:
        reader.take_partial()
        self.stats["reconnects"] += 1
        if not self.deadline.expired():
            backoff.network_error()
            self.transport.give_up(backoff, "stream connection")

    def _items(self, line: Any, seen: RecentIds) -> Iterator[Post | DeadLetter]:
        """The post (or dead letter) one stream line holds; nothing for errors and repeats."""
        if isinstance(line, OverflowError):
            yield self.posts.letter(
                f"stream record longer than max_line_bytes ({self.max_line_bytes}); dropped",
                line.args[0],
            )
            return
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield self.posts.letter(f"malformed JSON on the stream: {exc}", line)
            return
        except RecursionError:
            yield self.posts.letter(
                f"stream record nested deeper than {MAX_NESTING_DEPTH} levels", line
            )
            return
        if not isinstance(message, dict) or not ("data" in message or "errors" in message):
            yield self.posts.letter("stream message has neither 'data' nor 'errors'", line)
            return
        if "data" not in message:
            log.warning("X stream says: %s", json.dumps(message["errors"])[:500])
            return
        tweet = message["data"]
        tweet_id = str(tweet.get("id")) if isinstance(tweet, dict) else ""
        if tweet_id and seen.seen(tweet_id):
            self.stats["duplicates"] += 1
            return
        item = self.posts.post(
            tweet, message.get("includes"), message.get("matching_rules") or [], line
        )
        if item is not None:
            yield item
