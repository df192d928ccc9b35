"""Mean pooling for sequence classifiers: the one small head the library adds to transformers.

`BertForSequenceClassification` classifies the first token through BERT's *pooler* (a dense +
tanh layer). Sentence encoders such as ``all-MiniLM-L6-v2`` were trained with MEAN pooling over
the tokens and never trained that pooler, so their sentence meaning lives in the token average.
With ``pooling="mean"`` the classifier reads the attention-masked mean of the last hidden states
and feeds it to the model's own final linear layer (``model.classifier``).

The model directory stays a plain ``save_pretrained`` directory of the usual
``*ForSequenceClassification`` class; the choice is one extra key in its ``config.json``,
``"adverse_events_pooling": "mean"``. `TransformersClassifier` (torch and ONNX Runtime paths)
and `fine_tune` read it through `wrap`. Loaded with plain ``transformers`` outside this library,
such a directory silently uses first-token pooling and gives wrong scores: load it with
`TransformersClassifier`, or apply `wrap` yourself. Needs ``pip install 'adverse-events[torch]'``.
"""

from __future__ import annotations

from typing import Any

import torch

from adverse_events.errors import ConfigError

__all__ = ["CONFIG_KEY", "POOLINGS", "MeanPooled", "Output", "pooling_of", "set_pooling", "wrap"]

#: The ``config.json`` key that records the pooling (absent means the model's own, ``"cls"``).
CONFIG_KEY = "adverse_events_pooling"
POOLINGS = ("cls", "mean")


class Output(dict):  # type: ignore[type-arg]
    """What callers read from a Hugging Face output: ``.logits`` (and ``["logits"]``)."""

    @property
    def logits(self) -> Any:
        return self["logits"]


class MeanPooled(torch.nn.Module):
    """A ``*ForSequenceClassification`` model whose head reads the masked token mean.

    Only the base encoder (``model.base_model``), the dropout before the head and the final
    ``model.classifier`` linear layer are used; weights keep their Hugging Face names under
    ``inner.``, and ``inner.save_pretrained`` writes a normal directory.
    """

    def __init__(self, inner: Any):
        super().__init__()
        head = getattr(inner, "classifier", None)
        hidden = getattr(inner.config, "hidden_size", getattr(inner.config, "dim", None))
        if not isinstance(head, torch.nn.Linear) or head.in_features != hidden:
            raise ConfigError(
                f"mean pooling needs a model whose `classifier` is one linear layer on the "
                f"hidden states; {type(inner).__name__} has {type(head).__name__}: use "
                "pooling 'cls'"
            )
        self.inner = inner
        self.dropout = torch.nn.Dropout(_dropout(inner.config))

    @property
    def config(self) -> Any:
        return self.inner.config

    def forward(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        labels: Any = None,
        **_: Any,
    ) -> Output:
        pooled = self.pool(input_ids, attention_mask, token_type_ids)
        logits = self.inner.classifier(self.dropout(pooled))
        out = Output(logits=logits)
        if labels is not None:
            out["loss"] = torch.nn.functional.cross_entropy(
                logits.view(-1, logits.shape[-1]), labels.view(-1)
            )
        return out

    def pool(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None) -> Any:
        """The attention-masked mean of the encoder's last hidden states (batch x hidden)."""
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.inner.base_model(**inputs)[0]
        if attention_mask is None:
            return hidden.mean(dim=1)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def _dropout(config: Any) -> float:
    for key in ("classifier_dropout", "seq_classif_dropout", "hidden_dropout_prob", "dropout"):
        value = getattr(config, key, None)
        if isinstance(value, float):
            return value
    return 0.1


def pooling_of(config: Any) -> str:
    """The pooling a model config records (``"cls"`` when it records none)."""
    value = getattr(config, CONFIG_KEY, None) or "cls"
    if value not in POOLINGS:
        raise ConfigError(f"{CONFIG_KEY} must be one of {', '.join(POOLINGS)}, not {value!r}")
    return str(value)


def set_pooling(config: Any, pooling: str) -> None:
    """Record `pooling` in `config` (saved with it by ``save_pretrained``)."""
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
    setattr(config, CONFIG_KEY, pooling)


def wrap(model: Any) -> Any:
    """`model` as its config says to pool it: itself for ``cls``, `MeanPooled` for ``mean``."""
    return MeanPooled(model) if pooling_of(model.config) == "mean" else model
