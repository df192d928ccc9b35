"""Build a tiny DistilBERT classifier directory locally (no hub): WordPiece + 1 layer."""

from __future__ import annotations

import json
from pathlib import Path

LABELS = ["not_adverse_event", "adverse_event"]
CORPUS = [
    "this drug gave me a terrible headache",
    "lexapro made me nauseous and dizzy all week",
    "feeling great on my new medication",
    "zoloft helped my anxiety a lot",
    "no side effects so far, sleeping well",
    "I had insomnia and a rash after the first dose",
]


def build_tiny_model(directory: Path, threshold: float = 0.6, seed: int = 0) -> Path:
    """Save a randomly initialised tiny DistilBERT + tokenizer + adverse_events.json."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        DistilBertTokenizerFast,
    )

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(
        CORPUS * 3, trainers.WordPieceTrainer(vocab_size=200, special_tokens=special)
    )
    fast = DistilBertTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    fast.save_pretrained(directory)
    torch.manual_seed(seed)
    config = DistilBertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        dim=32,
        n_layers=1,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=64,
        num_labels=2,
        initializer_range=0.5,  # varied scores
        id2label=dict(enumerate(LABELS)),
        label2id={k: i for i, k in enumerate(LABELS)},
    )
    DistilBertForSequenceClassification(config).eval().save_pretrained(directory)
    (directory / "adverse_events.json").write_text(
        json.dumps(
            {
                "kind": "transformers",
                "labels": LABELS,
                "positive_label": "adverse_event",
                "threshold": threshold,
            }
        )
    )
    return directory


def reference_scores(directory: Path, texts: list[str]) -> list[float]:
    """P(adverse_event) per text, one text at a time, straight from transformers."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForSequenceClassification.from_pretrained(directory).eval()
    scores = []
    with torch.no_grad():
        for text in texts:
            batch = tokenizer([text], truncation=True, max_length=64, return_tensors="pt")
            scores.append(float(model(**batch).logits.softmax(-1)[0, 1]))
    return scores


def write_tfidf_model(directory: Path, n: int = 120) -> Path:
    """Train a TF-IDF model directory on synthetic labelled posts (a second or two, no torch)."""
    import csv

    from adverse_events.classifiers.tfidf import TfidfClassifier
    from adverse_events.testing.tiny_models import synthetic_texts

    directory.mkdir(parents=True, exist_ok=True)
    texts, labels = synthetic_texts(n)
    data = directory / "posts.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    model = directory / "model"
    TfidfClassifier(model, train_data=[data], group_column=None).open()
    return model
