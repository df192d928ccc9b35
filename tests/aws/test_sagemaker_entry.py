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
    args = entry.parse_args(
        [
            "--epochs",
            "2",
            "--train_batch_size",
            "8",
            "--max_seq_length",
            "64",
            "--learning_rate",
            "3e-5",
            "--model_name",
            "x",
            "--text_column",
            "sentence",
            "--label_column",
            "ADR",
        ]
    )
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
    # The serving toolkit runs `pip install -r /opt/ml/model/code/requirements.txt` from the
    # container's working directory, and pip reads a relative path from there, not from the
    # file's folder: the wheel is named where SageMaker unpacks the model archive.
    assert (code / "requirements.txt").read_text().splitlines()[0] == (
        "/opt/ml/model/code/adverse_events-0.1.0-py3-none-any.whl"
    )
    entry.write_inference_code(tmp_path / "bare", wheel_dir=tmp_path / "none")
    assert (
        (tmp_path / "bare" / "code" / "requirements.txt").read_text().startswith("adverse-events==")
    )


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


def _check_handlers(model_dir, size, threshold):
    """The four handlers as the inference toolkit chains them: one correct result per input."""
    from tests.aws.tiny_model import CORPUS, reference_scores

    texts = [f"{CORPUS[i % len(CORPUS)]} {i}" for i in range(size)]
    model = entry.model_fn(str(model_dir))
    body = json.dumps(texts if size > 1 else texts[0]).encode()
    out = json.loads(
        entry.output_fn(
            entry.predict_fn(entry.input_fn(body, "application/json"), model), "application/json"
        )
    )
    assert len(out) == size
    expected = reference_scores(model_dir, texts)
    if size > 1:  # the scores differ, so a shuffled or repeated result would be caught
        assert len({f"{s:.3g}" for s in expected}) >= 3, expected
    for result, score in zip(out, expected, strict=True):
        assert result["score"] == pytest.approx(score, rel=1e-3, abs=1e-6)
        assert result["label"] == ("adverse_event" if score >= threshold else "not_adverse_event")
        assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert result["probabilities"]["adverse_event"] == pytest.approx(result["score"])


@pytest.mark.parametrize("size", [1, 64])
def test_handlers_return_one_correct_result_per_input(tiny_model, size):
    _check_handlers(tiny_model, size, threshold=0.6)


# -- the training entry point end to end, on a tiny local base model -----------------------------
AE_TEXTS = [
    "this drug gave me a terrible headache",
    "lexapro made me nauseous and dizzy",
    "I had insomnia and a rash after the first dose",
    "my hair started falling out",
    "zoloft gave me awful brain zaps",
]
OK_TEXTS = [
    "feeling great on my new medication",
    "zoloft helped my anxiety a lot",
    "no side effects so far, sleeping well",
    "the pharmacy was out of stock again",
    "I take it every morning with breakfast",
]


def _write_channel(directory, groups=20):
    """A SageMaker channel directory: one CSV with custom column names, and a stray file."""
    import csv

    directory.mkdir(parents=True)
    with (directory / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["post_id", "sentence", "ADR"])
        writer.writeheader()
        for g in range(groups):
            for k in range(3):
                positive = (g + k) % 2 == 0
                pool = AE_TEXTS if positive else OK_TEXTS
                writer.writerow(
                    {
                        "post_id": f"p{g}",
                        "ADR": "yes" if positive else "no",
                        "sentence": f"{pool[(g + k) % len(pool)]} (post {g}, {k})",
                    }
                )
    (directory / "README.txt").write_text("not data: the entry point must skip this file")


def test_data_files_expands_channel_directories(tmp_path):
    channel = tmp_path / "train"
    _write_channel(channel, groups=1)
    (channel / "part" / ".hidden").mkdir(parents=True)
    (channel / "part" / "more.jsonl").write_text("{}\n")
    (channel / "part" / ".hidden" / "x.csv").write_text("a\n")
    ade = tmp_path / "ade"
    ade.mkdir()
    (ade / "DRUG-AE.rel").write_text("")
    assert entry.data_files([str(channel), str(ade), "hf:ade_corpus_v2"]) == [
        str(channel / "part" / "more.jsonl"),
        str(channel / "posts.csv"),
        str(ade),
        "hf:ade_corpus_v2",
    ]


