"""TransformersClassifier on a tiny DistilBERT built and trained locally (no download)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from adverse_events.classifiers.transformers import TransformersClassifier  # noqa: E402
from adverse_events.errors import ConfigError, InputError  # noqa: E402
from adverse_events.registry import get_registry  # noqa: E402
from adverse_events.testing import ClassifierConformance  # noqa: E402
from adverse_events.testing.tiny_models import (  # noqa: E402
    LABELS,
    build_classifier_dir,
    synthetic_texts,
)

HAS_ORT = all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx"))
needs_ort = pytest.mark.skipif(not HAS_ORT, reason="onnxruntime is not installed")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")

TEXTS, LABEL_IDS = synthetic_texts(120, seed=1)
SAMPLE = [
    "since starting zoloft I keep getting a rash it was a long week.",
    "since starting aspirin I keep talking about my garden.",
    "ok",
    "since starting metformin I get nausea every day and honestly and honestly and honestly "
    "it was a long week.",
    "",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "model"
    return build_classifier_dir(out, TEXTS, LABEL_IDS, steps=60, lr=1e-3, seed=0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def make(model_dir: Path, cache: Path, **options: object) -> TransformersClassifier:
    options.setdefault("runtime", "torch")
    return TransformersClassifier(model_dir, cache_dir=cache, **options)  # type: ignore[arg-type]


class TestTorchConformance(ClassifierConformance):
    @pytest.fixture
    def classifier(self, model_dir: Path, cache: Path) -> TransformersClassifier:
        return make(model_dir, cache, precision="fp32")

    @pytest.fixture
    def texts(self) -> list[str]:
        return SAMPLE


@needs_ort
class TestOnnxRuntimeConformance(TestTorchConformance):
    # fp32: dynamic int8 scales activations per batch, so an int8 score moves by up to ~0.03
    # with the batch a text is in (beyond the suite's 1e-3); int8 labels are tested below.
    @pytest.fixture
    def classifier(self, model_dir: Path, cache: Path) -> TransformersClassifier:
        return make(model_dir, cache, precision="fp32", runtime="onnxruntime")


@pytest.mark.parametrize(("precision", "runtime"), [("int8", "torch"), ("int8", "onnxruntime")])
def test_int8_labels_do_not_depend_on_the_batch(
    model_dir: Path, cache: Path, precision: str, runtime: str
) -> None:
    if runtime == "onnxruntime" and not HAS_ORT:
        pytest.skip("onnxruntime is not installed")
    clf = make(model_dir, cache, precision=precision, runtime=runtime)
    together = clf.classify(TEXTS[:30])
    alone = [clf.classify([t])[0] for t in TEXTS[:30]]
    assert [p.label for p in together] == [p.label for p in alone]
    assert [p.score for p in together] == pytest.approx([p.score for p in alone], abs=0.05)


def test_registered_as_transformers() -> None:
    assert get_registry().resolve("classifier", "transformers") is TransformersClassifier


def test_model_is_trained(model_dir: Path, cache: Path) -> None:
    predictions = make(model_dir, cache, precision="fp32").classify(TEXTS)
    right = sum(p.is_adverse_event == bool(y) for p, y in zip(predictions, LABEL_IDS, strict=True))
    assert right / len(TEXTS) >= 0.9
    scores = [p.score for p in predictions]
    assert max(scores) - min(scores) > 0.1, "probabilities are not all ~0.5"


def test_reads_model_info(model_dir: Path, cache: Path) -> None:
    clf = make(model_dir, cache)
    assert clf.labels == LABELS and clf.positive_label == "adverse_event"
    assert clf.threshold == 0.5
    assert make(model_dir, cache, threshold=0.9).threshold == 0.9
    prediction = make(model_dir, cache, threshold=0.0).classify(["hello"])[0]
    assert prediction.is_adverse_event and prediction.label == "adverse_event"


def test_plain_hf_model_without_info_file(model_dir: Path, cache: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for file in model_dir.iterdir():
        if file.name != "adverse_events.json":
            (plain / file.name).write_bytes(file.read_bytes())
    clf = make(plain, cache, precision="fp32")
    assert clf.labels == LABELS and clf.positive_label == LABELS[-1] and clf.threshold == 0.5
    ours = make(model_dir, cache, precision="fp32").classify(SAMPLE)
    assert [p.score for p in clf.classify(SAMPLE)] == pytest.approx([p.score for p in ours])


def test_order_preserved_under_length_sorting(model_dir: Path, cache: Path) -> None:
    texts = TEXTS[:40] + SAMPLE
    clf = make(model_dir, cache, precision="fp32", batch_size=4, token_budget=64)
    together = clf.classify(texts)
    assert clf.stats.batches > len(texts) // 4  # many small batches, sorted by length
    alone = [make(model_dir, cache, precision="fp32").classify([t])[0] for t in texts]
    assert [p.score for p in together] == pytest.approx([p.score for p in alone], abs=1e-4)


def test_token_budget_bounds_padded_tokens(model_dir: Path, cache: Path) -> None:
    clf = make(model_dir, cache, batch_size=64, token_budget=100)
    clf.open()
    ids = clf._encode(TEXTS + ["word " * 40])
    batches = list(clf._batches(ids))
    assert sorted(i for rows, _ in batches for i in rows) == list(range(len(ids)))
    for rows, batch in batches:
        assert batch["input_ids"].size <= 100 or len(rows) == 1
        assert batch["attention_mask"].sum() == sum(len(ids[i]) for i in rows)


@pytest.mark.parametrize(
    ("precision", "runtime"),
    [
        ("bf16", "torch"),
        ("fp16", "torch"),
        ("int8", "torch"),
        ("auto", "auto"),
        pytest.param("fp32", "onnxruntime", marks=needs_ort),
        pytest.param("int8", "onnxruntime", marks=needs_ort),
    ],
)
def test_precisions_agree_with_fp32(
    model_dir: Path, cache: Path, precision: str, runtime: str
) -> None:
    reference = make(model_dir, cache, precision="fp32").classify(TEXTS)
    clf = make(model_dir, cache, precision=precision, runtime=runtime)
    other = clf.classify(TEXTS)
    assert [p.label for p in other] == [p.label for p in reference]
    diff = max(abs(a.score - b.score) for a, b in zip(other, reference, strict=True))
    assert diff < 0.05, clf.resolved


def test_auto_resolves_on_cpu(model_dir: Path, cache: Path) -> None:
    resolved = make(model_dir, cache, device="cpu", precision="auto", runtime="auto").resolved
    assert resolved["device"] == "cpu"
    assert resolved["precision"] in ("int8", "bf16")
    assert resolved["runtime"] == ("onnxruntime" if HAS_ORT else "torch")


@needs_ort
def test_onnx_export_is_cached(model_dir: Path, tmp_path: Path) -> None:
    make(model_dir, tmp_path, precision="fp32", runtime="onnxruntime").open()
    files = list((tmp_path / "onnx").rglob("*.onnx"))
    assert [f.name for f in files] == ["model.fp32.onnx"]
    stamp = files[0].stat().st_mtime_ns
    make(model_dir, tmp_path, precision="fp32", runtime="onnxruntime").open()
    assert files[0].stat().st_mtime_ns == stamp


@pytest.mark.parametrize("truncation", ["head", "head+tail"])
def test_truncation_is_explicit_and_counted(model_dir: Path, cache: Path, truncation: str) -> None:
    clf = make(model_dir, cache, max_length=12, truncation=truncation)
    long = "since starting zoloft I get a rash every day and then tremors at night"
    predictions = clf.classify(["ok", long, "fine"])
    assert clf.truncated == 1 and len(predictions) == 3
    ids = clf._encode([long])
    assert len(ids[0]) == 12 and clf.truncated == 2
    words = clf._tokenizer.decode(ids[0], skip_special_tokens=True).split()
    assert words[0] == "since"
    assert (words[-1] == "night") == (truncation == "head+tail")


def test_bad_options_are_config_errors(model_dir: Path) -> None:
    for options in (
        {"precision": "int4"},
        {"truncation": "tail"},
        {"runtime": "tensorrt"},
        {"device": "tpu"},
        {"batch_size": 0},
        {"threshold": 1.5},
        {"device": "cuda", "precision": "int8"},
    ):
        with pytest.raises(ConfigError):
            TransformersClassifier(model_dir, **options)  # type: ignore[arg-type]


def test_missing_model_is_config_error(tmp_path: Path) -> None:
    clf = TransformersClassifier(tmp_path / "nope", runtime="torch")
    with pytest.raises(ConfigError):
        clf.classify(["text"])


def test_non_text_is_input_error(model_dir: Path, cache: Path) -> None:
    with pytest.raises(InputError):
        make(model_dir, cache).classify(["ok", None])  # type: ignore[list-item]


def test_cuda_asked_without_cuda_is_config_error(model_dir: Path, cache: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError):
        make(model_dir, cache, device="cuda", precision="bf16").classify(["ok"])


def test_info_file_names_fields(model_dir: Path) -> None:
    info = json.loads((model_dir / "adverse_events.json").read_text())
    for key in (
        "kind",
        "labels",
        "positive_label",
        "threshold",
        "metrics",
        "data",
        "split",
        "library_version",
        "created_at",
    ):
        assert key in info


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("precision", ["auto", "bf16", "fp16", "fp32"])
def test_gpu_agrees_with_cpu(model_dir: Path, cache: Path, precision: str) -> None:
    reference = make(model_dir, cache, device="cpu", precision="fp32").classify(TEXTS)
    gpu = make(model_dir, cache, device="cuda", precision=precision)
    assert gpu.resolved["device"].startswith("cuda")
    got = gpu.classify(TEXTS)
    assert [p.label for p in got] == [p.label for p in reference]


@pytest.mark.gpu
@needs_cuda
def test_model_saved_on_gpu_loads_on_cpu(model_dir: Path, cache: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).to("cuda")
    model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(tmp_path)
    (tmp_path / "adverse_events.json").write_bytes((model_dir / "adverse_events.json").read_bytes())
    cpu = make(tmp_path, cache, device="cpu", precision="fp32").classify(SAMPLE)
    ref = make(model_dir, cache, device="cpu", precision="fp32").classify(SAMPLE)
    assert [p.score for p in cpu] == pytest.approx([p.score for p in ref], abs=1e-5)
