"""`XSource` (old name `TwitterSource`) over real HTTP against the local X API stand-in."""

from __future__ import annotations

import logging
import time

import pytest

from adverse_events.config import StageConfig, build_backend
from adverse_events.errors import ConfigError, PermanentBackendError, TransientBackendError
from adverse_events.records import DeadLetter, Post
from adverse_events.sources.twitter import TwitterSource  # the old name (shim) still works
from adverse_events.sources.x import XSource
from adverse_events.testing import SourceConformance
from tests.sources.conftest import TOKEN
from tests.sources.x_api_standin import XApiStandIn, make_tweet

pytestmark = pytest.mark.integration


def _stream(api: XApiStandIn, waits: list[float], **options) -> TwitterSource:
    options = {"stall_timeout": 0.3, "sleep": waits.append, **options}
    return TwitterSource("stream", api_base_url=api.url, **options)


def _search(api: XApiStandIn, waits: list[float], **options) -> TwitterSource:
    options = {"page_size": 10, "poll_interval": 0.01, "sleep": waits.append, **options}
    return TwitterSource("search", api_base_url=api.url, **options)


def _posts(items) -> list[Post]:
    return [i for i in items if isinstance(i, Post)]


# -- stream mode -----------------------------------------------------------------------------
def test_stream_survives_disconnect_rate_limit_errors_and_stall(
    x_api: XApiStandIn, waits: list[float]
) -> None:
    reset = int(time.time()) + 2
    x_api.stream_scripts = [
        [
            ("tweet", make_tweet(1, "Prozac made me dizzy")),
            ("keepalive",),
            ("tweet", make_tweet(2, "zoloft", retweet=True)),
            ("tweet", make_tweet(3, "el prozac me da sueño", lang="es")),
            ("raw", '{"data": {"id": "4", "text": "Lexa'),
            ("close",),
        ],
        [("status", 429, {"x-rate-limit-reset": str(reset)}, {"title": "Too Many Requests"})],
        [("status", 503, {}, {"title": "Service Unavailable"})],
        [
            (
                "tweet",
                {
                    "data": make_tweet(4, "Lexapro and no sleep"),
                    "matching_rules": [{"id": "1", "tag": "adverse-events:1"}],
                },
            ),
            ("raw", "{not json\r\n"),
            ("keepalive",),
            ("stall", 2.0),
        ],
        [
            ("tweet", make_tweet(4, "Lexapro and no sleep")),  # re-sent (backfill): once only
            ("tweet", make_tweet(5, "xanax and advil")),
            ("keepalive",),
            ("tweet", make_tweet(6, "quoting: metformin", quote=True)),
            ("end",),
        ],
    ]
    source = _stream(x_api, waits, max_posts=4)
    items = list(source.read())
    posts = _posts(items)
    assert [p.post_id for p in posts] == ["x:1", "x:4", "x:5", "x:6"]
    assert [p.drug_mentions for p in posts] == [
        ("fluoxetine",),
        ("escitalopram",),
        ("alprazolam", "ibuprofen"),
        ("metformin",),
    ]
    assert posts[1].metadata["matching_rules"] == ["adverse-events:1"]
    assert all(p.lang == "en" and p.metadata["kind"] != "retweet" for p in posts)
    letters = [i for i in items if isinstance(i, DeadLetter)]
    assert [letter.reason.split(" ")[0] for letter in letters] == ["stream", "malformed"]
    assert "Lexa" in letters[0].payload and letters[1].payload == "{not json"
    assert source.stats["filtered"] == 2 and source.stats["duplicates"] == 1
    assert x_api.stream_connections == 5
    # X's schedule: wait for the rate-limit reset (+1 s), then 5 s after the 503.
    assert 1.0 <= waits[0] <= 4.0 and waits[1] == 5.0
    assert source.stats["reconnects"] >= 2  # the disconnect and the stall


def test_stream_reconnect_waits_follow_the_x_schedule(
    x_api: XApiStandIn, waits: list[float]
) -> None:
    x_api.stream_scripts = [[("close",)]] * 3 + [
        [("status", 500, {}, {})],
        [("status", 502, {}, {})],
        [("status", 429, {}, {})],
        [("tweet", make_tweet(1, "prozac"))],
    ]
    list(_stream(x_api, waits, max_posts=1, sync_rules=False).read())
    # linear for network errors (0 s is not slept), exponential for HTTP, 60 s for 429
    assert waits == [0.25, 0.5, 5.0, 10.0, 60.0]


def test_stream_gives_up_after_max_retries(x_api: XApiStandIn, waits: list[float]) -> None:
    x_api.stream_scripts = [[("status", 503, {}, {})]] * 5
    with pytest.raises(TransientBackendError, match="gave up after 3"):
        list(_stream(x_api, waits, max_retries=2, sync_rules=False).read())


