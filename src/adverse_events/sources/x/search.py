"""Polling X recent search (``/2/tweets/search/recent``) from a ``since_id`` cursor.

Every query is swept from one cursor (X ids grow with time), with pagination, and the posts of
all queries are merged and handed out oldest first. The in-memory cursor (``since_id``) is the
newest post handed out; it moves just before a post is yielded. It is never saved here: the
runner commits the source's `snapshot()` once the sinks hold the posts before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from adverse_events.records import DeadLetter, Post
from adverse_events.sources._resilience import Backoff, JsonCheckpoint
from adverse_events.sources.x.posts import XPosts
from adverse_events.sources.x.stream import TWEET_FIELDS
from adverse_events.sources.x.transport import Deadline, XTransport

__all__ = ["RecentSearch"]

#: One tweet with the ``includes`` of its page.
Found = tuple[dict[str, Any], dict[str, Any]]
#: tweet id -> (tweet, includes, the queries that found it).
Merged = dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]]


class RecentSearch:
    """One read of recent search: polls every `poll_interval` s, posts oldest first.

    Args:
        transport: the clients and X's retry protocol.
        posts: makes posts and dead letters.
        deadline: the read ends when it expires.
        queries: the search queries; `tags` maps each to its rule tag.
        page_size: posts per request (10-100).
        max_buffered_posts: most posts one query's sweep holds (older kept first).
        lookback_minutes: how far back the first poll without a cursor starts.
        poll_interval, max_polls: seconds between polls; polls before the read ends (None: no
            limit).
        location: ask for the place and author location expansions.
        sleep: how to wait between polls.
    """

    def __init__(
        self,
        transport: XTransport,
        posts: XPosts,
        deadline: Deadline,
        *,
        queries: Sequence[str],
        tags: Mapping[str, str],
        page_size: int,
        max_buffered_posts: int,
        lookback_minutes: float,
        poll_interval: float,
        max_polls: int | None,
        location: bool,
        sleep: Callable[[float], None],
    ):
        self.transport, self.posts, self.deadline = transport, posts, deadline
        self.queries, self.tags = list(queries), tags
        self.page_size, self.max_buffered_posts = page_size, max_buffered_posts
        self.lookback_minutes, self.poll_interval = lookback_minutes, poll_interval
        self.max_polls, self.location, self._sleep = max_polls, location, sleep

    def read(self, cursor: JsonCheckpoint) -> Iterator[Post | DeadLetter]:
        """Poll from ``cursor["since_id"]``, merge, hand out oldest first, moving the cursor."""
        backoff, polls = self.transport.new_backoff(), 0
        while True:
            merged, bad, limit = self._poll(cursor.get("since_id"), backoff)
            for raw in bad:
                yield self.posts.letter("recent search returned a post without a numeric id", raw)
            for tweet_id in sorted(merged, key=int):
                if limit is not None and int(tweet_id) > limit:
                    break  # newer than what every query could hold: next poll
                tweet, includes, queries = merged[tweet_id]
                cursor.set("since_id", tweet_id)  # handed out once yielded
                rules = [{"tag": self.tags.get(q, q)} for q in queries]
                item = self.posts.post(tweet, includes, rules, tweet)
                if item is not None:
                    yield item
            polls += 1
            if (self.max_polls is not None and polls >= self.max_polls) or self.deadline.expired():
                return
            if limit is None:  # caught up: wait for new posts
                self._sleep(self.deadline.cap(self.poll_interval))

    def _poll(self, since_id: str | None, backoff: Backoff) -> tuple[Merged, list[Any], int | None]:
        """One sweep of every query: posts by id, malformed entries, and the id limit.

        When a query had more posts than `max_buffered_posts`, only posts up to the newest it
        kept can go out now (``limit``), or posts it dropped would fall behind the cursor.
        """
        merged: Merged = {}
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
            if self.deadline.expired():
                break
        return merged, bad, limit

    def _params(self, since_id: str | None) -> dict[str, Any]:
        """Request parameters of one sweep: from `since_id`, else `lookback_minutes` ago."""
        params: dict[str, Any] = {
            "max_results": self.page_size,
            "tweet_fields": TWEET_FIELDS.split(","),
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
        return params

    def _sweep(
        self, query: str, since_id: str | None, backoff: Backoff
    ) -> tuple[list[Found], list[Any], bool]:
        """Every post newer than `since_id`, oldest first, at most `max_buffered_posts`.

        X returns newest first; when there are more posts than the buffer holds, the newest
        are dropped here (the next poll fetches them again), so posts still come out in order
        with no gap. Returns the posts, malformed entries, and whether the sweep was complete.
        """
        client = self.transport.client("search")
        params = self._params(since_id)
        newest_first: list[Found] = []
        bad: list[Any] = []
        complete, token = True, None
        while True:
            page_params = {**params, **({"next_token": token} if token else {})}
            page = self.transport.call(
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
            if not token or self.deadline.expired():
                break
        newest_first.sort(key=lambda pair: int(pair[0]["id"]), reverse=True)
        return newest_first[::-1], bad, complete
