"""SageMakerClassifier over real HTTP: moto's SageMaker runtime, and a scripted local server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from adverse_events.classifiers.sagemaker import SageMakerClassifier  # noqa: E402
from adverse_events.errors import (  # noqa: E402
    ConfigError,
    InputError,
    PermanentBackendError,
    TransientBackendError,
)
from adverse_events.testing import ClassifierConformance  # noqa: E402
from adverse_events.testing.aws import MotoServer  # noqa: E402

pytestmark = pytest.mark.integration
ENDPOINT = "adverse-events-test"
TEXTS = [
    "this drug gave me a terrible headache",
    "feeling great on my new meds",
    "lexapro made me nauseous all week",
    "no side effects so far",
    "Zoloft 😀 → insomnia, ünïcode",
]


def fake_model(texts):
    """What the endpoint's handlers would answer: one result per text, in order."""
    out = []
    for text in texts:
        score = 0.9 if any(w in text for w in ("headache", "nause", "insomnia")) else 0.1
        score = round(score + len(text) % 7 / 100, 4)
        out.append(
            {
                "label": "adverse_event" if score >= 0.5 else "not_adverse_event",
                "score": score,
                "probabilities": {"not_adverse_event": 1 - score, "adverse_event": score},
            }
        )
    return out


def serve_fake_model(client, moto):
    """Before each InvokeEndpoint, queue the fake model's answer for that request in moto."""
    bodies = []

    def queue(params, **_):
        texts = json.loads(params["body"])
        bodies.append(params["body"])
        moto.queue_sagemaker_results([json.dumps(fake_model(texts))])

    client.meta.events.register("before-call.sagemaker-runtime.InvokeEndpoint", queue)
    return bodies


@pytest.fixture(scope="module")
def moto_server():
    with MotoServer() as server:
        yield server


@pytest.fixture
def runtime(moto_server):
    moto_server.reset()
    client = moto_server.client("sagemaker-runtime")
    client.bodies = serve_fake_model(client, moto_server)
    return client


class TestSageMakerClassifier(ClassifierConformance):
    @pytest.fixture
    def classifier(self, runtime):
        return SageMakerClassifier(ENDPOINT, client=runtime, batch_size=2)

    @pytest.fixture
    def texts(self):
        return TEXTS


def test_threshold_and_batches(runtime):
    clf = SageMakerClassifier(ENDPOINT, client=runtime, batch_size=2, threshold=0.6)
    predictions = clf.classify(TEXTS)
    assert [p.is_adverse_event for p in predictions] == [True, False, True, False, True]
    assert [p.score for p in predictions] == [r["score"] for r in fake_model(TEXTS)]
    assert all(p.model == f"sagemaker:{ENDPOINT}" for p in predictions)
    assert clf.invocations == 3 and [len(json.loads(b)) for b in runtime.bodies] == [2, 2, 1]


def test_payloads_stay_under_the_byte_limit(runtime):
    clf = SageMakerClassifier(ENDPOINT, client=runtime, batch_size=1000, max_payload_bytes=4096)
    texts = [f"headache {i} " + "x" * 900 for i in range(20)]
    predictions = clf.classify(texts)
    assert len(predictions) == 20 and all(p.is_adverse_event for p in predictions)
    assert all(len(body) <= 4096 for body in runtime.bodies)
    assert len(runtime.bodies) == 5  # 4 texts of ~915 bytes per 4 KiB payload
    with pytest.raises(InputError, match="payload limit"):
        clf.classify(["x" * 5000])


def test_lazy_client_with_endpoint_url(moto_server):
    moto_server.reset()
    moto_server.queue_sagemaker_results([json.dumps(fake_model(TEXTS[:2]))])
    clf = SageMakerClassifier(ENDPOINT, endpoint_url=moto_server.url, region="us-east-1")
    assert clf._client is None
    assert [p.is_adverse_event for p in clf.classify(TEXTS[:2])] == [True, False]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("__import__('os').system('echo pwned')", "non-JSON"),
        ('{"label": "x"}', "expected a JSON list"),
        ('[{"label": "adverse_event"}]', "malformed"),
        ('[{"score": 1.7}]', "outside"),
        ("[]", "returned 0 results for 1"),
    ],
)
def test_bad_responses_are_permanent_and_never_evaluated(moto_server, body, message):
    moto_server.reset()
    moto_server.queue_sagemaker_results([body])
    clf = SageMakerClassifier(ENDPOINT, endpoint_url=moto_server.url)
    with pytest.raises(PermanentBackendError, match=message):
        clf.classify(["some text"])


