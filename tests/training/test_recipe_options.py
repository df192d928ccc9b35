"""The fine-tuning options the transfer recipe search added: mean pooling, layer-wise
learning-rate decay, frozen embeddings (tiny local model, a couple of steps each)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from adverse_events.classifiers.transformers import TransformersClassifier  # noqa: E402
from adverse_events.classifiers.transformers.pooling import (  # noqa: E402
    CONFIG_KEY,
    MeanPooled,
    pooling_of,
    wrap,
)
from adverse_events.errors import ConfigError  # noqa: E402
from adverse_events.model_dir import ModelInfo, write_model_info  # noqa: E402
from adverse_events.testing.tiny_models import LABELS, make_tiny_transformer  # noqa: E402
from adverse_events.training.datasets import Dataset, Example  # noqa: E402
from adverse_events.training.transformers import (  # noqa: E402
    TransformerOptions,
    _depth,
    _layerwise_optimizer,
    fine_tune,
)

from .conftest import AE, OK  # noqa: E402

pytestmark = pytest.mark.integration
TEXTS = ["I got a rash", "I take it with food", "dizzy and sick all week", "works fine"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_transformer(tmp_path_factory.mktemp("tiny"), AE + OK)


def _data() -> Dataset:
    examples = [
        Example(t, LABELS[1] if t in AE else LABELS[0], f"g{i}", "s", str(i))
        for i, t in enumerate(AE + OK)
    ]
    return Dataset(examples, list(LABELS), LABELS[1], [])


def _fine_tune(tiny: Path, out: Path, **options: object) -> object:
    opts = TransformerOptions(
        max_steps=2,
        batch_size=8,
        learning_rate=1e-3,
        progress=False,
        device="cpu",
        early_stopping_patience=None,
        **options,
    )  # type: ignore[arg-type]
    data = _data()
    scorer = fine_tune(str(tiny), data, data.subset(range(0, len(data), 3)), out, opts)
    write_model_info(
        out, ModelInfo(kind="transformers", labels=list(LABELS), positive_label=LABELS[1])
    )
    return scorer


def _scores(model_dir: Path, cache: Path, **options: object) -> np.ndarray:
    with TransformersClassifier(
        str(model_dir), device="cpu", cache_dir=cache, **options
    ) as classifier:  # type: ignore[arg-type]
        return np.asarray([p.score for p in classifier.classify(TEXTS)])


@pytest.mark.slow
def test_mean_pooling_is_saved_and_served_by_torch_and_onnx(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "mean"
    scorer = _fine_tune(tiny, out, pooling="mean")
    assert json.loads((out / "config.json").read_text())[CONFIG_KEY] == "mean"
    trained = scorer(TEXTS)  # type: ignore[operator]
    served = _scores(out, tmp_path / "cache", precision="fp32", runtime="torch")
    np.testing.assert_allclose(served, trained, atol=1e-5)
    pytest.importorskip("onnxruntime")
    onnx = _scores(out, tmp_path / "cache", precision="fp32", runtime="onnxruntime")
    np.testing.assert_allclose(onnx, trained, atol=1e-4)
    # the same weights read through the first-token head give other scores: the key matters
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, CONFIG_KEY: "cls"}))
    first_token = _scores(out, tmp_path / "cache", precision="fp32", runtime="torch")
    assert np.abs(first_token - trained).max() > 1e-3


def test_frozen_embeddings_stay_as_pretrained(tiny: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    _fine_tune(tiny, tmp_path / "frozen", freeze_embeddings=True)
    before, after = (
        load_file(tiny / "model.safetensors"),
        load_file(tmp_path / "frozen" / "model.safetensors"),
    )
    embeddings = [k for k in before if ".embeddings." in f".{k}"]
    assert embeddings
    for key in embeddings:
        np.testing.assert_array_equal(before[key], after[key])
    moved = [
        k
        for k in before
        if k not in embeddings and k in after and not np.array_equal(before[k], after[k])
    ]
    assert moved


def test_layerwise_decay_scales_each_layer_below_the_head(tiny: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny)
    layers = model.config.n_layers
    opts = TransformerOptions(learning_rate=1e-3, layer_lr_decay=0.5)
    optimizer = _layerwise_optimizer(model, opts, torch)
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    named = dict(model.named_parameters())
    word = named["distilbert.embeddings.word_embeddings.weight"]
    assert lr_of[id(word)] == pytest.approx(1e-3 * 0.5 ** (layers + 1))
    first = named["distilbert.transformer.layer.0.attention.q_lin.weight"]
    assert lr_of[id(first)] == pytest.approx(1e-3 * 0.5**layers)
    assert lr_of[id(named["classifier.weight"])] == pytest.approx(1e-3)
    decay_of = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert decay_of[id(named["classifier.bias"])] == 0.0
    assert decay_of[id(named["classifier.weight"])] == opts.weight_decay
    assert len(lr_of) == sum(1 for _ in model.parameters())


@pytest.mark.parametrize(
    ("name", "depth"),
    [
        ("bert.embeddings.word_embeddings.weight", 0),
        ("bert.encoder.layer.0.attention.self.query.weight", 1),
        ("bert.encoder.layer.5.output.dense.bias", 6),
        ("bert.pooler.dense.weight", 7),
        ("classifier.weight", 7),
    ],
)
def test_depth_of_a_parameter(name: str, depth: int) -> None:
    assert _depth(name, 6) == depth


def test_layer_lr_decay_out_of_range_is_a_config_error(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="layer_lr_decay"):
        _fine_tune(tiny, tmp_path / "bad", layer_lr_decay=1.5)


def test_unknown_pooling_is_a_config_error(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pooling must be one of"):
        _fine_tune(tiny, tmp_path / "bad", pooling="max")
    with pytest.raises(ConfigError, match=CONFIG_KEY):
        pooling_of(SimpleNamespace(**{CONFIG_KEY: "max"}))


def test_mean_pooling_needs_a_linear_head() -> None:
    odd = SimpleNamespace(
        classifier=torch.nn.Sequential(torch.nn.Linear(4, 2)),
        config=SimpleNamespace(hidden_size=4, **{CONFIG_KEY: "mean"}),
    )
    with pytest.raises(ConfigError, match="one linear layer"):
        wrap(odd)
    plain = SimpleNamespace(config=SimpleNamespace())
    assert wrap(plain) is plain and pooling_of(plain.config) == "cls"
    assert issubclass(MeanPooled, torch.nn.Module)