@pytest.mark.slow
def test_training_entry_point_end_to_end(tiny_model, tmp_path, monkeypatch, capsys):
    """What a SageMaker training job runs: channel + model dir from the environment,
    hyperparameters as arguments; the model directory it writes serves through the handlers.
    The base model is the tiny one with widely spread initial scores, so that the fine-tuned
    model still gives every text its own score (a shuffled answer would be caught)."""
    base_model = tiny_model
    import importlib.util
    import re
    from pathlib import Path

    from adverse_events.model_dir import read_model_info

    for name in [n for n in __import__("os").environ if n.startswith("SM_")]:
        monkeypatch.delenv(name)
    _write_channel(tmp_path / "input" / "data" / "train")
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(tmp_path / "input" / "data" / "train"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "output"))
    monkeypatch.chdir(tmp_path)  # the job's code directory (no wheel here)

    code = entry.main(
        [
            "--model_name",
            str(base_model),
            "--text_column",
            "sentence",
            "--label_column",
            "ADR",
            "--epochs",
            "2",
            "--train_batch_size",
            "8",
            "--max_seq_length",
            "48",
            "--learning_rate",
            "0.001",
            "--test_size",
            "0.25",
            "--validation_size",
            "0.25",
            "--device",
            "cpu",
            "--sagemaker_region",
            "ignored",
        ]
    )  # SageMaker adds parameters of its own
    assert code == 0
    model_dir = tmp_path / "model"
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "adverse_events.json",
        "metrics.json",
        "code/inference.py",
        "code/requirements.txt",
    ):
        assert (model_dir / name).is_file(), name
    assert not (model_dir / "checkpoints").exists()
    info = read_model_info(model_dir)
    settings = info.data["settings"]
    assert (settings["epochs"], settings["batch_size"], settings["max_seq_length"]) == (2, 8, 48)
    assert settings["learning_rate"] == pytest.approx(1e-3)
    assert info.data["model"] == str(base_model)
    assert info.labels == ["not_adverse_event", "adverse_event"]

    metrics = json.loads((tmp_path / "output" / "metrics.json").read_text())
    assert metrics == json.loads((model_dir / "metrics.json").read_text())
    assert metrics["test"]["examples"] + metrics["validation"]["examples"] < 60  # held out
    assert 0.0 <= metrics["test"]["f1"] <= 1.0 and metrics["threshold_rule"] == "best F1"
    log = capsys.readouterr().out
    spec = importlib.util.spec_from_file_location(
        "deploy_sagemaker", Path(__file__).resolve().parents[2] / "examples" / "deploy_sagemaker.py"
    )
    deploy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deploy)
    for definition in deploy.metric_definitions():  # what SageMaker scrapes from the log
        found = re.search(definition["Regex"], log)
        assert found, f"{definition['Name']} not in the training log"
        part, _, name = definition["Name"].partition("_")
        assert float(found.group(1)) == pytest.approx(metrics[part][name])

    for size in (1, 64):
        _check_handlers(model_dir, size, threshold=info.threshold)


def test_model_options_from_the_container_environment():
    from adverse_events.errors import ConfigError

    assert entry.model_options({}) == {"precision": "fp32"}  # the threshold's own precision
    assert entry.model_options(
        {
            "AE_PRECISION": "auto",
            "AE_BATCH_SIZE": "128",
            "AE_DEVICE": "cpu",
            "AE_THRESHOLD": "0.7",
            "AE_MAX_LENGTH": " ",
            "OTHER": "x",
        }
    ) == {"precision": "auto", "batch_size": 128, "device": "cpu", "threshold": 0.7}
    with pytest.raises(ConfigError, match="AE_BATCH_SIZE"):
        entry.model_options({"AE_BATCH_SIZE": "many"})