class _Scripted(BaseHTTPRequestHandler):
    """Answers InvokeEndpoint with the next scripted (status, headers, body)."""

    script: list = []
    requests: list = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((self.path, body))
        status, headers, payload = type(self).script.pop(0)
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted(moto_server):
    _Scripted.script, _Scripted.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Scripted
    server.shutdown()
    server.server_close()


def _error(status, code, extra=None):
    body = json.dumps({"message": f"{code} happened", **(extra or {})}).encode()
    return status, {"x-amzn-ErrorType": code}, body


def _ok(texts):
    return 200, {}, json.dumps(fake_model(texts)).encode()


def _pipeline(clf, texts, max_retries):
    from adverse_events import Pipeline
    from adverse_events.sinks import MemorySink
    from adverse_events.sources import MemorySource
    from adverse_events.testing import make_post

    sink = MemorySink()
    posts = [make_post(f"p{i}", text) for i, text in enumerate(texts)]
    pipeline = Pipeline(
        MemorySource(posts), clf, sink=sink, max_retries=max_retries, backoff_initial=0.001
    )
    return pipeline.run(), sink


def test_throttling_and_5xx_are_retried_by_the_runner(scripted):
    url, handler = scripted
    handler.script = [
        _error(429, "ThrottlingException"),
        _error(503, "ServiceUnavailable"),
        _ok(["a headache"]),
    ]
    clf = SageMakerClassifier(ENDPOINT, endpoint_url=url)
    report, sink = _pipeline(clf, ["a headache"], max_retries=5)
    assert report.written == 1 and report.retries == 2
    assert len(handler.requests) == 3
    assert handler.requests[0][0] == f"/endpoints/{ENDPOINT}/invocations"


def test_a_throttled_endpoint_is_called_at_most_max_retries_plus_one_times(scripted):
    url, handler = scripted
    handler.script = [_error(429, "ThrottlingException")] * 50
    clf = SageMakerClassifier(ENDPOINT, endpoint_url=url)
    report, sink = _pipeline(clf, [f"text {i}" for i in range(8)], max_retries=2)
    assert len(handler.requests) == 3  # one batch: 1 call + 2 retries, no bisection, no loops
    assert report.dead_lettered == 8
    assert all(d.transient for d in sink.dead_letters.values())


def test_each_invocation_is_made_once(scripted):
    url, handler = scripted
    handler.script = [_error(429, "ThrottlingException")] * 3
    clf = SageMakerClassifier(ENDPOINT, endpoint_url=url)
    with pytest.raises(TransientBackendError, match="ThrottlingException"):
        clf.classify(["x"])
    assert len(handler.requests) == 1


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_error(400, "ValidationError"), PermanentBackendError),
        (_error(424, "ModelError", {"OriginalStatusCode": 500}), PermanentBackendError),
        (_error(424, "ModelError", {"OriginalStatusCode": 503}), TransientBackendError),
    ],
)
def test_error_mapping(scripted, error, kind):
    url, handler = scripted
    handler.script = [error]
    clf = SageMakerClassifier(ENDPOINT, endpoint_url=url)
    with pytest.raises(kind):
        clf.classify(["x"])


def test_unreachable_endpoint_is_transient(moto_server):
    clf = SageMakerClassifier(ENDPOINT, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(TransientBackendError):
        clf.classify(["x"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"endpoint_name": ""},
        {"batch_size": 0},
        {"max_payload_bytes": 7 * 1024 * 1024},
        {"threshold": 1.5},
        {"labels": ("a", "b")},
    ],
)
def test_bad_options(kwargs):
    with pytest.raises(ConfigError):
        SageMakerClassifier(**{"endpoint_name": ENDPOINT, **kwargs})


def test_old_retry_options_load_with_a_warning():
    with pytest.warns(DeprecationWarning, match="retries are the runner's"):
        SageMakerClassifier(ENDPOINT, max_attempts=3, backoff_initial=0.1)
