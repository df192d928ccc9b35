"""Multi-task fine-tuning: the main label plus other binary labels of the same texts.

PsyTAR labels each sentence for adverse reactions (the main label) and also for withdrawal,
effectiveness, ineffectiveness, signs/symptoms/illness and drug indication. Those neighbouring
labels say what a sentence that mentions a symptom is about (the illness treated, a withdrawal
effect, the drug working), exactly the distinctions the adverse-event class needs on new drugs.
`MultiTask` trains one extra linear head for them on the same pooled sentence vector as the main
head; the extra head is for training only: `fine_tune` saves the wrapped model without it, so the
model directory, its serving path and its speed are those of a single-task model.

Examples carry the labels as `Example.auxiliary` (``load_data(..., auxiliary_columns=[...])``,
``adverse-events train --auxiliary-columns WD,EF``); an example without them (another corpus)
contributes to the main loss only. Needs mean pooling (`pooling.MeanPooled`) and torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from adverse_events.classifiers.transformers.pooling import MeanPooled, Output
from adverse_events.errors import ConfigError
from adverse_events.training.examples import Example

__all__ = ["MISSING", "MultiTask", "auxiliary_names", "auxiliary_targets"]

#: the target of an example that does not carry an auxiliary label (masked out of the loss)
MISSING = -1.0


def auxiliary_names(examples: Sequence[Example]) -> list[str]:
    """The auxiliary label names the examples carry, in first-seen order."""
    names: dict[str, None] = {}
    for example in examples:
        for name, _ in example.auxiliary:
            names.setdefault(name, None)
    return list(names)


def auxiliary_targets(examples: Sequence[Example], names: Sequence[str]) -> np.ndarray:
    """An (examples x names) float array of 0/1 targets, `MISSING` where an example lacks one."""
    index = {name: j for j, name in enumerate(names)}
    targets = np.full((len(examples), len(names)), MISSING, dtype=np.float32)
    for i, example in enumerate(examples):
        for name, value in example.auxiliary:
            targets[i, index[name]] = float(value)
    return targets


class MultiTask(torch.nn.Module):
    """`model` (mean pooled) with an extra linear head for `tasks` auxiliary labels.

    Its output is the main head's ``logits``; in training, with ``auxiliary_targets`` given,
    also ``auxiliary_loss``: `weight` x the binary cross-entropy of the extra head over the
    targets that are not `MISSING` (a batch with none adds 0). ``loss`` (when ``labels`` are
    given) is the main cross-entropy plus that term.
    """

    def __init__(self, model: Any, tasks: int, weight: float):
        super().__init__()
        if not isinstance(model, MeanPooled):
            raise ConfigError(
                "auxiliary labels (multi-task training) need pooling 'mean'; "
                "set --pooling mean or load no auxiliary columns"
            )
        if weight < 0:
            raise ConfigError(f"auxiliary_weight must be 0 or more, not {weight}")
        self.model = model
        self.head = torch.nn.Linear(model.inner.classifier.in_features, tasks)
        self.weight = weight

    @property
    def config(self) -> Any:
        return self.model.config

    def forward(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        labels: Any = None,
        auxiliary_targets: Any = None,
        **_: Any,
    ) -> Output:
        pooled = self.model.dropout(self.model.pool(input_ids, attention_mask, token_type_ids))
        logits = self.model.inner.classifier(pooled)
        out = Output(logits=logits)
        if auxiliary_targets is not None and self.training:
            out["auxiliary_loss"] = self.weight * _masked_bce(self.head(pooled), auxiliary_targets)
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(
                logits.view(-1, logits.shape[-1]), labels.view(-1)
            )
            out["loss"] = loss + out.get("auxiliary_loss", 0.0)
        return out


def _masked_bce(logits: Any, targets: Any) -> Any:
    targets = targets.to(logits.dtype)
    known = targets != MISSING
    if not bool(known.any()):
        return logits.sum() * 0.0  # keeps the graph (and DDP) happy with no auxiliary targets
    return torch.nn.functional.binary_cross_entropy_with_logits(logits[known], targets[known])
