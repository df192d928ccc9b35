"""The shipped default encoder recipe: `train_default_encoder` on all the data it is given,
and ``adverse-events train --recipe default``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adverse_events.cli import app
from adverse_events.errors import ConfigError
from adverse_events.training.recipes import (
    DEFAULT_ENCODER_RECIPE,
    EncoderRecipe,
    all_data_split,
    train_with_recipe,
    transformer_options,
)
from adverse_events.training.transformers import TransformerOptions
from adverse_events.training.workflow import load_data

pytestmark = pytest.mark.integration
MINILM = Path(__file__).resolve().parents[2] / ".." / "shared" / "models" / "all-MiniLM-L6-v2"


def test_all_data_split_trains_on_everything_but_a_grouped_validation_part(
    csv_file: Path,
) -> None:
    data = load_data([csv_file])
    split = all_data_split(data, 0.25, seed=3)
    assert split.test == [] and split.validation and split.train
    assert not set(split.train) & set(split.validation)
    kept = len(data) - sum(split.removed.values())
    assert len(split.train) + len(split.validation) == kept
    groups = {data.examples[i].group for i in split.validation}
    assert not groups & {data.examples[i].group for i in split.train}


def test_recipe_options_replace_the_seed_and_describe_leaves_run_settings_out() -> None:
    options = DEFAULT_ENCODER_RECIPE.transformer_options(7)
    assert options["seed"] == 7 and options["progress"] is False
    TransformerOptions(**options)  # every key is a real option
    described = DEFAULT_ENCODER_RECIPE.describe()
    assert described["name"] == DEFAULT_ENCODER_RECIPE.name
    assert not {"seed", "progress", "device"} & set(described["options"])


def test_cli_recipe_default_then_flags_override() -> None:
    options = transformer_options("some/encoder", "default", {"epochs": 2.0, "pooling": None})
    assert options["epochs"] == 2.0
    assert options["pooling"] == DEFAULT_ENCODER_RECIPE.options.pooling
    assert options["learning_rate"] == DEFAULT_ENCODER_RECIPE.options.learning_rate
    assert transformer_options("some/encoder", None, {"epochs": None}) == {}
    with pytest.raises(ConfigError, match="--recipe must be 'default'"):
        transformer_options("some/encoder", "fancy", {})
    with pytest.raises(ConfigError, match="--layer-lr-decay is a transformers option"):
        transformer_options("tfidf", None, {"layer_lr_decay": 0.9})


def test_cli_refuses_encoder_flags_for_tfidf(csv_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(csv_file),
            "--model",
            "tfidf",
            "--output",
            str(tmp_path / "m"),
            "--pooling",
            "mean",
        ],
    )
    assert result.exit_code == 2
    assert "--pooling is a transformers option" in result.output


def test_train_with_recipe_trains_and_cross_validates_tfidf(tmp_path: Path) -> None:
    from .conftest import rows

    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(40)), encoding="utf-8")
    data = load_data([path])
    result, cv = train_with_recipe(data, "tfidf", tmp_path / "m", cross_fit=0, seed=3)
    assert cv is None and (result.output / "metrics.json").is_file()
    assert not (result.output / "cv.json").exists()
    result, cv = train_with_recipe(data, "tfidf", tmp_path / "cv", cross_fit=0, folds=2)
    assert cv is not None and cv["folds"] == 2 and len(cv["per_fold"]) == 2
    assert json.loads((result.output / "cv.json").read_text())["folds"] == 2


@pytest.mark.parametrize("folds", [1, -1])
def test_train_with_recipe_refuses_one_fold(csv_file: Path, tmp_path: Path, folds: int) -> None:
    with pytest.raises(ConfigError, match="--folds must be 0 .off. or at least 2"):
        train_with_recipe(load_data([csv_file]), "tfidf", tmp_path / "m", folds=folds)
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_train_default_encoder_writes_a_loadable_model_dir(csv_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from adverse_events.classifiers.transformers import TransformersClassifier
    from adverse_events.testing.tiny_models import make_tiny_transformer
    from adverse_events.training.recipes import train_default_encoder

    from .conftest import AE, OK

    base = make_tiny_transformer(tmp_path / "tiny", AE + OK)
    quick = EncoderRecipe(
        "quick",
        replace(DEFAULT_ENCODER_RECIPE.options, max_steps=2, batch_size=8),
        validation_size=0.25,
    )
    data = load_data([csv_file])
    result = train_default_encoder(
        data, tmp_path / "model", str(base), seed=1, recipe=quick, device="cpu"
    )
    info = json.loads((result.output / "adverse_events.json").read_text())
    assert info["recipe"]["name"] == "quick" and info["recipe"]["options"]["max_steps"] == 2
    assert set(info["metrics"]) == {"validation"}
    assert info["split"]["parts"]["test"]["examples"] == 0
    config = json.loads((result.output / "config.json").read_text())
    assert config["adverse_events_pooling"] == DEFAULT_ENCODER_RECIPE.options.pooling
    with TransformersClassifier(str(result.output), device="cpu") as classifier:
        predictions = classifier.classify(["I got a rash", "I take it with food"])
    assert [p.is_adverse_event for p in predictions] == [
        p.score >= info["threshold"] for p in predictions
    ]


@pytest.mark.slow
@pytest.mark.skipif(not MINILM.is_dir(), reason="needs ../shared/models/all-MiniLM-L6-v2")
def test_default_recipe_on_minilm_learns_the_fixture(csv_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from adverse_events.classifiers.transformers import TransformersClassifier
    from adverse_events.training.recipes import train_default_encoder

    quick = replace(  # the fixture has no auxiliary labels: the main task only
        DEFAULT_ENCODER_RECIPE,
        options=replace(DEFAULT_ENCODER_RECIPE.options, epochs=3.0, batch_size=8),
        validation_size=0.25,
        auxiliary_columns=(),
    )
    data = load_data([csv_file])
    result = train_default_encoder(
        data, tmp_path / "minilm", str(MINILM), recipe=quick, device="cpu"
    )
    with TransformersClassifier(str(result.output), device="cpu", precision="fp32") as clf:
        scores = [
            p.score
            for p in clf.classify(
                ["this drug gave me an awful rash and nausea", "I picked up my prescription today"]
            )
        ]
    assert scores[0] > scores[1]


def test_a_fixed_threshold_replaces_the_validation_choice(tmp_path: Path) -> None:
    from adverse_events.training.workflow import train

    from .conftest import rows

    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(40)), encoding="utf-8")
    data = load_data([path])
    result = train(data, "tfidf", tmp_path / "m", seed=3, cross_fit=None, fixed_threshold=0.5)
    metrics = json.loads((result.output / "metrics.json").read_text())
    assert result.info.threshold == 0.5 and metrics["threshold_rule"] == "fixed 0.5"
    assert metrics["validation"]["threshold"] == 0.5
    with pytest.raises(ConfigError, match="fixed_threshold must be between 0 and 1"):
        train(data, "tfidf", tmp_path / "bad", fixed_threshold=1.5)
    with pytest.raises(ConfigError, match="not both"):
        train(data, "tfidf", tmp_path / "both", fixed_threshold=0.5, target_recall=0.9)


def test_a_multitask_recipe_leaves_out_the_auxiliary_labels_the_data_lacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("torch")
    from adverse_events.training import recipes

    data = load_data([_csv_with(tmp_path / "s.csv", "WD")], auxiliary_columns=["WD"])
    assert {n for e in data.examples for n, _ in e.auxiliary} == {"WD"}
    recipe = replace(DEFAULT_ENCODER_RECIPE, auxiliary_columns=("WD", "EF"))
    assert recipe.describe()["auxiliary_columns"] == ["WD", "EF"]
    with caplog.at_level("WARNING"):
        used = recipes._with_auxiliary_labels_of(data, recipe)
    assert used.auxiliary_columns == ("WD",)
    assert "the data has no EF label(s)" in caplog.text


def _csv_with(path: Path, column: str) -> Path:
    lines = ["text,label," + column] + [f"text number {i},{i % 2},{i % 3 == 0:d}" for i in range(8)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_recipe_default_applies_its_fixed_cut_unless_a_recall_is_targeted(
    csv_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adverse_events.training import recipes

    seen: list[dict[str, object]] = []
    monkeypatch.setattr(recipes, "train", lambda *a, **k: seen.append(k))
    data = load_data([csv_file])
    train_with_recipe(data, "some/encoder", tmp_path / "a", recipe="default")
    train_with_recipe(data, "some/encoder", tmp_path / "b", recipe="default", target_recall=0.9)
    train_with_recipe(data, "some/encoder", tmp_path / "c")
    assert [k["fixed_threshold"] for k in seen] == [DEFAULT_ENCODER_RECIPE.threshold, None, None]
