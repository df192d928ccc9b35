"""Fine-tune any ``AutoModelForSequenceClassification`` (hub id or local path) with `Trainer`.

What it does for you: dynamic padding, class weighting for imbalanced data, early stopping on
validation F1 of the adverse-event class (the best epoch is kept), bf16/fp16 when the GPU has it,
gradient accumulation, warmup, weight decay, progress bars, and multi-task training on the other
binary labels the examples carry (`adverse_events.training.multitask`; saved without them). The
model directory it writes holds ``save_pretrained`` files, the tokenizer and
``adverse_events.json`` (written by `workflow`), so `TransformersClassifier` loads it as is.
Needs ``pip install 'adverse-events[torch]'``.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adverse_events.errors import ConfigError, PluginError
from adverse_events.training.datasets import Dataset

__all__ = ["TransformerOptions", "fine_tune"]

log = logging.getLogger(__name__)
_CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class TransformerOptions:
    """Training settings; the defaults suit a BERT-base-sized model on a few thousand texts."""

    epochs: float = 3.0
    batch_size: int = 16
    eval_batch_size: int = 64
    max_seq_length: int = 128
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    seed: int = 42
    class_weighting: bool = True
    early_stopping_patience: int | None = 2
    gradient_accumulation_steps: int = 1
    precision: str = "auto"
    max_steps: int = -1
    progress: bool = True
    device: str = "auto"
    #: ``"cls"`` (the model's own head) or ``"mean"`` (masked token mean, see
    #: `adverse_events.classifiers.transformers.pooling`; what sentence encoders were trained with)
    pooling: str = "cls"
    #: layer-wise learning-rate decay: layer k of L (embeddings = 0) trains at
    #: ``learning_rate * decay ** (L + 1 - k)``, the head at ``learning_rate``; None = off
    layer_lr_decay: float | None = None
    #: keep the token / position embeddings as pretrained (not trained)
    freeze_embeddings: bool = False
    #: weight of the auxiliary-label loss when the training examples carry auxiliary labels
    #: (`Example.auxiliary`); 0 trains on the main label only
    auxiliary_weight: float = 1.0


def _precision(option: str, torch: Any) -> dict[str, bool]:
    if option not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"precision must be auto, bf16, fp16 or fp32, not {option!r}")
    cuda = torch.cuda.is_available()
    if option == "auto":
        option = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if option != "fp32" and not cuda:
        raise ConfigError(f"precision {option} needs a CUDA GPU; use fp32 or auto")
    return {"bf16": option == "bf16", "fp16": option == "fp16"}


class _Encoded:
    """Tokenised texts (+ labels, + auxiliary targets) as a map-style dataset; padding happens
    per batch."""

    def __init__(
        self,
        tokenizer: Any,
        texts: Sequence[str],
        labels: Sequence[int] | None,
        max_length: int,
        auxiliary: np.ndarray | None = None,
    ):
        self.encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
        self.labels = labels
        self.auxiliary = auxiliary

    def __len__(self) -> int:
        return len(self.encoded["input_ids"])

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {key: values[i] for key, values in self.encoded.items()}
        if self.labels is not None:
            item["labels"] = int(self.labels[i])
        if self.auxiliary is not None:
            item["auxiliary_targets"] = self.auxiliary[i].tolist()
        return item


def fine_tune(
    model_name: str,
    train: Dataset,
    validation: Dataset,
    output: str | Path,
    options: TransformerOptions | None = None,
) -> Callable[[Sequence[str]], np.ndarray]:
    """Fine-tune `model_name` on `train`, keep the epoch with the best validation F1, save it
    to `output`, and return a scorer: texts -> P(positive label).

    When `train`'s examples carry auxiliary labels and ``options.auxiliary_weight`` > 0, the
    model trains on them too (`multitask.MultiTask`); the epoch is still chosen on the main
    label, and the saved model has the main head only."""
    try:
        import torch
        import transformers as tf
    except ImportError as exc:
        raise PluginError("fine-tuning needs: pip install 'adverse-events[torch]'") from exc
    from adverse_events.classifiers.transformers.pooling import set_pooling, wrap
    from adverse_events.training.multitask import MultiTask, auxiliary_names, auxiliary_targets

    options = options or TransformerOptions()
    if options.layer_lr_decay is not None and not 0 < options.layer_lr_decay <= 1:
        raise ConfigError(f"layer_lr_decay must be in (0, 1], not {options.layer_lr_decay}")
    out = Path(output)
    tf.set_seed(options.seed)
    labels = list(train.labels)
    positive = labels.index(train.positive_label)
    try:
        tokenizer = tf.AutoTokenizer.from_pretrained(model_name)
        model = tf.AutoModelForSequenceClassification.from_pretrained(
            model_name,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            ignore_mismatched_sizes=True,
        )
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load model {model_name!r} (a hub id or a directory with "
            f"save_pretrained files): {exc}"
        ) from exc
    set_pooling(model.config, options.pooling)
    hf_model, model = model, wrap(model)
    tasks = auxiliary_names(train.examples) if options.auxiliary_weight > 0 else []
    if tasks:
        log.info("multi-task: auxiliary labels %s, weight %s", tasks, options.auxiliary_weight)
        model = MultiTask(model, len(tasks), options.auxiliary_weight)
    if options.freeze_embeddings:
        for name, parameter in model.named_parameters():
            if ".embeddings." in f".{name}":
                parameter.requires_grad_(False)
    optimizer = (
        _layerwise_optimizer(model, options, torch) if options.layer_lr_decay is not None else None
    )
    train_set = _Encoded(
        tokenizer,
        train.texts,
        train.y,
        options.max_seq_length,
        auxiliary_targets(train.examples, tasks) if tasks else None,
    )
    validation_set = _Encoded(tokenizer, validation.texts, validation.y, options.max_seq_length)
    steps_per_epoch = math.ceil(
        len(train_set) / (options.batch_size * options.gradient_accumulation_steps)
    )
    total = (
        options.max_steps if options.max_steps > 0 else math.ceil(steps_per_epoch * options.epochs)
    )
    precision: dict[str, Any] = _precision(
        options.precision if options.device != "cpu" else "fp32", torch
    )
    args = tf.TrainingArguments(
        output_dir=str(out / _CHECKPOINTS),
        num_train_epochs=options.epochs,
        max_steps=options.max_steps,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.eval_batch_size,
        gradient_accumulation_steps=options.gradient_accumulation_steps,
        learning_rate=options.learning_rate,
        warmup_steps=int(total * options.warmup_ratio),
        weight_decay=options.weight_decay,
        seed=options.seed,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="f1",
        greater_is_better=True,
        logging_steps=max(1, min(50, steps_per_epoch)),
        report_to="none",
        disable_tqdm=not options.progress,
        use_cpu=options.device == "cpu",
        # pinned memory only helps host-to-GPU copies; without a GPU torch warns about it
        dataloader_pin_memory=options.device != "cpu" and torch.cuda.is_available(),
        **precision,
    )
    callbacks: list[Any] = []
    if options.early_stopping_patience:
        callbacks.append(tf.EarlyStoppingCallback(options.early_stopping_patience))
    trainer = tf.Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=validation_set,
        data_collator=tf.DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=_f1_of(positive),
        callbacks=callbacks,
        compute_loss_func=_weighted_loss(train.y, len(labels), torch)
        if options.class_weighting
        else None,  # without weights the model's own loss (+ auxiliary_loss) is used
        optimizers=(optimizer, None),
    )
    trainer.train()
    hf_model.save_pretrained(str(out))  # the best epoch's weights (shared with the wrapper)
    tokenizer.save_pretrained(str(out))
    shutil.rmtree(out / _CHECKPOINTS, ignore_errors=True)
    trained = trainer.model

    def scorer(texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        encoded: Any = _Encoded(tokenizer, texts, None, options.max_seq_length)
        result = trainer.predict(encoded)
        logits = np.asarray(result.predictions, dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return proba[:, positive]  # type: ignore[no-any-return]

    del trained
    return scorer


def _depth(name: str, layers: int) -> int:
    """0 for embeddings, k + 1 for encoder layer k, layers + 1 for everything above."""
    import re

    if ".embeddings." in f".{name}":
        return 0
    found = re.search(r"\.layers?\.(\d+)\.", f".{name}")
    return int(found.group(1)) + 1 if found else layers + 1


def _layerwise_optimizer(model: Any, options: TransformerOptions, torch: Any) -> Any:
    """AdamW whose learning rate shrinks by `layer_lr_decay` per layer below the head; no
    weight decay on biases and layer norms (as `Trainer`'s own optimizer)."""
    config = model.config
    layers = int(getattr(config, "num_hidden_layers", getattr(config, "n_layers", 0)))
    groups: dict[tuple[int, bool], list[Any]] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            no_decay = name.endswith("bias") or "norm" in name.lower()
            groups.setdefault((_depth(name, layers), no_decay), []).append(parameter)
    decay = float(options.layer_lr_decay or 1.0)
    param_groups = [
        {
            "params": params,
            "weight_decay": 0.0 if no_decay else options.weight_decay,
            "lr": options.learning_rate * decay ** (layers + 1 - depth),
        }
        for (depth, no_decay), params in sorted(groups.items())
    ]
    return torch.optim.AdamW(param_groups, lr=options.learning_rate)


def _f1_of(positive: int) -> Callable[[Any], dict[str, float]]:
    def compute(prediction: Any) -> dict[str, float]:
        logits, gold = prediction.predictions, prediction.label_ids
        guess = np.asarray(logits).argmax(axis=1) == positive
        truth = np.asarray(gold) == positive
        tp = float((guess & truth).sum())
        precision = tp / guess.sum() if guess.sum() else 0.0
        recall = tp / truth.sum() if truth.sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"f1": f1, "precision": precision, "recall": recall}

    return compute


def _weighted_loss(y: Sequence[int], n_labels: int, torch: Any) -> Callable[..., Any]:
    """Cross-entropy with weights inversely proportional to label frequency ("balanced"),
    plus the model's ``auxiliary_loss`` when it reports one (multi-task training)."""
    counts = np.bincount(np.asarray(y), minlength=n_labels).astype(np.float64)
    weights = len(y) / (n_labels * np.maximum(counts, 1.0))
    log.info("class weights: %s", np.round(weights, 3).tolist())
    weight = torch.tensor(weights, dtype=torch.float32)

    def loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        main = torch.nn.functional.cross_entropy(
            logits.float().view(-1, n_labels), labels.view(-1), weight=weight.to(logits.device)
        )
        auxiliary = outputs.get("auxiliary_loss") if isinstance(outputs, dict) else None
        return main if auxiliary is None else main + auxiliary

    return loss