def test_stream_ends_at_max_seconds_while_idle(x_api: XApiStandIn, waits: list[float]) -> None:
    started = time.monotonic()
    items = list(_stream(x_api, waits, max_seconds=0.5, sync_rules=False).read())
    assert items == [] and 0.4 < time.monotonic() - started < 3


def test_oversized_stream_record_is_a_dead_letter(x_api: XApiStandIn, waits) -> None:
    x_api.stream_scripts = [
        [("raw", "x" * 5000), ("raw", "y" * 100 + "\r\n"), ("tweet", make_tweet(7, "prozac"))]
    ]
    items = list(_stream(x_api, waits, max_posts=1, max_line_bytes=1000, sync_rules=False).read())
    assert isinstance(items[0], DeadLetter) and "max_line_bytes" in items[0].reason
    assert [i.post_id for i in items[1:]] == ["x:7"]


def test_bad_token_is_a_permanent_error(x_api: XApiStandIn, waits, monkeypatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "wrong")
    with pytest.raises(PermanentBackendError, match="401"):
        list(_stream(x_api, waits).read())


# -- rules --------------------------------------------------------------------------------------
def test_rule_sync_is_idempotent_and_removes_stale_rules(x_api: XApiStandIn, waits) -> None:
    x_api.rules["1"] = {"id": "1", "value": "old rule", "tag": "adverse-events:9"}
    source = _stream(x_api, waits)
    first = source.sync_stream_rules()
    assert first["deleted"] == ["old rule"] and len(first["added"]) == len(source.queries) > 1
    values = {r["value"]: r["tag"] for r in x_api.rules.values()}
    assert values == source.desired_rules()
    assert all(len(v) <= 512 and v.endswith("lang:en -is:retweet") for v in values)
    posts_before = sum(1 for method, *_ in x_api.requests if method == "POST")
    second = source.sync_stream_rules()
    assert second["added"] == [] and second["deleted"] == []
    assert sum(1 for method, *_ in x_api.requests if method == "POST") == posts_before


def test_foreign_rules_kept_on_request(x_api: XApiStandIn, waits) -> None:
    x_api.rules["1"] = {"id": "1", "value": "from:someone", "tag": "other-app"}
    _stream(x_api, waits, keep_foreign_rules=True).sync_stream_rules()
    assert "1" in x_api.rules
    _stream(x_api, waits).sync_stream_rules()
    assert "1" not in x_api.rules


def test_rules_rejected_by_x_are_reported(x_api: XApiStandIn, waits) -> None:
    source = _stream(x_api, waits, rules=["prozac " * 100])
    with pytest.raises(PermanentBackendError, match="Rule is longer"):
        source.sync_stream_rules()


def test_custom_rules_replace_vocabulary_rules(x_api: XApiStandIn, waits) -> None:
    _stream(x_api, waits, rules=["ozempic nausea lang:en"]).sync_stream_rules()
    assert [r["value"] for r in x_api.rules.values()] == ["ozempic nausea lang:en"]


# -- search mode -----------------------------------------------------------------------------
def test_search_resumes_from_its_cursor_without_gap_or_repeat(
    x_api: XApiStandIn, waits: list[float], tmp_path
) -> None:
    x_api.tweets = [make_tweet(i, f"prozac day {i}") for i in range(1, 26)]
    x_api.tweets += [make_tweet(26, "prozac", retweet=True), make_tweet(27, "prozac", lang="fr")]
    cursor = tmp_path / "cursor.json"

    def read_and_commit(**options) -> list[Post]:
        """What the runner does once the sinks hold what was read."""
        source = _search(x_api, waits, cursor_path=cursor, **options)
        posts = _posts(source.read())
        source.commit(source.snapshot())
        return posts

    first = read_and_commit(max_posts=7)
    assert [p.post_id for p in first] == [f"x:{i}" for i in range(1, 8)]  # oldest first
    # new posts arrive while the source is down
    x_api.tweets += [make_tweet(i, f"zoloft day {i}") for i in range(28, 33)]
    second = read_and_commit(max_polls=1)
    ids = [p.post_id for p in first + second]
    expected = [f"x:{i}" for i in range(1, 26)] + [f"x:{i}" for i in range(28, 33)]
    assert ids == expected
    third = read_and_commit(max_polls=1)
    assert third == []
    assert [p.metadata["matching_rules"] for p in first[:1]] == [
        [f"adverse-events:{i}" for i in range(1, len(_search(x_api, waits).queries) + 1)]
    ]
    pages = [p for m, path, p in x_api.requests if path == "/2/tweets/search/recent"]
    assert any("next_token" in p for p in pages) and "since_id" in pages[-1]


def test_search_buffers_at_most_max_buffered_posts_and_catches_up(
    x_api: XApiStandIn, waits: list[float]
) -> None:
    x_api.tweets = [make_tweet(i, f"prozac {i}") for i in range(1, 36)]
    source = _search(x_api, waits, max_buffered_posts=10, max_posts=35, rules=["prozac"])
    ids = [p.post_id for p in _posts(source.read())]
    assert ids == [f"x:{i}" for i in range(1, 36)]


