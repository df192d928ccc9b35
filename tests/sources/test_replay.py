"""`ReplaySource`: timestamp order, pacing, the three file formats."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from adverse_events.config import StageConfig, build_backend
from adverse_events.errors import ConfigError
from adverse_events.records import DeadLetter, Post
from adverse_events.sources.replay import ReplaySource, parse_speed
from adverse_events.testing import SourceConformance

pytestmark = pytest.mark.unit
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def _at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


ROWS = [  # out of order on purpose
    {"post_id": "c", "text": "zoloft and nausea", "created_at": _at(120)},
    {"post_id": "a", "text": "prozac day one", "created_at": _at(0)},
    {"post_id": "b", "text": "still dizzy", "created_at": _at(60)},
    {"post_id": "n", "text": "no time at all"},
    {"post_id": "b2", "text": "same minute", "created_at": _at(60)},
]


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n{broken\n")
    return path


class FakeClock:
    def __init__(self) -> None:
        self.now, self.waits = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.now += seconds


@pytest.mark.parametrize(
    ("speed", "factor"), [("max", None), ("1x", 1.0), ("60x", 60.0), (" 2.5X ", 2.5), (10, 10.0)]
)
def test_parse_speed(speed, factor) -> None:
    assert parse_speed(speed) == factor


@pytest.mark.parametrize("speed", ["fast", "0x", "-1x", True])
def test_bad_speed(speed) -> None:
    with pytest.raises(ConfigError):
        parse_speed(speed)


def test_replays_in_timestamp_order_with_dead_letters_first(jsonl) -> None:
    items = list(ReplaySource(jsonl).read())
    letters = [i for i in items if isinstance(i, DeadLetter)]
    assert all(isinstance(i, DeadLetter) for i in items[: len(letters)])
    reasons = {d.reason.split(":")[0] for d in letters}
    assert reasons == {"posts.jsonl line 6", "no timestamp in 'created_at'"}
    assert [p.post_id for p in items if isinstance(p, Post)] == ["a", "b", "b2", "c"]


@pytest.mark.parametrize(("speed", "expected"), [("1x", [60.0, 60.0]), ("60x", [1.0, 1.0])])
def test_paces_posts_by_speed(jsonl, speed, expected) -> None:
    clock = FakeClock()
    source = ReplaySource(jsonl, speed=speed, sleep=clock.sleep, clock=clock)
    assert len([i for i in source.read() if isinstance(i, Post)]) == 4
    assert clock.waits == expected


def test_max_speed_never_waits_and_max_posts_stops(jsonl) -> None:
    clock = FakeClock()
    source = ReplaySource(jsonl, speed="max", max_posts=2, sleep=clock.sleep, clock=clock)
    assert [p.post_id for p in source.read() if isinstance(p, Post)] == ["a", "b"]
    assert clock.waits == []


def test_csv_and_parquet(tmp_path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = [r for r in ROWS if "created_at" in r]
    csv_path = tmp_path / "posts.csv"
    csv_path.write_text(
        "post_id,text,created_at\n"
        + "".join(f"{r['post_id']},{r['text']},{r['created_at']}\n" for r in rows)
    )
    table = pa.table(
        {
            "post_id": [r["post_id"] for r in rows],
            "text": [r["text"] for r in rows],
            "created_at": [datetime.fromisoformat(r["created_at"]) for r in rows],
        }
    )
    parquet_path = tmp_path / "posts.parquet"
    pq.write_table(table, parquet_path)
    for path in (csv_path, parquet_path):
        assert [p.post_id for p in ReplaySource(path).read()] == ["a", "b", "b2", "c"]


def test_parquet_dead_letters_are_the_parquet_sources(tmp_path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    from adverse_events.sources.parquet import ParquetSource

    path = tmp_path / "posts.parquet"
    table = pa.table(
        {"post_id": ["a", None], "text": ["fine", "no id"], "created_at": [_at(0), _at(1)]}
    )
    pq.write_table(table, path)

    def letters(source):
        return [
            item.model_dump(exclude={"failed_at"})
            for item in source.read()
            if isinstance(item, DeadLetter)
        ]

    replayed = letters(ReplaySource(path))
    assert replayed == letters(ParquetSource(path, source_name="replay"))
    assert "posts.parquet line 2: missing id field" in replayed[0]["reason"]


def test_bad_options(tmp_path, jsonl) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        ReplaySource(tmp_path / "missing.jsonl")
    odd = tmp_path / "posts.txt"
    odd.write_text("")
    with pytest.raises(ConfigError, match="format"):
        ReplaySource(odd)
    with pytest.raises(ConfigError, match="time_field"):
        ReplaySource(jsonl, time_field="")


def test_built_from_config(jsonl) -> None:
    source = build_backend(
        "source", StageConfig(type="replay", options={"path": str(jsonl), "speed": "60x"})
    )
    assert isinstance(source, ReplaySource) and source.factor == 60.0


class TestReplayConformance(SourceConformance):
    @pytest.fixture
    def source(self, jsonl) -> ReplaySource:
        return ReplaySource(jsonl)
