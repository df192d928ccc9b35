"""Cloud sinks under throttling (moto in server mode behind a throttling proxy)."""

from __future__ import annotations

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from adverse_events import Pipeline  # noqa: E402
from adverse_events.sinks.dynamodb import DynamoDBSink  # noqa: E402
from adverse_events.sources import MemorySource  # noqa: E402
from adverse_events.testing import MockClassifier, make_post  # noqa: E402
from adverse_events.testing.aws import MotoServer  # noqa: E402
from adverse_events.testing.throttling import ThrottlingProxy  # noqa: E402
from tests.test_pipeline import FAST, is_ae  # noqa: E402

pytestmark = pytest.mark.integration
TABLE = "adverse_events"


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture
def table(moto):
    moto.reset()
    moto.client("dynamodb").create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "post_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "post_id", "AttributeType": "S"}],
    )
    return TABLE


def _posts(n: int, start: int = 0) -> list:
    return [
        make_post(f"p{i}", f"post {i}" + (" headache" if i % 4 == 0 else ""))
        for i in range(start, start + n)
    ]


def test_dynamodb_throttled_request_keeps_the_batch_progress(moto, table):
    """A BatchWriteItem refused as a whole: the runner's retry re-sends only the chunks
    DynamoDB did not accept."""
    sent: list[int] = []

    class Counting:
        def __init__(self, real):
            self.real, self.calls = real, 0

        def batch_write_item(self, RequestItems):  # noqa: N803 - boto3's name
            self.calls += 1
            sent.append(sum(len(v) for v in RequestItems.values()))
            if self.calls == 3:  # the third chunk of the first attempt is throttled
                from botocore.exceptions import ClientError

                raise ClientError(
                    {
                        "Error": {
                            "Code": "ProvisionedThroughputExceededException",
                            "Message": "slow down",
                        }
                    },
                    "BatchWriteItem",
                )
            return self.real.batch_write_item(RequestItems=RequestItems)

        def __getattr__(self, name):
            return getattr(self.real, name)

    client = Counting(moto.client("dynamodb"))
    sink = DynamoDBSink(table, client=client, clear_dead_letters=False)
    report = Pipeline(
        MemorySource(_posts(100)), MockClassifier(is_ae), sink=sink, batch_size=100, **FAST
    ).run()
    assert not report.failed and report.written == 100 and report.retries == 1
    assert sum(sent) == 100 + 25  # the throttled chunk of 25 sent twice, nothing else
    assert len(sink.read_records()) == 100


def test_dynamodb_ten_percent_throttling_costs_time_not_data(moto, table):
    with ThrottlingProxy(moto.url, throttle=0.1, partial=0.1, seed=3) as proxy:
        sink = DynamoDBSink(table, endpoint_url=proxy.url, backoff_initial=0.001)
        first = Pipeline(
            MemorySource(_posts(300)),
            MockClassifier(is_ae),
            sink=sink,
            batch_size=50,
            max_retries=8,
            **FAST,
        ).run()
        again = Pipeline(
            MemorySource(_posts(400)),
            MockClassifier(is_ae),
            sink=DynamoDBSink(table, endpoint_url=proxy.url, backoff_initial=0.001),
            resume=True,
            batch_size=50,
            max_retries=8,
            **FAST,
        ).run()
    assert proxy.counts["throttled"] > 0 and proxy.counts["partial"] > 0, proxy.counts
    assert not first.failed and first.written == 300 and first.dead_lettered == 0
    assert not again.failed and again.skipped == 300 and again.written == 100
    stored = DynamoDBSink(table, endpoint_url=moto.url).read_records()
    assert sorted(r.post_id for r in stored) == sorted(f"p{i}" for i in range(400))


def test_dynamodb_oversize_post_becomes_a_dead_letter_that_fits(moto, table):
    items = _posts(60)
    items.insert(30, make_post("big", "headache " + "x" * 500_000))
    letters_sink = DynamoDBSink(table, endpoint_url=moto.url)
    report = Pipeline(
        MemorySource(items), MockClassifier(is_ae), sink=letters_sink, batch_size=61, **FAST
    ).run()
    assert not report.failed, report.error
    assert report.written == 60 and report.dead_lettered == 1
    [letter] = letters_sink.read_dead_letters()
    assert letter.post_id == "big" and "400 KB" in letter.reason
    assert "sha256" in letter.payload and len(letter.payload.encode()) < 400 * 1024


# -- S3 ------------------------------------------------------------------------------------------
BUCKET = "ae-faults"


@pytest.fixture
def bucket(moto):
    moto.reset()
    moto.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


