"""Checkpoints follow the sink: a source's position is saved only once its posts are stored."""

from __future__ import annotations

import json

import pytest

from adverse_events import Pipeline
from adverse_events.protocols import CheckpointingSource
from adverse_events.sinks import JsonlSink
from adverse_events.sources.twitter import TwitterSource
from adverse_events.testing import MockClassifier
from adverse_events.testing.faults import Faults, FaultySink
from tests.sources.x_api_standin import XApiStandIn, make_tweet
from tests.test_pipeline import FAST

pytestmark = pytest.mark.integration


def _search(api: XApiStandIn, waits: list[float], cursor, **options) -> TwitterSource:
    options = {
        "page_size": 10,
        "poll_interval": 0.01,
        "sleep": waits.append,
        "rules": ["prozac"],
        **options,
    }
    return TwitterSource("search", api_base_url=api.url, cursor_path=cursor, **options)


class InterruptOnCall(MockClassifier):
    """Ctrl-C while the `call`-th batch is being classified."""

    def __init__(self, call: int):
        super().__init__(lambda text: 0.1)
        self.call, self.count = call, 0

    def classify(self, texts):
        self.count += 1
        if self.count == self.call:
            raise KeyboardInterrupt
        return super().classify(texts)


def _stored(path) -> list[str]:
    return sorted(
        (r.post_id for r in JsonlSink(path).read_records()), key=lambda pid: int(pid.split(":")[1])
    )


def test_x_search_ctrl_c_in_the_third_batch_loses_nothing(x_api, waits, tmp_path) -> None:
    """The reported case: 40 tweets, batch 8, Ctrl-C while batch 3 is classified. The cursor
    must stay at the last stored post (16), so the rerun reads 17-40."""
    x_api.tweets = [make_tweet(i, f"prozac day {i}") for i in range(1, 41)]
    cursor, out = tmp_path / "cursor.json", tmp_path / "out.jsonl"
    first = Pipeline(
        _search(x_api, waits, cursor, max_polls=1),
        InterruptOnCall(3),
        sink=JsonlSink(out),
        batch_size=8,
        **FAST,
    ).run()
    assert first.interrupted and first.written == 16
    assert json.loads(cursor.read_text())["since_id"] == "16"
    second = Pipeline(
        _search(x_api, waits, cursor, max_polls=1),
        MockClassifier(lambda t: 0.1),
        sink=JsonlSink(out),
        batch_size=8,
        **FAST,
    ).run()
    assert not second.failed and second.written == 24
    assert _stored(out) == [f"x:{i}" for i in range(1, 41)]
    assert json.loads(cursor.read_text())["since_id"] == "40"


def test_x_search_cursor_stays_behind_a_failed_write(x_api, waits, tmp_path) -> None:
    x_api.tweets = [make_tweet(i, f"prozac {i}") for i in range(1, 25)]
    cursor, out = tmp_path / "cursor.json", tmp_path / "out.jsonl"
    sink = FaultySink(JsonlSink(out), Faults(script=[None, "bug"]))
    report = Pipeline(
        _search(x_api, waits, cursor, max_polls=1),
        MockClassifier(lambda t: 0.1),
        sink=sink,
        batch_size=8,
        **FAST,
    ).run()
    assert report.failed and report.checkpoints == 1
    assert json.loads(cursor.read_text())["since_id"] == "8"
    Pipeline(
        _search(x_api, waits, cursor, max_polls=1),
        MockClassifier(lambda t: 0.1),
        sink=JsonlSink(out),
        batch_size=8,
        **FAST,
    ).run()
    assert _stored(out) == [f"x:{i}" for i in range(1, 25)]


def test_reading_alone_saves_no_cursor(x_api, waits, tmp_path) -> None:
    x_api.tweets = [make_tweet(i, f"prozac {i}") for i in range(1, 12)]
    cursor = tmp_path / "cursor.json"
    source = _search(x_api, waits, cursor, max_polls=1)
    assert isinstance(source, CheckpointingSource)
    assert len(list(source.read())) == 11
    source.close()
    assert not cursor.exists()
    source.commit(source.snapshot())
    assert json.loads(cursor.read_text())["since_id"] == "11"


def test_replay_ctrl_c_then_resume_stores_everything_once(tmp_path) -> None:
    from adverse_events.sources.replay import ReplaySource

    lines = [
        json.dumps(
            {"post_id": f"r{i}", "text": f"post {i}", "created_at": f"2024-01-01T00:00:{i:02d}Z"}
        )
        for i in range(30)
    ]
    lines.insert(5, "{broken")
    data, cursor, out = tmp_path / "in.jsonl", tmp_path / "replay.json", tmp_path / "out.jsonl"
    data.write_text("\n".join(lines) + "\n")
    first = Pipeline(
        ReplaySource(data, checkpoint_path=cursor),
        InterruptOnCall(3),
        sink=JsonlSink(out),
        batch_size=8,
        **FAST,
    ).run()
    assert first.interrupted and json.loads(cursor.read_text())["offset"] == 16
    second = Pipeline(
        ReplaySource(data, checkpoint_path=cursor),
        MockClassifier(lambda t: 0.1),
        sink=JsonlSink(out),
        batch_size=8,
        **FAST,
    ).run()
    assert second.read == 31 - 16 and not second.failed
    assert sorted(r.post_id for r in JsonlSink(out).read_records()) == sorted(
        f"r{i}" for i in range(30)
    )
    assert len(JsonlSink(out).read_dead_letters()) == 1
    data.write_text("\n".join(lines[:10]) + "\n")
    from adverse_events.errors import ConfigError

    with pytest.raises(ConfigError, match="another version"):
        list(ReplaySource(data, checkpoint_path=cursor).read())


def test_dynamodb_stream_ctrl_c_then_resume_stores_everything_once(tmp_path) -> None:
    pytest.importorskip("moto.server")
    from adverse_events.sources.dynamodb_stream import DynamoDBPostStore, DynamoDBStreamSource
    from adverse_events.testing import make_post
    from adverse_events.testing.aws import MotoServer

    with MotoServer() as moto:
        moto.reset()  # moto's state is per process: other tests' tables may be there
        store = DynamoDBPostStore("checkpoint-posts", endpoint_url=moto.url, create_table=True)
        store.ensure_table()
        store.put_posts([make_post(f"d{i}", f"post {i}") for i in range(20)])
        checkpoint, out = tmp_path / "ddb.json", tmp_path / "out.jsonl"

        def source() -> DynamoDBStreamSource:
            return DynamoDBStreamSource(
                table_name="checkpoint-posts", endpoint_url=moto.url, checkpoint_path=checkpoint
            )

        first = Pipeline(
            source(), InterruptOnCall(2), sink=JsonlSink(out), batch_size=6, **FAST
        ).run()
        assert first.interrupted and first.written == 6 and first.checkpoints == 1
        second = Pipeline(
            source(), MockClassifier(lambda t: 0.1), sink=JsonlSink(out), batch_size=6, **FAST
        ).run()
        assert second.read == 14 and second.written == 14
        assert sorted(r.post_id for r in JsonlSink(out).read_records()) == sorted(
            f"d{i}" for i in range(20)
        )
