"""The Lambda handler on a DynamoDB Stream event, against moto over real HTTP.

The event is what moto's DynamoDB Streams recorded for 1,000 new posts plus a few malformed
ones; the classifier is `SageMakerClassifier` against moto's SageMaker runtime; the sink is
`S3Sink` against moto's S3; Comprehend Medical (which moto lacks) is a botocore Stubber.
"""

from __future__ import annotations

import io
import json
import time
from datetime import datetime

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")
pq = pytest.importorskip("pyarrow.parquet")

from botocore.stub import Stubber  # noqa: E402

from adverse_events.aws import lambda_handler  # noqa: E402
from adverse_events.aws.lambda_handler import Settings, _Backends, handle, handler  # noqa: E402
from adverse_events.classifiers.sagemaker import SageMakerClassifier  # noqa: E402
from adverse_events.errors import ConfigError, PluginError, TransientBackendError  # noqa: E402
from adverse_events.extractors.comprehend_medical import (  # noqa: E402
    ComprehendMedicalExtractor,
)
from adverse_events.registry import get_registry  # noqa: E402
from adverse_events.sinks.s3 import S3Sink  # noqa: E402
from adverse_events.testing import MockClassifier  # noqa: E402
from adverse_events.testing.aws import MotoServer  # noqa: E402

pytestmark = pytest.mark.integration
BUCKET, TABLE, ENDPOINT = "ae-lambda-test", "posts", "ae-endpoint"
AE_WORDS = ("headache", "nausea", "rash")


def _stream_source_available() -> None:
    try:
        get_registry().resolve("source", "dynamodb-stream")
    except PluginError as exc:
        pytest.skip(f"DynamoDBStreamSource is not available: {exc}")


@pytest.fixture(scope="module")
def moto_server():
    with MotoServer() as server:
        yield server


