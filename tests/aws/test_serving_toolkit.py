"""The model archive served by the SageMaker Hugging Face inference toolkit, as in the endpoint.

The Hugging Face PyTorch inference images run Multi Model Server (MMS) with
``sagemaker_huggingface_inference_toolkit.handler_service``. Here MMS's own Python worker code
loads that handler service on an unpacked archive built by examples/deploy_sagemaker.py
(``MmsModelLoader.load``: the toolkit puts ``code/`` on sys.path, imports ``inference`` and
calls its ``model_fn``) and answers a request the way the worker does (``Service.predict``:
``input_fn`` / ``predict_fn`` / ``output_fn``, the binary reply MMS's frontend turns into the
HTTP answer). Only MMS's Java frontend and the container are missing. Needs
``pip install --no-deps sagemaker-huggingface-inference-toolkit sagemaker-inference
multi-model-server retrying`` (their other requirements are audio and image libraries the
handler service never imports) and ``transformers>=4.56,<5``: toolkit 2.6, the newest on PyPI,
imports names transformers 5 dropped (so this test cannot pair it with the transformers 5.5 of
the default inference image), and the library's TransformersClassifier needs 4.56 (``dtype=``);
skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import sys
import tarfile
from pathlib import Path

import pytest

try:  # toolkit 2.6 imports names transformers 5 no longer has
    import sagemaker_huggingface_inference_toolkit.handler_service  # noqa: F401
except ImportError as exc:
    pytest.skip(
        f"needs the serving stack of the Hugging Face inference images (pip install "
        f"--no-deps sagemaker-huggingface-inference-toolkit sagemaker-inference "
        f"multi-model-server retrying, beside transformers>=4.56,<5): {exc}",
        allow_module_level=True,
    )

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "deploy_sagemaker.py"
HANDLER = "sagemaker_huggingface_inference_toolkit.handler_service"
TEXTS = [
    "since starting zoloft I keep getting headaches",
    "my garden is lovely",
    "lexapro gave me a rash and nausea",
    "ünïcode 😀 → insomnia",
]


def _script():
    spec = importlib.util.spec_from_file_location("deploy_sagemaker_served", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unpacked_archive(model_dir: Path, tmp_path: Path) -> Path:
    wheel = tmp_path / "adverse_events-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")  # the archive carries it; the endpoint pip-installs it, not this test
    archive = _script().build_model_archive(model_dir, tmp_path / "model.tar.gz", str(wheel))
    root = tmp_path / "opt-ml-model"
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root


def _read(buf: bytes, at: int) -> tuple[bytes, int]:
    (size,) = struct.unpack_from("!i", buf, at)
    return buf[at + 4 : at + 4 + max(size, 0)], at + 4 + max(size, 0)


def parse_reply(reply: bytes) -> tuple[int, bytes, int, bytes]:
    """(batch code, message, the request's HTTP status, its body) from MMS's predict reply."""
    (code,) = struct.unpack_from("!i", reply, 0)
    message, at = _read(reply, 4)
    _, at = _read(reply, at)  # request id
    _, at = _read(reply, at)  # content type
    (status,) = struct.unpack_from("!i", reply, at)
    _, at = _read(reply, at + 4)  # reason phrase
    (headers,) = struct.unpack_from("!i", reply, at)
    at += 4
    for _ in range(headers * 2):
        _, at = _read(reply, at)
    body, _ = _read(reply, at)
    return code, message, status, body


def _request(body: bytes, content_type: str = "application/json") -> list[dict]:
    """One InvokeEndpoint request as MMS's frontend hands it to the Python worker."""
    return [
        {
            "requestId": b"req-1",
            "parameters": [{"name": "body", "contentType": content_type, "value": body}],
            "headers": [
                {"name": b"Content-Type", "value": content_type.encode()},
                {"name": b"Accept", "value": b"application/json"},
            ],
        }
    ]


@pytest.fixture
def serve(monkeypatch):
    """Load an unpacked archive the way the model server does; undo its sys.path/module edits."""
    from mms.model_loader import MmsModelLoader

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "inference.py")

    def load(root: Path):
        monkeypatch.delitem(sys.modules, "inference", raising=False)
        return MmsModelLoader().load("model", str(root), HANDLER, None, 1)

    yield load
    sys.modules.pop("inference", None)


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    pytest.importorskip("sklearn")
    from tests.aws.tiny_model import write_tfidf_model

    return write_tfidf_model(tmp_path_factory.mktemp("tfidf-model"))


@pytest.fixture(scope="module")
def transformer_model(tmp_path_factory):
    pytest.importorskip("torch")
    from importlib.metadata import version

    if tuple(int(part) for part in version("transformers").split(".")[:2]) < (4, 56):
        pytest.skip("TransformersClassifier loads with dtype=, which needs transformers>=4.56")
    from tests.aws.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-transformer"))


def _expected(model_dir: Path) -> list[dict]:
    from adverse_events.model_dir import read_model_info
    from adverse_events.registry import get_registry

    kind = read_model_info(model_dir).kind
    options = {"precision": "fp32"} if kind == "transformers" else {}
    with get_registry().resolve("classifier", kind)(model_dir, **options) as model:
        return [{"label": p.label, "score": p.score} for p in model.classify(TEXTS)]


@pytest.mark.parametrize("kind", ["tfidf", "transformers"])
def test_the_toolkit_serves_the_archive(kind, request, tmp_path, serve):
    model_dir = request.getfixturevalue(f"{kind}_model" if kind == "tfidf" else "transformer_model")
    service = serve(_unpacked_archive(model_dir, tmp_path))
    # what SageMakerClassifier sends: a compact UTF-8 JSON list of texts
    body = json.dumps(TEXTS, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    code, message, status, answer = parse_reply(service.predict(_request(body)))
    assert (code, status) == (200, 200), message
    results = json.loads(answer)
    expected = _expected(model_dir)
    assert [r["label"] for r in results] == [e["label"] for e in expected]
    assert [r["score"] for r in results] == pytest.approx(
        [e["score"] for e in expected], rel=1e-4, abs=1e-6
    )
    assert all(r["probabilities"]["adverse_event"] == r["score"] for r in results)


def test_a_bad_request_is_a_400_naming_the_problem(tfidf_model, tmp_path, serve):
    # SageMakerClassifier reads a 400 model error as about this input: dead-letter, no retry.
    service = serve(_unpacked_archive(tfidf_model, tmp_path))
    code, message, _, _ = parse_reply(service.predict(_request(b"[1, 2]")))
    assert code == 400 and b"not strings" in message
