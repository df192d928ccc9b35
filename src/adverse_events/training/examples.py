"""Labelled examples, the `Dataset` training sees, and the `LoadReport` of each loader.

`group` is the document a text came from (PubMed id, post id, review id): the grouped split keeps
a group on one side so sentences of one document never sit in both train and test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adverse_events.errors import ConfigError
from adverse_events.training.labels import POSITIVE, LabelMap

__all__ = ["Dataset", "Example", "LoadReport", "combine"]


@dataclass(frozen=True)
class Example:
    """One labelled text.

    `auxiliary`: other binary labels of the same text as (name, 0 or 1) pairs, e.g. PsyTAR's
    withdrawal or effectiveness labels; a transformers model trains on them as extra tasks
    (`adverse_events.training.transformers`) and serves the main label only. Empty for none.
    """

    text: str
    label: str
    group: str
    source: str
    id: str
    auxiliary: tuple[tuple[str, int], ...] = ()


@dataclass
class LoadReport:
    """What one loader read, kept and rejected (reason -> count, with a few samples)."""

    source: str
    read: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def reject(self, reason: str, row: object) -> None:
        self.rejected[reason] += 1
        kept = self.samples.setdefault(reason, [])
        if len(kept) < 3:
            kept.append(str(row)[:200])

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "read": self.read,
            "kept": self.kept,
            "rejected": dict(self.rejected),
        }

    def __str__(self) -> str:
        bad = ", ".join(f"{n} {reason}" for reason, n in self.rejected.most_common()) or "none"
        return f"{self.source}: read {self.read}, kept {self.kept}, rejected: {bad}"


@dataclass
class Dataset:
    """Examples with their label set and the reports of the loaders that made them."""

    examples: list[Example]
    labels: list[str]
    positive_label: str
    reports: list[LoadReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.positive_label not in self.labels:
            raise ConfigError(
                f"positive_label {self.positive_label!r} is not one of the "
                f"labels {self.labels}; pass --positive-label"
            )

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def texts(self) -> list[str]:
        return [e.text for e in self.examples]

    @property
    def y(self) -> list[int]:
        """Label indices into `labels`."""
        index = {label: i for i, label in enumerate(self.labels)}
        return [index[e.label] for e in self.examples]

    @property
    def binary(self) -> list[int]:
        """1 for the positive (adverse-event) label, else 0."""
        return [int(e.label == self.positive_label) for e in self.examples]

    def subset(self, indices: Iterable[int]) -> Dataset:
        return Dataset(
            [self.examples[i] for i in indices], self.labels, self.positive_label, self.reports
        )

    def describe(self) -> dict[str, Any]:
        """Counts per source and label (and positives per auxiliary label, when there are
        any), and the load reports (goes into adverse_events.json)."""
        counts: dict[str, Counter[str]] = {}
        auxiliary: Counter[str] = Counter()
        for e in self.examples:
            counts.setdefault(e.source, Counter())[e.label] += 1
            auxiliary.update({name: value for name, value in e.auxiliary})
        extra = {"auxiliary_positives": dict(auxiliary)} if auxiliary else {}
        return {
            "examples": len(self.examples),
            "labels": self.labels,
            "positive_label": self.positive_label,
            "by_source": {s: dict(c) for s, c in sorted(counts.items())},
            "load_reports": [r.to_dict() for r in self.reports],
            **extra,
        }


def combine(
    parts: Sequence[tuple[list[Example], LoadReport]],
    *,
    positive_label: str | None = None,
    label_map: LabelMap | None = None,
) -> Dataset:
    """One `Dataset` from several loads (e.g. the ADE corpus + your own posts)."""
    examples = [e for part, _ in parts for e in part]
    reports = [report for _, report in parts]
    if not examples:
        detail = "; ".join(str(r) for r in reports)
        raise ConfigError(
            f"no usable examples ({detail}); check --text-column, --label-column "
            "and the label names"
        )
    seen = [e.label for e in examples]
    labels = (label_map or LabelMap()).labels(seen)
    labels += sorted(set(seen) - set(labels))  # e.g. the ADE corpus's binary labels
    if positive_label is None:
        if POSITIVE not in labels:
            raise ConfigError(
                f"which label is the adverse event? pass positive_label (one of {labels})"
            )
        positive_label = POSITIVE
    return Dataset(examples, labels, positive_label, reports)