def _lambda_event(server, items, extra=()):
    """Put `items` into a streamed table and return the stream records as a Lambda event."""
    ddb = server.client("dynamodb")
    table = ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "post_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "post_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn = table["TableDescription"]["LatestStreamArn"]
    for item in items:
        ddb.put_item(TableName=TABLE, Item=item)
    streams = server.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = []
    while iterator and len(records) < len(items):
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records.extend(page["Records"])
        iterator = page.get("NextShardIterator")
    for record in records:  # as Lambda delivers them: epoch seconds, the stream ARN
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        if isinstance(created, datetime):
            record["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
        record["eventSourceARN"] = arn
    return {"Records": records + list(extra)}


def _post_item(i, text=None):
    text = (
        text
        if text is not None
        else (
            f"post {i}: this drug gave me a {AE_WORDS[i % 3]}"
            if i % 4 == 0
            else f"post {i}: feeling fine on my meds"
        )
    )
    return {
        "post_id": {"S": f"x:{i}"},
        "text": {"S": text},
        "created_at": {"S": "2024-05-01T10:00:00+00:00"},
        "lang": {"S": "en"},
    }


MALFORMED = [
    {"post_id": {"S": "bad:no-text"}, "lang": {"S": "en"}},
    {"post_id": {"S": "bad:numeric-text"}, "text": {"N": "42"}},
    {"post_id": {"S": "bad:empty-text"}, "text": {"S": "   "}},
]
GARBAGE = {
    "eventID": "garbage-1",
    "eventName": "INSERT",
    "eventSource": "aws:dynamodb",
    "dynamodb": {"SequenceNumber": "999999999999999999999999", "NewImage": "not a map"},
}


def _fake_endpoint(client, server):
    def queue(params, **_):
        texts = json.loads(params["body"])
        scores = [0.9 if any(w in t for w in AE_WORDS) else 0.1 for t in texts]
        server.queue_sagemaker_results(
            [
                json.dumps(
                    [
                        {
                            "label": "adverse_event" if s > 0.5 else "not_adverse_event",
                            "score": s,
                            "probabilities": {"adverse_event": s, "not_adverse_event": 1 - s},
                        }
                        for s in scores
                    ]
                )
            ]
        )

    client.meta.events.register("before-call.sagemaker-runtime.InvokeEndpoint", queue)


@pytest.fixture
def world(moto_server):
    _stream_source_available()
    moto_server.reset()
    moto_server.client("s3").create_bucket(Bucket=BUCKET)
    runtime = moto_server.client("sagemaker-runtime")
    _fake_endpoint(runtime, moto_server)
    return moto_server, runtime


def _settings(**kw):
    return Settings(endpoint_name=ENDPOINT, bucket=BUCKET, backoff_seconds=0.001, **kw)


def _rows(server, prefix):
    s3 = server.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    rows = []
    for key in keys:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        rows.extend(pq.read_table(io.BytesIO(body)).to_pylist())
    return keys, rows


def _run(server, runtime, event, extractor=None, classifier=None, **settings):
    classifier = classifier or SageMakerClassifier(ENDPOINT, client=runtime)
    sink = S3Sink(BUCKET, endpoint_url=server.url)
    return handle(
        event, settings=_settings(**settings), classifier=classifier, extractor=extractor, sink=sink
    )


@pytest.mark.slow
def test_thousand_posts_exactly_once_and_redelivery_adds_nothing(world):
    server, runtime = world
    event = _lambda_event(server, [_post_item(i) for i in range(1000)] + MALFORMED, [GARBAGE])
    assert len(event["Records"]) == 1004

    result = _run(server, runtime, event)
    keys, rows = _rows(server, "lambda_predictions/")
    ids = [r["post_id"] for r in rows]
    assert sorted(ids) == sorted(f"x:{i}" for i in range(1000))  # each valid post, once
    assert 1 <= len(keys) <= 3 and all("/dt=" in k and k.endswith(".parquet") for k in keys)
    assert sum(r["is_adverse_event"] for r in rows) == 250

    _, letters = _rows(server, "lambda_dead_letters/")
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    dead = " ".join(f"{d['post_id']} {d['payload']}" for d in letters)
    for bad in ("bad:no-text", "bad:numeric-text", "bad:empty-text", "garbage-1"):
        seq = next(
            (
                r["dynamodb"].get("SequenceNumber")
                for r in event["Records"]
                if bad in json.dumps(r, default=str)
            ),
            None,
        )
        assert bad in dead or seq in failed, f"{bad} was lost"
    assert all(d["reason"] for d in letters)

    again = _run(server, runtime, event)  # Lambda redelivers the same batch
    keys_again, rows_again = _rows(server, "lambda_predictions/")
    assert keys_again == keys and len(rows_again) == 1000
    assert again == result


def test_transient_failure_is_reported_and_nothing_after_it_is_written(world):
    server, runtime = world
    event = _lambda_event(server, [_post_item(i, f"post {i}") for i in range(10)])

    def score(text):
        if text == "post 6":
            raise TransientBackendError("throttled", backend="mock")
        return 0.1

    # Batches of 4: [0-3] succeed; in [4-7] the runner gives up retrying and bisects down to
    # x:6 alone; everything from x:6 on waits for Lambda's retry, what came before is written.
    result = _run(server, runtime, event, classifier=MockClassifier(score), batch_size=4)
    seq = {
        r["dynamodb"]["NewImage"]["post_id"]["S"]: r["dynamodb"]["SequenceNumber"]
        for r in event["Records"]
    }
    assert result == {"batchItemFailures": [{"itemIdentifier": seq["x:6"]}]}
    _, rows = _rows(server, "lambda_predictions/")
    assert sorted(r["post_id"] for r in rows) == [f"x:{i}" for i in range(6)]
    _, letters = _rows(server, "lambda_dead_letters/")
    assert letters == []  # transient failures are retried, not dead-lettered


def test_out_of_time_writes_what_was_done_and_retries_the_rest(world):
    server, runtime = world
    event = _lambda_event(server, [_post_item(i, f"post {i}") for i in range(10)])
    seq = {
        r["dynamodb"]["NewImage"]["post_id"]["S"]: r["dynamodb"]["SequenceNumber"]
        for r in event["Records"]
    }
    seen = []

    def slow(text):  # the deadline passes while the second chunk of 4 is classified
        seen.append(text)
        if text == "post 5":
            time.sleep(1.5)
        return 0.1

    result = handle(
        event,
        settings=_settings(batch_size=4),
        classifier=MockClassifier(slow),
        extractor=None,
        sink=S3Sink(BUCKET, endpoint_url=server.url),
        deadline=time.monotonic() + 1.0,
    )
    # [0-3] and [4-7] are done and written; [8-9] were not started: retried from x:8
    assert result == {"batchItemFailures": [{"itemIdentifier": seq["x:8"]}]}
    assert len(seen) == 8
    _, rows = _rows(server, "lambda_predictions/")
    assert sorted(r["post_id"] for r in rows) == [f"x:{i}" for i in range(8)]


def test_a_deadline_already_past_still_makes_progress(world):
    server, runtime = world
    event = _lambda_event(server, [_post_item(i, f"post {i}") for i in range(6)])
    second = event["Records"][4]["dynamodb"]["SequenceNumber"]
    result = handle(
        event,
        settings=_settings(batch_size=4),
        classifier=MockClassifier(lambda text: 0.1),
        extractor=None,
        sink=S3Sink(BUCKET, endpoint_url=server.url),
        deadline=time.monotonic() - 1,
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": second}]}
    _, rows = _rows(server, "lambda_predictions/")
    assert len(rows) == 4  # one chunk, so a too-short timeout cannot stall the shard


def test_s3_failure_reports_the_whole_batch(world):
    server, runtime = world
    event = _lambda_event(server, [_post_item(i) for i in range(5)])
    server.client("s3").delete_bucket(Bucket=BUCKET)
    result = _run(server, runtime, event)
    first = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert result == {"batchItemFailures": [{"itemIdentifier": first}]}


def test_backend_that_cannot_start_reports_the_whole_batch(world):
    # The runner returns a failed report (it does not raise) when a backend cannot open; the
    # batch must come back, not be acknowledged with nothing written.
    server, runtime = world
    event = _lambda_event(server, [_post_item(i) for i in range(3)])

    class Unreachable(MockClassifier):
        def open(self):
            raise TransientBackendError("endpoint unreachable", backend="mock")

    result = _run(server, runtime, event, classifier=Unreachable(lambda text: 0.1))
    first = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert result == {"batchItemFailures": [{"itemIdentifier": first}]}
    assert _rows(server, "lambda_predictions/") == ([], [])


def test_posts_written_by_the_post_store_reach_the_handler(world):
    # docs/aws.md: fill the stack's table with DynamoDBPostStore(id_attribute="post_id"); its
    # items are what the handler reads with its default settings.
    from boto3.dynamodb.types import TypeSerializer

    from adverse_events.sources.dynamodb_stream import DynamoDBPostStore
    from adverse_events.testing import make_post

    server, runtime = world
    store = DynamoDBPostStore(TABLE, id_attribute="post_id")
    typed = TypeSerializer().serialize
    posts = [
        make_post(f"p:{i}", f"post {i}: this drug gave me a rash", lang="en") for i in range(3)
    ]
    items = [{k: typed(v) for k, v in store.item(p).items()} for p in posts]
    assert _run(server, runtime, _lambda_event(server, items)) == {"batchItemFailures": []}
    _, rows = _rows(server, "lambda_predictions/")
    assert sorted(r["post_id"] for r in rows) == ["p:0", "p:1", "p:2"]
    assert all(r["is_adverse_event"] for r in rows)


def test_empty_event():
    assert handle(
        {"Records": []}, settings=_settings(), classifier=None, extractor=None, sink=None
    ) == {"batchItemFailures": []}


def test_handler_reads_its_settings_from_the_environment(world, monkeypatch):
    server, _ = world
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "BUCKET": BUCKET,
        "EXTRACTOR": "none",
        "THRESHOLD": "0.5",
        "PREFIX": "preds/",
        "BACKOFF_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    event = _lambda_event(server, [_post_item(i) for i in range(4)])
    server.queue_sagemaker_results(
        [
            json.dumps(
                [{"label": "x", "score": s, "probabilities": {}} for s in (0.9, 0.1, 0.1, 0.1)]
            )
        ]
    )

    class Context:  # what Lambda passes: 5 minutes left, far more than needed
        @staticmethod
        def get_remaining_time_in_millis():
            return 300_000

    assert handler(event, Context()) == {"batchItemFailures": []}
    keys, rows = _rows(server, "preds/")
    assert len(keys) == 1 and len(rows) == 4
    assert sorted(r["is_adverse_event"] for r in rows) == [False, False, False, True]


def test_settings_from_env():
    settings = Settings.from_env(
        {
            "ENDPOINT_NAME": "e",
            "BUCKET": "b",
            "THRESHOLD": "0.7",
            "EXTRACTOR": "none",
            "BATCH_SIZE": "32",
        }
    )
    assert (settings.threshold, settings.extractor, settings.batch_size) == (0.7, None, 32)
    assert (
        Settings.from_env({"ENDPOINT_NAME": "e", "BUCKET": "b"}).extractor == "comprehend-medical"
    )
    with pytest.raises(ConfigError, match="ENDPOINT_NAME"):
        Settings.from_env({"BUCKET": "b"})
    with pytest.raises(ConfigError, match="bad number"):
        Settings.from_env({"ENDPOINT_NAME": "e", "BUCKET": "b", "THRESHOLD": "high"})


# -- with the real ComprehendMedicalExtractor on a Stubber client --------------------------------
#: post text -> (DetectEntitiesV2 conditions, InferICD10CM entities), shaped as the API documents:
#: (phrase, score, traits) and (phrase, score, traits, [(code, description, score)]).
CM_POSTS = {
    "Zoloft gave me a terrible headache and nausea. No dizziness though.": (
        [
            ("terrible headache", 0.91, ("SYMPTOM",)),
            ("nausea", 0.95, ("SYMPTOM",)),
            ("dizziness", 0.97, ("NEGATION",)),
        ],
        [
            (
                "headache",
                0.9,
                ("SYMPTOM",),
                [
                    ("R51.9", "Headache, unspecified", 0.82),
                    ("G44.209", "Tension-type headache", 0.31),
                ],
            ),
            ("nausea", 0.95, (), [("R11.0", "Nausea", 0.93)]),
            ("dizziness", 0.96, ("NEGATION",), [("R42", "Dizziness and giddiness", 0.9)]),
        ],
    ),
    "Lexapro made me so dizzy. No rash at all, luckily.": (
        [("dizzy", 0.88, ("SYMPTOM",)), ("rash", 0.97, ("NEGATION",))],
        [
            ("dizzy", 0.86, (), [("R42", "Dizziness and giddiness", 0.91)]),
            (
                "rash",
                0.95,
                ("NEGATION",),
                [("R21", "Rash and other nonspecific skin eruption", 0.9)],
            ),
        ],
    ),
    "No nausea since I switched to the generic.": (
        [("nausea", 0.96, ("NEGATION",))],
        [("nausea", 0.96, ("NEGATION",), [("R11.0", "Nausea", 0.9)])],
    ),
}
CM_EXPECTED = {  # post text -> (ae_type, ICD-10-CM codes) with the default trait handling
    "Zoloft gave me a terrible headache and nausea. No dizziness though.": (
        "nausea",
        ["R11.0", "R51.9"],
    ),
    "Lexapro made me so dizzy. No rash at all, luckily.": ("dizzy", ["R42"]),
    "No nausea since I switched to the generic.": (None, []),
}


def _cm_entity(text, eid, phrase, score, traits, **extra):
    begin = text.index(phrase)
    return {
        "Id": eid,
        "BeginOffset": begin,
        "EndOffset": begin + len(phrase),
        "Score": score,
        "Text": phrase,
        "Category": "MEDICAL_CONDITION",
        "Type": "DX_NAME",
        "Traits": [{"Name": t, "Score": 0.9} for t in traits],
        "Attributes": [],
        **extra,
    }


def _cm_responses(text):
    conditions, icd = CM_POSTS[text]
    drug = text.split()[0]
    detect = {
        "Entities": [
            {
                "Id": 0,
                "BeginOffset": 0,
                "EndOffset": len(drug),
                "Score": 0.99,
                "Text": drug,
                "Category": "MEDICATION",
                "Type": "BRAND_NAME",
                "Traits": [],
                "Attributes": [],
            },
            *(_cm_entity(text, i + 1, *c) for i, c in enumerate(conditions)),
        ],
        "UnmappedAttributes": [],
        "ModelVersion": "2.4.0",
    }
    icd10 = {
        "Entities": [
            _cm_entity(
                text,
                i,
                phrase,
                score,
                traits,
                ICD10CMConcepts=[{"Code": c, "Description": d, "Score": s} for c, d, s in concepts],
            )
            for i, (phrase, score, traits, concepts) in enumerate(icd)
        ],
        "ModelVersion": "0.1.0",
    }
    rxnorm = {"Entities": [], "ModelVersion": "0.1.0"}
    return detect, icd10, rxnorm


def _comprehend_stub(texts):
    """A comprehendmedical client answering the three calls for each text, in order."""
    import boto3

    client = boto3.client(
        "comprehendmedical",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    for text in texts:
        for operation, response in zip(
            ("detect_entities_v2", "infer_icd10_cm", "infer_rx_norm"),
            _cm_responses(text),
            strict=True,
        ):
            stubber.add_response(operation, response, {"Text": text})
    stubber.activate()
    return client, stubber


def test_comprehend_medical_codes_adverse_events_and_drops_negated_conditions(world, monkeypatch):
    server, runtime = world
    ae_texts = list(CM_POSTS)  # the fake endpoint calls them adverse events (headache, ...)
    texts = [
        ae_texts[0],
        "post 1: feeling fine on my meds",
        ae_texts[1],
        ae_texts[2],
        "post 4: feeling fine on my meds",
    ]
    event = _lambda_event(server, [_post_item(i, t) for i, t in enumerate(texts)])
    client, stubber = _comprehend_stub(ae_texts)  # only adverse-event posts reach it
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "BUCKET": BUCKET,
        "BACKOFF_SECONDS": "0",
        "AWS_ENDPOINT_URL": server.url,
        "COMPREHEND_MEDICAL_REGION": "us-east-1",
        "ICD10_THRESHOLD": "0.7",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    backends = _Backends(
        settings, clients={"comprehendmedical": client, "sagemaker-runtime": runtime}
    )
    assert isinstance(backends.extractor, ComprehendMedicalExtractor)
    monkeypatch.setattr(lambda_handler, "_WARM", {backends.key: backends})

    assert handler(event, None) == {"batchItemFailures": []}
    stubber.assert_no_pending_responses()
    _, rows = _rows(server, "lambda_predictions/")
    by_text = {r["text"]: r for r in rows}
    assert sorted(by_text) == sorted(texts)
    for text, (ae_type, codes) in CM_EXPECTED.items():
        row = by_text[text]
        assert row["is_adverse_event"] and row["extractor"] == "comprehend-medical"
        assert (row["ae_type"], row["icd10_codes"]) == (ae_type, codes), text
        mentions = json.loads(row["mentions_json"])  # dropped, not merely flagged
        assert not {"dizziness", "rash"} & {m["text"] for m in mentions}, text
        assert all("NEGATION" not in m["traits"] for m in mentions)
        assert row["drugs"] == [text.split()[0].lower()]
    assert by_text[ae_texts[0]]["events"] == ["nausea", "terrible headache"]
    for text in texts[1::3]:
        assert by_text[text]["ae_type"] is None and by_text[text]["mentions_json"] == "[]"
    _, letters = _rows(server, "lambda_dead_letters/")
    assert letters == []


def test_extractor_is_configured_from_the_environment():
    settings = Settings.from_env(
        {
            "ENDPOINT_NAME": "e",
            "BUCKET": "b",
            "COMPREHEND_MEDICAL_REGION": "us-west-2",
            "CONDITION_THRESHOLD": "0.5",
            "ICD10_THRESHOLD": "0.8",
            "INCLUDE_RXNORM": "false",
            "EXCLUDE_TRAITS": "negation, hypothetical",
            "KEEP_EXCLUDED": "yes",
        }
    )
    extractor = _Backends(settings).extractor
    assert isinstance(extractor, ComprehendMedicalExtractor)
    assert (
        extractor.region,
        extractor.condition_threshold,
        extractor.icd10_threshold,
        extractor.include_rxnorm,
        extractor.exclude_traits,
        extractor.keep_excluded,
    ) == ("us-west-2", 0.5, 0.8, False, ("NEGATION", "HYPOTHETICAL"), True)
    assert extractor._client is None  # made lazily, on first use
    defaults = _Backends(Settings.from_env({"ENDPOINT_NAME": "e", "BUCKET": "b"})).extractor
    assert (
        defaults.condition_threshold,
        defaults.icd10_threshold,
        defaults.exclude_traits,
        defaults.keep_excluded,
        defaults.include_rxnorm,
    ) == (0.6, 0.7, ("NEGATION", "HYPOTHETICAL", "PERTAINS_TO_FAMILY"), False, True)
    reference = Settings.from_env({"ENDPOINT_NAME": "e", "BUCKET": "b", "EXCLUDE_TRAITS": "none"})
    assert reference.exclude_traits == ()
    with pytest.raises(ConfigError, match="EXTRACTOR"):
        Settings.from_env({"ENDPOINT_NAME": "e", "BUCKET": "b", "EXTRACTOR": "lexicon"})
    with pytest.raises(ConfigError, match="KEEP_EXCLUDED"):
        Settings.from_env({"ENDPOINT_NAME": "e", "BUCKET": "b", "KEEP_EXCLUDED": "maybe"})
    with pytest.raises(ConfigError, match="ICD10_THRESHOLD|must be in"):
        _Backends(Settings.from_env({"ENDPOINT_NAME": "e", "BUCKET": "b", "ICD10_THRESHOLD": "7"}))