def test_model_fn_applies_the_environment(tiny_model, monkeypatch):
    monkeypatch.setenv("AE_THRESHOLD", "0.0")
    monkeypatch.setenv("AE_DEVICE", "cpu")
    model = entry.model_fn(str(tiny_model))
    assert {r["label"] for r in entry.predict_fn(["a", "b c"], model)} == {"adverse_event"}


def test_parse_args_skips_the_sdk_v3_channels(monkeypatch, tmp_path):
    # ModelTrainer mounts the source (`code`) and its drivers (`sm_drivers`) as channels of
    # every job: read as training data, the drivers' JSON files would become posts.
    for name in [n for n in __import__("os").environ if n.startswith("SM_CHANNEL_")]:
        monkeypatch.delenv(name)
    for channel in ("TRAIN", "CODE", "SM_DRIVERS"):
        monkeypatch.setenv(f"SM_CHANNEL_{channel}", str(tmp_path / channel.lower()))
    assert entry.parse_args([]).data == [str(tmp_path / "train")]


# -- the handlers on a TF-IDF model directory (the default model where torch is absent) ---------
@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    pytest.importorskip("sklearn")
    from tests.aws.tiny_model import write_tfidf_model

    return write_tfidf_model(tmp_path_factory.mktemp("tfidf-model"))


def test_handlers_serve_a_tfidf_model(tfidf_model, monkeypatch):
    from adverse_events.classifiers.tfidf import TfidfClassifier

    texts = [
        "since starting zoloft I keep getting headaches",
        "my garden is lovely",
        "lexapro gave me a rash and nausea",
    ]
    model = entry.model_fn(str(tfidf_model))
    assert isinstance(model, TfidfClassifier)
    body = json.dumps(texts).encode()  # what SageMakerClassifier sends
    out = json.loads(
        entry.output_fn(
            entry.predict_fn(entry.input_fn(body, "application/json"), model), "application/json"
        )
    )
    with TfidfClassifier(tfidf_model) as reference:
        expected = reference.classify(texts)
    assert [r["score"] for r in out] == pytest.approx([p.score for p in expected])
    assert [r["label"] for r in out] == [p.label for p in expected]
    # Of the container's settings, a TF-IDF model takes the threshold (and batch size) only.
    monkeypatch.setenv("AE_THRESHOLD", "0.0")
    monkeypatch.setenv("AE_PRECISION", "auto")
    monkeypatch.setenv("AE_BATCH_SIZE", "2")
    model = entry.model_fn(str(tfidf_model))
    assert (model.threshold, model.batch_size) == (0.0, 2)
    assert {r["label"] for r in entry.predict_fn(texts, model)} == {"adverse_event"}


def test_training_entry_point_trains_a_tfidf_model(tmp_path, monkeypatch, capsys):
    """``--model_name tfidf``: a CPU-only job (the transformer hyperparameters do not apply)."""
    pytest.importorskip("sklearn")
    from adverse_events.model_dir import read_model_info

    for name in [n for n in __import__("os").environ if n.startswith("SM_")]:
        monkeypatch.delenv(name)
    import csv

    from adverse_events.testing.tiny_models import synthetic_texts

    (tmp_path / "train").mkdir()
    with (tmp_path / "train" / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "ADR"])
        writer.writerows(zip(*synthetic_texts(120), strict=True))
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(tmp_path / "train"))
    monkeypatch.chdir(tmp_path)
    code = entry.main(
        [
            "--model_name",
            "tfidf",
            "--text_column",
            "sentence",
            "--label_column",
            "ADR",
            "--epochs",
            "3",
            "--learning_rate",
            "5e-05",
            "--model_dir",
            str(tmp_path / "model"),
            "--output_data_dir",
            str(tmp_path / "output"),
        ]
    )
    assert code == 0
    assert read_model_info(tmp_path / "model").kind == "tfidf"
    assert (tmp_path / "model" / "code" / "inference.py").is_file()
    assert "test_f1=" in capsys.readouterr().out
    model = entry.model_fn(str(tmp_path / "model"))
    assert len(entry.predict_fn(AE_TEXTS + OK_TEXTS, model)) == 10