class FailingPuts:
    """An S3 client whose put_object calls number `fail` (1-based) raise 503 SlowDown."""

    def __init__(self, real, fail):
        self.real, self.fail, self.calls = real, set(fail), 0

    def put_object(self, **kwargs):
        self.calls += 1
        if self.calls in self.fail:
            from botocore.exceptions import ClientError

            raise ClientError(
                {
                    "Error": {"Code": "SlowDown", "Message": "503"},
                    "ResponseMetadata": {"HTTPStatusCode": 503},
                },
                "PutObject",
            )
        return self.real.put_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


def _s3(moto, client=None, **options):
    from adverse_events.sinks.s3 import S3Sink

    return S3Sink(BUCKET, client=client, endpoint_url=None if client else moto.url, **options)


def test_s3_one_503_on_the_final_flush_loses_nothing(moto, bucket):
    """The reported case: 2,000 buffered records, one 503 in the flush on close."""
    client = FailingPuts(moto.client("s3"), fail={1})
    sink = _s3(moto, client)
    report = Pipeline(
        MemorySource(_posts(2000)), MockClassifier(is_ae), sink=sink, batch_size=500, **FAST
    ).run()
    assert not report.failed and report.written == 2000 and report.retries == 1
    assert len(_s3(moto).read_records()) == 2000


def test_s3_a_flush_that_keeps_failing_counts_nothing_as_written(moto, bucket):
    client = FailingPuts(moto.client("s3"), fail=set(range(2, 100)))
    sink = _s3(moto, client, max_object_records=300)
    report = Pipeline(
        MemorySource(_posts(1000)),
        MockClassifier(is_ae),
        sink=sink,
        batch_size=250,
        max_retries=2,
        **FAST,
    ).run()
    assert report.failed and "SlowDown" in (report.error or "")
    assert report.written == 300 and report.unstored == 700 and report.balanced
    assert len(_s3(moto).read_records()) == 300  # the first part was stored, and only it
    assert sink.buffered() == (700, 0)


def test_s3_flushes_in_bounded_parts_and_a_retry_rewrites_the_same_keys(moto, bucket):
    client = FailingPuts(moto.client("s3"), fail={3})
    sink = _s3(moto, client, max_object_records=100)
    sink.write([r for r in _records(450)])
    from adverse_events.errors import TransientBackendError

    with pytest.raises(TransientBackendError):
        sink.flush()
    assert sink.buffered() == (250, 0)  # two parts of 100 stored and let go of
    keys = sink.flush()
    assert len(keys) == 3 and len(set(sink.written_keys)) == 5
    assert len(_s3(moto).read_records()) == 450


def _records(n):
    from adverse_events.testing import make_record

    return [make_record(f"p{i}") for i in range(n)]


def test_s3_ten_percent_throttling_costs_time_not_data(moto, bucket):
    from adverse_events.sinks.s3 import S3Sink

    with ThrottlingProxy(moto.url, throttle=0.1, seed=5) as proxy:
        sink = S3Sink(BUCKET, endpoint_url=proxy.url, max_buffer_records=200, max_object_records=50)
        report = Pipeline(
            MemorySource(_posts(1000)),
            MockClassifier(is_ae),
            sink=sink,
            batch_size=100,
            max_retries=8,
            **FAST,
        ).run()
    assert proxy.counts["throttled"] > 0, proxy.counts
    assert not report.failed and report.written == 1000 and report.dead_lettered == 0
    assert len(_s3(moto).read_records()) == 1000


def test_a_checkpoint_waits_for_a_buffering_sink_to_store(moto, bucket, tmp_path):
    import json as _json

    from adverse_events.sources.replay import ReplaySource

    data, cursor = tmp_path / "in.jsonl", tmp_path / "replay.json"
    stamp = "2024-01-01T00:{:02d}:{:02d}Z"
    data.write_text(
        "".join(
            _json.dumps(
                {"post_id": f"r{i}", "text": "t", "created_at": stamp.format(i // 60, i % 60)}
            )
            + "\n"
            for i in range(100)
        )
    )
    client = FailingPuts(moto.client("s3"), fail=set(range(1, 1000)))
    report = Pipeline(
        ReplaySource(data, checkpoint_path=cursor),
        MockClassifier(is_ae),
        sink=_s3(moto, client, max_buffer_records=40),
        batch_size=10,
        max_retries=1,
        **FAST,
    ).run()
    assert report.failed and not cursor.exists(), "nothing stored: no checkpoint"
    report = Pipeline(
        ReplaySource(data, checkpoint_path=cursor),
        MockClassifier(is_ae),
        sink=_s3(moto, max_buffer_records=40),
        batch_size=10,
        **FAST,
    ).run()
    assert not report.failed and _json.loads(cursor.read_text())["offset"] == 100
    assert len(_s3(moto).read_records()) == 100
