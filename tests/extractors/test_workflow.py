"""`extractors.workflow`: the corpora, training and held-out scoring behind the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adverse_events.errors import ConfigError
from adverse_events.extractors.lexicon import LexiconModel
from adverse_events.extractors.workflow import (
    evaluate_held_out,
    load_span_corpora,
    train_on_corpora,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def spans(tmp_path: Path) -> Path:
    path = tmp_path / "spans.jsonl"
    rows = [
        {
            "text": f"Drug{i % 3}x made me shaky",
            "group": str(i),
            "spans": [
                {"start": 0, "end": 6, "label": "DRUG"},
                {"start": 15, "end": 20, "label": "AE"},
            ],
        }
        for i in range(40)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_corpora_are_named_by_corpus_or_path(spans: Path) -> None:
    corpora = load_span_corpora(spans=[spans])
    assert list(corpora) == [str(spans)] and len(corpora[str(spans)]) == 40


def test_missing_builtin_corpora_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PsyTAR files not found"):
        load_span_corpora(root=tmp_path)  # neither given: psytar and ade


def test_holdout_training_and_honest_scores(spans: Path, tmp_path: Path) -> None:
    corpora = load_span_corpora(spans=[spans])
    model = train_on_corpora(corpora, tmp_path / "held", test_fraction=0.25)
    assert model.meta["holdout"] is True and model.meta["corpora"] == [str(spans)]
    assert model.meta["examples"] < 40
    honest = evaluate_held_out(corpora, tmp_path / "held", test_fraction=0.25)
    assert not honest.optimistic and honest.model_dir == tmp_path / "held"
    scores = honest.results[str(spans)]["scores"]
    assert scores["ADVERSE_EVENT"]["partial"]["f1"] > 0.9

    train_on_corpora(corpora, tmp_path / "all", holdout=False)
    assert LexiconModel.load(tmp_path / "all").meta["examples"] == 40
    assert evaluate_held_out(corpora, tmp_path / "all").optimistic


def test_without_a_model_one_is_trained_on_the_training_split(spans: Path) -> None:
    evaluation = evaluate_held_out(load_span_corpora(spans=[spans]))
    assert not evaluation.optimistic
    assert LexiconModel.load(evaluation.model_dir).meta["holdout"] is True
