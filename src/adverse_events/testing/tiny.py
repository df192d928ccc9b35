"""A tiny, randomly initialised transformers classifier built offline, for tests.

No hub access: a WordPiece tokenizer is trained on the given texts with `tokenizers`, and a
two-layer DistilBERT with a 32-wide hidden state is saved with ``save_pretrained``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["make_tiny_transformer"]


def make_tiny_transformer(
    directory: str | os.PathLike[str],
    texts: Sequence[str],
    labels: Sequence[str] = ("not_adverse_event", "adverse_event"),
    seed: int = 0,
    *,
    vocab_size: int = 400,
    dim: int = 32,
    n_layers: int = 2,
    n_heads: int = 2,
    max_length: int = 64,
) -> Path:
    """Write a tiny sequence-classification model + tokenizer to `directory`; return it.

    The size options also make small from-scratch models for experiments (no pretrained weights).
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        PreTrainedTokenizerFast,
    )

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    raw = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    raw.normalizer = normalizers.BertNormalizer(lowercase=True)
    raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    raw.train_from_iterator(list(texts), trainers.WordPieceTrainer(vocab_size=vocab_size,
                                                                   special_tokens=special))
    from tokenizers.processors import TemplateProcessing

    cls_id, sep_id = raw.token_to_id("[CLS]"), raw.token_to_id("[SEP]")
    raw.post_processor = TemplateProcessing(single="[CLS] $A [SEP]",
                                            pair="[CLS] $A [SEP] $B [SEP]",
                                            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]",
                                        pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                                        mask_token="[MASK]",
                                        model_max_length=max_length)
    tokenizer.save_pretrained(out)
    torch.manual_seed(seed)
    config = DistilBertConfig(vocab_size=raw.get_vocab_size(), dim=dim, hidden_dim=dim * 4,
                              n_layers=n_layers, n_heads=n_heads,
                              max_position_embeddings=max_length, num_labels=len(labels),
                              id2label=dict(enumerate(labels)),
                              label2id={label: i for i, label in enumerate(labels)})
    DistilBertForSequenceClassification(config).save_pretrained(out)
    return out
