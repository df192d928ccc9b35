"""Multi-task fine-tuning on auxiliary labels (tiny local model, a few steps): the labels load
from files, the extra head trains and is dropped at save, examples without them still train."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from adverse_events.classifiers.transformers import TransformersClassifier  # noqa: E402
from adverse_events.classifiers.transformers.pooling import MeanPooled  # noqa: E402
from adverse_events.errors import ConfigError  # noqa: E402
from adverse_events.model_dir import ModelInfo, write_model_info  # noqa: E402
from adverse_events.testing.tiny_models import LABELS, make_tiny_transformer  # noqa: E402
from adverse_events.training.datasets import Dataset, Example, load_file  # noqa: E402
from adverse_events.training.multitask import (  # noqa: E402
    MISSING,
    MultiTask,
    auxiliary_names,
    auxiliary_targets,
)
from adverse_events.training.transformers import TransformerOptions, fine_tune  # noqa: E402
from adverse_events.training.workflow import load_data  # noqa: E402

from .conftest import AE, OK  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_transformer(tmp_path_factory.mktemp("tiny"), AE + OK)


def _csv(path: Path, rows: list[tuple[str, int, object, object]]) -> Path:
    lines = ["post_id,text,ADR,WD,EF"] + [
        f'p{i},"{text}",{adr},{wd},{ef}' for i, (text, adr, wd, ef) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_auxiliary_columns_load_as_pairs_and_bad_values_are_reported(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "s.csv",
        [("I got a rash", 1, 0, 0), ("it worked", 0, 0, 1), ("odd row", 0, "maybe", 0)],
    )
    examples, report = load_file(path, label_column="ADR", auxiliary_columns=("WD", "EF"))
    assert [e.auxiliary for e in examples] == [(("WD", 0), ("EF", 0)), (("WD", 0), ("EF", 1))]
    assert report.rejected == {"bad auxiliary label": 1}
    plain, _ = load_file(path, label_column="ADR")
    assert all(e.auxiliary == () for e in plain)
    with pytest.raises(ConfigError, match=r"\['XX'\] not found"):
        load_data([path], label_column="ADR", auxiliary_columns=["XX"])


def test_targets_mark_missing_labels() -> None:
    examples = [
        Example("a", LABELS[1], "g", "s", "1", (("WD", 1), ("EF", 0))),
        Example("b", LABELS[0], "g", "ade", "2"),
    ]
    names = auxiliary_names(examples)
    assert names == ["WD", "EF"]
    np.testing.assert_array_equal(
        auxiliary_targets(examples, names), [[1.0, 0.0], [MISSING, MISSING]]
    )


def _data(with_auxiliary: bool) -> Dataset:
    examples = []
    for i, text in enumerate(AE + OK):
        label = LABELS[1] if text in AE else LABELS[0]
        auxiliary = (("EF", int(text in OK)),) if with_auxiliary and i % 2 == 0 else ()
        examples.append(Example(text, label, f"g{i}", "s", str(i), auxiliary))
    return Dataset(examples, list(LABELS), LABELS[1], [])


@pytest.mark.parametrize("class_weighting", [True, False])
def test_multitask_trains_the_extra_head_and_saves_a_single_task_model(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, class_weighting: bool
) -> None:
    from adverse_events.training import multitask

    losses: list[float] = []
    bce = multitask._masked_bce

    def spy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = bce(logits, targets)
        losses.append(float(loss.detach()))
        return loss

    monkeypatch.setattr(multitask, "_masked_bce", spy)
    data, out = _data(with_auxiliary=True), tmp_path / "model"
    options = TransformerOptions(
        max_steps=3,
        batch_size=8,
        learning_rate=1e-3,
        progress=False,
        device="cpu",
        early_stopping_patience=None,
        pooling="mean",
        class_weighting=class_weighting,
    )
    scorer = fine_tune(str(tiny), data, data.subset(range(0, len(data), 3)), out, options)
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    from safetensors.numpy import load_file as load_weights

    weights = load_weights(out / "model.safetensors")
    assert weights["classifier.weight"].shape[0] == 2
    assert not [k for k in weights if k.startswith("head.")]
    assert len(json.loads((out / "config.json").read_text())["id2label"]) == 2
    write_model_info(
        out, ModelInfo(kind="transformers", labels=list(LABELS), positive_label=LABELS[1])
    )
    with TransformersClassifier(
        str(out), device="cpu", precision="fp32", runtime="torch"
    ) as classifier:
        served = [p.score for p in classifier.classify(AE + OK)]
    np.testing.assert_allclose(served, scorer(AE + OK), atol=1e-5)
    # the auxiliary loss reaches the optimiser: the same run without it ends elsewhere
    single = tmp_path / "single"
    fine_tune(
        str(tiny),
        data,
        data.subset(range(0, len(data), 3)),
        single,
        replace(options, auxiliary_weight=0.0),
    )
    other = load_weights(single / "model.safetensors")
    assert not np.allclose(other["classifier.weight"], weights["classifier.weight"])


def test_auxiliary_weight_zero_or_no_labels_trains_single_task(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    monkeypatch.setattr(
        MultiTask, "__init__", lambda self, *a, **k: built.append(1) or None, raising=True
    )
    options = TransformerOptions(
        max_steps=1, progress=False, device="cpu", early_stopping_patience=None, pooling="mean"
    )
    data = _data(with_auxiliary=True)
    zero = replace(options, auxiliary_weight=0.0)
    fine_tune(str(tiny), data, data, tmp_path / "zero", zero)
    plain = _data(with_auxiliary=False)
    fine_tune(str(tiny), plain, plain, tmp_path / "plain", options)
    assert built == []


def test_multitask_needs_mean_pooling_and_a_non_negative_weight(tiny: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny)
    with pytest.raises(ConfigError, match="pooling 'mean'"):
        MultiTask(model, 2, 1.0)
    with pytest.raises(ConfigError, match="auxiliary_weight"):
        MultiTask(MeanPooled(model), 2, -1.0)


def test_a_batch_without_auxiliary_targets_adds_zero(tiny: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    model = MultiTask(MeanPooled(AutoModelForSequenceClassification.from_pretrained(tiny)), 1, 1.0)
    ids = torch.tensor([[1, 2, 3]])
    missing = torch.tensor([[MISSING]])
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), auxiliary_targets=missing)
    assert float(out["auxiliary_loss"].detach()) == 0.0
    model.eval()
    assert "auxiliary_loss" not in model(input_ids=ids, auxiliary_targets=torch.tensor([[1.0]]))


def test_cli_trains_a_multitask_model_and_refuses_it_for_tfidf(tiny: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from adverse_events.cli import app

    rows = [(t, 1, 0, 0) for t in AE] + [(t, 0, 0, 1) for t in OK]
    path = _csv(tmp_path / "s.csv", rows * 3)
    common = ["train", str(path), "--label-column", "ADR", "--auxiliary-columns", "WD,EF"]
    refused = CliRunner().invoke(
        app, [*common, "--model", "tfidf", "--output", str(tmp_path / "t")]
    )
    assert refused.exit_code == 2
    assert "--auxiliary-columns is a transformers option" in refused.output
    out = tmp_path / "mt"
    result = CliRunner().invoke(
        app,
        [*common, "--model", str(tiny), "--output", str(out), "--pooling", "mean", "--epochs", "1"],
    )
    assert result.exit_code == 0, result.output
    info = json.loads((out / "adverse_events.json").read_text())
    assert info["data"]["settings"]["auxiliary_weight"] == 1.0
    assert info["data"]["auxiliary_positives"] == {"WD": 0, "EF": 3 * len(OK)}
