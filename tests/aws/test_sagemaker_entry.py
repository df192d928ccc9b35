"""The SageMaker handlers on a tiny local model directory, and the training entry's arguments."""

from __future__ import annotations

import json

import pytest

from adverse_events.aws import sagemaker_entry as entry

pytestmark = pytest.mark.integration


# -- request / response parsing ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type", "texts"),
    [
        (b'"one text"', "application/json", ["one text"]),
        ('["a", "b"]', "application/json; charset=utf-8", ["a", "b"]),
        (b'{"inputs": ["a", "b"]}', "application/json", ["a", "b"]),
        (b'{"inputs": "a"}', None, ["a"]),
        ("[]", "application/json", []),
        (b"plain text, not JSON", "text/plain", ["plain text, not JSON"]),
        ('["ünï 😀"]'.encode(), "application/json", ["ünï 😀"]),
    ],
)
def test_input_fn_accepts(body, content_type, texts):
    assert entry.input_fn(body, content_type) == texts


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"[1, 2]", "application/json", "not strings"),
        (b"{not json", "application/json", "not JSON"),
        (b'{"text": "a"}', "application/json", "expected a string or a list"),
        (b"a,b", "text/csv", "unsupported content type"),
        (12, "application/json", "bytes or text"),
    ],
)
def test_input_fn_rejects_with_a_reason(body, content_type, message):
    with pytest.raises(ValueError, match=message):
        entry.input_fn(body, content_type)


def test_output_fn_is_json():
    result = [{"label": "adverse_event", "score": 0.7, "probabilities": {"adverse_event": 0.7}}]
    assert json.loads(entry.output_fn(result, "application/json")) == result
    with pytest.raises(ValueError, match="accept"):
        entry.output_fn(result, "text/csv")


# -- training entry: arguments and environment ---------------------------------------------------
def test_parse_args_reads_sagemaker_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(tmp_path / "train"))
    monkeypatch.setenv("SM_CHANNEL_EXTRA", str(tmp_path / "extra"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "out"))
    args = entry.parse_args(["--epochs", "2", "--train_batch_size", "8", "--max_seq_length",
                             "64", "--learning_rate", "3e-5", "--model_name", "x",
                             "--text_column", "sentence", "--label_column", "ADR"])
    assert args.data == [str(tmp_path / "extra"), str(tmp_path / "train")]
    assert (args.epochs, args.train_batch_size, args.max_seq_length) == (2, 8, 64)
    assert args.learning_rate == pytest.approx(3e-5)
    assert (args.text_column, args.label_column, args.model_name) == ("sentence", "ADR", "x")
    assert args.model_dir == str(tmp_path / "model")
    assert args.output_data_dir == str(tmp_path / "out")


def test_parse_args_without_data_fails_clearly(monkeypatch, capsys):
    for name in [n for n in __import__("os").environ if n.startswith("SM_CHANNEL_")]:
        monkeypatch.delenv(name)
    with pytest.raises(SystemExit):
        entry.parse_args([])
    assert "no training data" in capsys.readouterr().err


def test_inference_code_imports_the_handlers(tmp_path):
    path = entry.write_inference_code(tmp_path, wheel_dir=tmp_path)
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - our own file
    assert namespace["predict_fn"] is entry.predict_fn and namespace["model_fn"] is entry.model_fn


def test_inference_code_ships_the_wheel_when_there_is_one(tmp_path):
    wheels = tmp_path / "src"
    wheels.mkdir()
    (wheels / "adverse_events-0.1.0-py3-none-any.whl").write_bytes(b"PK")
    entry.write_inference_code(tmp_path / "model", wheel_dir=wheels)
    code = tmp_path / "model" / "code"
    assert (code / "adverse_events-0.1.0-py3-none-any.whl").read_bytes() == b"PK"
    assert (code / "requirements.txt").read_text().splitlines()[0] == (
        "./adverse_events-0.1.0-py3-none-any.whl")
    entry.write_inference_code(tmp_path / "bare", wheel_dir=tmp_path / "none")
    assert (tmp_path / "bare" / "code" / "requirements.txt").read_text().startswith(
        "adverse-events==")


# -- the handlers on a tiny local model (needs torch, transformers, TransformersClassifier) ------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from adverse_events.errors import PluginError
    from adverse_events.registry import get_registry

    try:
        get_registry().resolve("classifier", "transformers")
    except PluginError as exc:
        pytest.skip(f"TransformersClassifier is not available: {exc}")
    from tests.aws.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.mark.parametrize("size", [1, 64])
def test_handlers_return_one_correct_result_per_input(tiny_model, size):
    from tests.aws.tiny_model import CORPUS, reference_scores

    texts = [f"{CORPUS[i % len(CORPUS)]} {i}" for i in range(size)]
    model = entry.model_fn(str(tiny_model))
    body = json.dumps(texts if size > 1 else texts[0]).encode()
    out = json.loads(entry.output_fn(
        entry.predict_fn(entry.input_fn(body, "application/json"), model), "application/json"))
    assert len(out) == size
    expected = reference_scores(tiny_model, texts)
    if size > 1:  # the scores differ, so a shuffled or repeated result would be caught
        assert max(expected) - min(expected) > 0.1
    for result, score in zip(out, expected, strict=True):
        assert result["score"] == pytest.approx(score, abs=1e-4)
        assert result["label"] == ("adverse_event" if score >= 0.6 else "not_adverse_event")
        assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
