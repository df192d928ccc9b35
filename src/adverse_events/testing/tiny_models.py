"""Build small transformers classifiers locally, with no download: for tests and benchmarks.

`make_tiny_transformer` trains a WordPiece tokenizer on the given texts with `tokenizers` and
saves a randomly initialised DistilBERT sequence classifier of the requested size next to it
(``save_pretrained``): a base model to fine-tune, in tests or as a from-scratch experiment.
`build_classifier_dir` does the same, optionally trains it for a few steps, and writes a model
directory that `TransformersClassifier` loads (with ``adverse_events.json``). `synthetic_texts`
gives labelled fixture sentences. Needs ``pip install 'adverse-events[torch]'``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adverse_events.model_dir import ModelInfo, write_model_info

__all__ = [
    "LABELS",
    "build_classifier_dir",
    "build_tokenizer",
    "make_tiny_transformer",
    "synthetic_texts",
]

#: Label names of the models built here: index 1 is the adverse-event class.
LABELS = ("not_adverse_event", "adverse_event")

_DRUGS = ["sertraline", "lexapro", "ibuprofen", "metformin", "zoloft", "lisinopril", "aspirin"]
_EVENTS = ["a rash", "headaches", "nausea", "dizziness", "insomnia", "hair loss", "tremors"]
_OTHER = ["my dog", "the weather", "a new job", "the train", "my garden", "the football game"]


def synthetic_texts(n: int = 200, seed: int = 0) -> tuple[list[str], list[int]]:
    """`n` short labelled posts (1 = adverse event) from templates; varied lengths."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        drug, event, other = rng.choice(_DRUGS), rng.choice(_EVENTS), rng.choice(_OTHER)
        tail = " and honestly".join([""] * rng.randint(1, 4)) + " it was a long week."
        if i % 2:
            texts.append(f"since starting {drug} I keep getting {event}{tail}")
            labels.append(1)
        else:
            texts.append(f"since starting {drug} I keep talking about {other}{tail}")
            labels.append(0)
    return texts, labels


def build_tokenizer(texts: Sequence[str], vocab_size: int = 2000, max_length: int = 512) -> Any:
    """A lower-casing BERT WordPiece tokenizer trained on `texts`, as a transformers tokenizer."""
    from tokenizers import BertWordPieceTokenizer
    from tokenizers.processors import BertProcessing
    from transformers import PreTrainedTokenizerFast

    raw = BertWordPieceTokenizer(lowercase=True)
    raw.train_from_iterator(
        list(texts), vocab_size=vocab_size, min_frequency=1, show_progress=False
    )
    cls, sep = raw.token_to_id("[CLS]"), raw.token_to_id("[SEP]")
    raw._tokenizer.post_processor = BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    return PreTrainedTokenizerFast(
        tokenizer_object=raw._tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
        model_input_names=["input_ids", "attention_mask"],
    )


def make_tiny_transformer(
    directory: str | os.PathLike[str],
    texts: Sequence[str],
    labels: Sequence[str] = LABELS,
    seed: int = 0,
    *,
    vocab_size: int = 400,
    dim: int = 32,
    n_layers: int = 2,
    n_heads: int = 2,
    hidden_dim: int | None = None,
    max_length: int = 64,
    max_positions: int | None = None,
) -> Path:
    """Write a randomly initialised sequence classifier + tokenizer to `directory`; return it.

    The tokenizer's vocabulary is learnt from `texts`; `hidden_dim` defaults to ``4 * dim`` and
    the position embeddings to `max_length` (the tokenizer's maximum).
    """
    _save_base(
        directory,
        texts,
        labels,
        seed,
        vocab_size=vocab_size,
        dim=dim,
        n_layers=n_layers,
        n_heads=n_heads,
        hidden_dim=hidden_dim or 4 * dim,
        max_length=max_length,
        max_positions=max_positions or max_length,
    )
    return Path(directory)


def _save_base(
    directory: str | os.PathLike[str],
    texts: Sequence[str],
    labels: Sequence[str],
    seed: int,
    **size: int,
) -> tuple[Any, Any]:
    """Tokenizer + random DistilBERT classifier of `size`, saved to `directory` and returned."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(texts, vocab_size=size["vocab_size"], max_length=size["max_length"])
    config = DistilBertConfig(
        vocab_size=max(size["vocab_size"], len(tokenizer)),
        dim=size["dim"],
        n_layers=size["n_layers"],
        n_heads=size["n_heads"],
        hidden_dim=size["hidden_dim"],
        max_position_embeddings=size["max_positions"],
        id2label=dict(enumerate(labels)),  # sets num_labels too
        label2id={label: i for i, label in enumerate(labels)},
        pad_token_id=tokenizer.pad_token_id,
    )
    model = DistilBertForSequenceClassification(config)
    model.eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return model, tokenizer


def build_classifier_dir(
    out: str | os.PathLike[str],
    texts: Sequence[str],
    labels: Sequence[int] | None = None,
    *,
    vocab_size: int = 2000,
    dim: int = 32,
    n_layers: int = 2,
    n_heads: int = 2,
    hidden_dim: int = 64,
    steps: int = 0,
    batch_size: int = 16,
    lr: float = 1e-3,
    max_length: int = 64,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> Path:
    """Write a DistilBERT classifier directory to `out`; train `steps` steps on texts/labels.

    With ``dim=768, n_layers=6, n_heads=12, hidden_dim=3072, vocab_size=30522`` the network
    has the architecture of ``distilbert-base-uncased`` (the vocabulary is what the texts give).
    `max_length` truncates the training batches; the model keeps 512 positions.
    """
    if steps and labels is None:
        raise ValueError("training steps need labels")
    out = Path(out)
    model, tokenizer = _save_base(
        out,
        texts,
        LABELS,
        seed,
        vocab_size=vocab_size,
        dim=dim,
        n_layers=n_layers,
        n_heads=n_heads,
        hidden_dim=hidden_dim,
        max_length=512,
        max_positions=512,
    )
    if steps and labels is not None:
        _train(model, tokenizer, texts, labels, steps, batch_size, lr, max_length, seed, progress)
        model.eval().save_pretrained(out)
    write_model_info(
        out,
        ModelInfo(
            kind="transformers",
            labels=list(LABELS),
            positive_label=LABELS[1],
            threshold=0.5,
            data={"texts": len(texts), "source": "adverse_events.testing.tiny_models"},
            split={},
            metrics={"train_steps": steps},
        ),
    )
    return out


def _train(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    labels: Sequence[int],
    steps: int,
    batch_size: int,
    lr: float,
    max_length: int,
    seed: int,
    progress: Callable[[int, float], None] | None,
) -> None:
    import torch

    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    order: list[int] = []
    model.train()
    for step in range(steps):
        if len(order) < batch_size:
            order = list(range(len(texts)))
            rng.shuffle(order)
        rows, order = order[:batch_size], order[batch_size:]
        enc = tokenizer(
            [texts[i] for i in rows],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        target = torch.tensor([labels[i] for i in rows])
        loss = model(**enc, labels=target).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if progress:
            progress(step, float(loss))
