"""benchmarks/dapt.py: masked-LM adaptation of an encoder on PsyTAR review text (tiny BERT)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from tests.helpers import benchmark_module  # noqa: E402

pytestmark = pytest.mark.unit

POSTS = [
    {"drug": "lexapro", "side_effect": "weight gain and nausea", "comment": "it helped a bit"},
    {"drug": "lexapro", "side_effect": "", "comment": "no side effects so far at all"},
    {"drug": "zoloft", "side_effect": "insomnia", "comment": "stopped after a week"},
    {"drug": "Lexapro", "side_effect": "dizzy every morning", "comment": None},
    {"drug": "lexapro", "side_effect": " ", "comment": ""},
]


@pytest.fixture
def dapt() -> Iterator[ModuleType]:
    with benchmark_module("dapt") as module:
        yield module


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "psytar").mkdir()
    lines = [json.dumps(p) for p in POSTS * 4]
    (tmp_path / "psytar" / "posts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def tiny_bert(tmp_path: Path) -> Path:
    """A random 2-layer BERT encoder (no masked-LM head, like all-MiniLM-L6-v2) + tokenizer."""
    from transformers import BertConfig, BertModel

    from adverse_events.testing.tiny_models import build_tokenizer

    texts = [f"{p['side_effect']} {p['comment'] or ''}" for p in POSTS]
    tokenizer = build_tokenizer(texts * 5, vocab_size=120, max_length=64)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(tmp_path / "bert")
    tokenizer.save_pretrained(tmp_path / "bert")
    return tmp_path / "bert"


def test_reviews_are_the_named_drugs_text_without_empty_posts(dapt: ModuleType, data: Path) -> None:
    texts = dapt.reviews({"lexapro"}, data)
    assert texts[:3] == [
        "weight gain and nausea it helped a bit",
        "no side effects so far at all",
        "dizzy every morning",
    ]
    assert len(texts) == 12 and dapt.reviews({"zoloft"}, data)[0] == "insomnia stopped after a week"


def test_masked_positions_only_give_the_full_models_loss(dapt: ModuleType, tiny_bert: Path) -> None:
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    model = AutoModelForMaskedLM.from_pretrained(tiny_bert).eval()
    rows = [{"input_ids": ids} for ids in tokenizer(["weight gain and nausea"] * 6)["input_ids"]]
    torch.manual_seed(3)
    batch = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.5)(rows)
    with torch.no_grad():
        full = float(model(**batch).loss)
        assert float(dapt.mlm_loss(model, dict(batch))) == pytest.approx(full, rel=1e-5)


def test_adapt_lowers_the_held_out_loss_and_saves_a_plain_encoder(
    dapt: ModuleType, data: Path, tiny_bert: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForSequenceClassification

    args = argparse.Namespace(
        drugs="lexapro",
        data_dir=data,
        encoder=str(tiny_bert),
        out=tmp_path / "adapted",
        epochs=15,
        head_epochs=2,
        lr=1e-3,
        batch_size=4,
        max_length=32,
        seed=0,
    )
    entry = dapt.adapt(args)
    assert entry["reviews"] == {"train": 11, "held_out": 1}
    loss = entry["held_out_mlm_loss"]
    assert loss["after_adaptation"] < loss["head_fitted_encoder_frozen"]
    assert entry["kept_from_base"] == ["pooler.dense.bias", "pooler.dense.weight"]
    model = AutoModelForSequenceClassification.from_pretrained(args.out, num_labels=2)
    assert model.config.model_type == "bert"
    with pytest.raises(SystemExit, match="no PsyTAR reviews for 'celexa'"):
        dapt.adapt(argparse.Namespace(**{**vars(args), "drugs": "celexa"}))
