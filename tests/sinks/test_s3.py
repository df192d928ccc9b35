"""S3Sink against moto in server mode (real HTTP), through the shared SinkConformance suite."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")
pa_parquet = pytest.importorskip("pyarrow.parquet")

from adverse_events.errors import ConfigError, PermanentBackendError  # noqa: E402
from adverse_events.schema import RECORDS  # noqa: E402
from adverse_events.sinks.s3 import S3Sink  # noqa: E402
from adverse_events.testing import SinkConformance, make_dead_letter, make_record  # noqa: E402
from adverse_events.testing.aws import MotoServer  # noqa: E402

pytestmark = pytest.mark.integration
BUCKET = "ae-test-bucket"


@pytest.fixture(scope="module")
def moto_server():
    with MotoServer() as server:
        yield server


@pytest.fixture
def s3(moto_server):
    moto_server.reset()
    client = moto_server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


class TestS3SinkParquet(SinkConformance):
    # objects are immutable: a later run's flush cannot edit an earlier run's dead-letter objects
    dead_letters_replaced_across_runs = False

    @pytest.fixture
    def sink(self, s3, moto_server):
        return S3Sink(BUCKET, endpoint_url=moto_server.url)

    def read_back(self, sink):
        return sink.read_records(), sink.read_dead_letters()


class TestS3SinkJsonl(SinkConformance):
    dead_letters_replaced_across_runs = False

    @pytest.fixture
    def sink(self, s3, moto_server):
        return S3Sink(BUCKET, prefix="out", format="jsonl", endpoint_url=moto_server.url)

    def read_back(self, sink):
        return sink.read_records(), sink.read_dead_letters()


def _day(day: int) -> datetime:
    return datetime(2024, 5, day, 12, tzinfo=timezone.utc)


def test_few_large_objects_partitioned_by_processing_date(s3, moto_server):
    sink = S3Sink(BUCKET, endpoint_url=moto_server.url)
    for start in range(0, 1000, 50):  # 20 pipeline batches
        sink.write(
            [make_record(f"p{i}", processed_at=_day(1 + i % 2)) for i in range(start, start + 50)]
        )
    sink.close()
    keys = sink.list_keys()
    assert len(keys) == 2
    assert {k.split("/")[1] for k in keys} == {"dt=2024-05-01", "dt=2024-05-02"}
    assert all(k.startswith("lambda_predictions/") and k.endswith(".parquet") for k in keys)
    body = s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert pa_parquet.read_table(io.BytesIO(body)).schema.equals(RECORDS.arrow_schema())
    assert len(sink.read_records()) == 1000


def test_redelivered_batch_overwrites_its_own_object(s3, moto_server):
    batch = [make_record(f"p{i}") for i in range(10)]
    first = S3Sink(BUCKET, endpoint_url=moto_server.url)
    first.write(batch)
    first.close()
    retry = S3Sink(BUCKET, endpoint_url=moto_server.url)
    # Reprocessed later: same input posts, a new prediction and processing time, same day.
    retry.write(
        [
            make_record(r.post_id, score=0.2, processed_at=r.processed_at.replace(hour=23))
            for r in batch
        ]
    )
    retry.close()
    assert first.written_keys == retry.written_keys
    stored = retry.read_records()
    assert len(stored) == 10
    assert {r.prediction.score for r in stored} == {0.2}


def test_dead_letters_under_their_own_prefix(s3, moto_server):
    sink = S3Sink(BUCKET, endpoint_url=moto_server.url, dead_letter_prefix="dlq/")
    sink.write([make_record("a"), make_dead_letter(line=3, reason="no text")])
    sink.close()
    assert all(k.startswith("dlq/dt=") for k in sink.list_keys("dlq/"))
    assert len(sink.list_keys()) == 1
    assert [d.reason for d in sink.read_dead_letters()] == ["no text"]


def test_flush_every_max_buffer_records(s3, moto_server):
    sink = S3Sink(BUCKET, endpoint_url=moto_server.url, max_buffer_records=10)
    for i in range(25):
        sink.write([make_record(f"p{i}")])
    assert len(sink.list_keys()) == 2
    sink.close()
    assert len(sink.list_keys()) == 3 and len(sink.read_records()) == 25


def test_missing_bucket_is_a_permanent_error_and_keeps_the_buffer(s3, moto_server):
    sink = S3Sink("no-such-bucket", endpoint_url=moto_server.url)
    sink.write([make_record("a")])
    with pytest.raises(PermanentBackendError, match="NoSuchBucket"):
        sink.flush()
    s3.create_bucket(Bucket="no-such-bucket")
    sink.close()
    assert [r.post_id for r in sink.read_records()] == ["a"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bucket": "s3://x"}, "bucket"),
        ({"bucket": "b", "format": "csv"}, "format"),
        ({"bucket": "b", "prefix": "x/dt=1/"}, "dt="),
        ({"bucket": "b", "prefix": "a/", "dead_letter_prefix": "a"}, "differ"),
        ({"bucket": "b", "max_buffer_records": 0}, "max_buffer_records"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        S3Sink(**kwargs)


def test_init_opens_nothing():
    sink = S3Sink("bucket", endpoint_url="http://127.0.0.1:9")
    assert sink._client is None
    sink.close()