def test_search_retries_rate_limits_and_server_errors(x_api: XApiStandIn, waits) -> None:
    x_api.tweets = [make_tweet(1, "prozac")]
    reset = int(time.time()) + 3
    x_api.search_failures = [
        (429, {"x-rate-limit-reset": str(reset)}, {"title": "Too Many Requests"}),
        (503, {}, {"title": "Service Unavailable"}),
    ]
    posts = _posts(_search(x_api, waits, max_polls=1).read())
    assert [p.post_id for p in posts] == ["x:1"]
    assert 2.0 <= waits[0] <= 5.0 and waits[1] == 5.0


def test_search_turns_entries_without_ids_into_dead_letters(x_api, waits, monkeypatch) -> None:
    x_api.tweets = [make_tweet(1, "prozac")]
    original = x_api.search

    def with_bad_entry(params):
        status, headers, body = original(params)
        body.setdefault("data", []).append({"text": "no id"})
        return status, headers, body

    monkeypatch.setattr(x_api, "search", with_bad_entry)
    items = list(_search(x_api, waits, max_polls=1).read())
    assert [i.post_id for i in items if isinstance(i, Post)] == ["x:1"]
    letters = [i for i in items if isinstance(i, DeadLetter)]
    assert letters and all("numeric id" in d.reason and "no id" in d.payload for d in letters)


# -- credentials -------------------------------------------------------------------------------
def test_token_never_in_repr_or_logs(x_api: XApiStandIn, waits, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    x_api.tweets = [make_tweet(1, "prozac")]
    source = _search(x_api, waits, max_polls=1, bearer_token=TOKEN)
    assert len(_posts(source.read())) == 1
    assert TOKEN not in repr(source) and TOKEN not in str(vars(source))
    assert "Making API request" in caplog.text  # tweepy logged its request headers...
    assert TOKEN not in caplog.text  # ...without the token


def test_missing_token_names_the_variable(monkeypatch, waits) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    source = TwitterSource("search", api_base_url="http://127.0.0.1:9", sleep=waits.append)
    with pytest.raises(ConfigError, match="X_BEARER_TOKEN"):
        list(source.read())


def test_token_from_a_file_reference(x_api: XApiStandIn, waits, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    x_api.tweets = [make_tweet(1, "prozac")]
    source = _search(x_api, waits, max_polls=1, bearer_token_ref=f"file:{secret}")
    assert len(_posts(source.read())) == 1


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "firehose"},
        {"api_base_url": "api.example.com"},
        {"page_size": 500},
        {"backfill_minutes": 9},
        {"lookback_minutes": 20000},
        {"retweets": "sometimes"},
    ],
)
def test_bad_options_are_config_errors(options) -> None:
    with pytest.raises(ConfigError):
        TwitterSource(**options)


@pytest.mark.parametrize("name", ["x", "twitter"])  # twitter: the old name, an alias
def test_built_from_config(x_api: XApiStandIn, name: str) -> None:
    stage = StageConfig(
        type=name,
        options={"mode": "search", "api_base_url": x_api.url, "max_polls": 1, "lang": "en"},
    )
    source = build_backend("source", stage)
    assert isinstance(source, XSource) and source.mode == "search"
    with pytest.raises(ConfigError, match="unknown option"):
        build_backend("source", StageConfig(type=name, options={"bearer": "x"}))


def test_records_keep_the_source_name_they_had(x_api: XApiStandIn, waits) -> None:
    """Posts and dead letters say ``twitter`` as before the rename: stored tables stay one."""
    x_api.stream_scripts = [[("raw", "{oops\r\n"), ("tweet", make_tweet(1, "prozac"))]]
    items = list(_stream(x_api, waits, max_posts=1, sync_rules=False).read())
    assert {item.source for item in items} == {"twitter"}
    assert TwitterSource is XSource and TwitterSource.name == "x"


# -- the shared contract ---------------------------------------------------------------------
class TestStreamConformance(SourceConformance):
    @pytest.fixture
    def source(self, x_api: XApiStandIn, waits: list[float]) -> TwitterSource:
        x_api.stream_scripts = [
            [
                ("tweet", make_tweet(1, "prozac")),
                ("raw", "oops\r\n"),
                ("tweet", make_tweet(2, "zoloft")),
            ]
            for _ in range(10)
        ]
        return _stream(x_api, waits, max_posts=2)


class TestSearchConformance(SourceConformance):
    @pytest.fixture
    def source(self, x_api: XApiStandIn, waits: list[float]) -> TwitterSource:
        x_api.tweets = [make_tweet(i, f"prozac {i}") for i in range(1, 13)]
        return _search(x_api, waits, max_polls=1)
