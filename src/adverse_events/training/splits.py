"""Train / validation / test splits that tell the truth, and the reference protocol to compare.

* ``random``: stratified by label, rows taken as they are. On the ADE corpus loaded with
  ``relations=True`` (the Hugging Face rows, one copy of a sentence per drug-effect relation)
  this is the reference design's protocol, and it leaks: copies of a test sentence sit in train.
  The manifest counts the leak (``leaked_test_texts``).
* ``grouped``: exact duplicates (after normalising case, punctuation and spaces) and near
  duplicates (character 5-gram Jaccard >= 0.8, found with MinHash) are removed, then whole
  groups (PubMed article, post, review) go to one side, stratified by label.

Both have k-fold versions. Every split is a pure function of the data and the seed, and
`write_split` stores it with a JSON manifest (protocol, seed, counts, hashes of the ids).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adverse_events.errors import ConfigError
from adverse_events.training.datasets import Dataset

__all__ = [
    "PROTOCOLS",
    "Split",
    "deduplicate",
    "grouped_split",
    "kfold",
    "make_split",
    "normalise",
    "random_split",
    "write_split",
]

PROTOCOLS = ("random", "grouped")
PARTS = ("train", "validation", "test")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case-, punctuation- and space-insensitive form of a text (for duplicate detection)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", text).strip()


@dataclass
class Split:
    """Indices into `data` for each part, and how they were made."""

    protocol: str
    seed: int
    data: Dataset
    train: list[int]
    validation: list[int]
    test: list[int]
    fold: int | None = None
    folds: int | None = None
    removed: dict[str, int] = field(default_factory=dict)

    def part(self, name: str) -> Dataset:
        if name not in PARTS:
            raise ValueError(f"part must be one of {PARTS}")
        return self.data.subset(getattr(self, name))

    def manifest(self) -> dict[str, Any]:
        """Protocol, seed, counts and hashes of the ids: enough to check a split is the same."""
        parts: dict[str, Any] = {}
        for name in PARTS:
            examples = [self.data.examples[i] for i in getattr(self, name)]
            ids = sorted(e.id for e in examples)
            parts[name] = {
                "examples": len(examples),
                "labels": dict(sorted(Counter(e.label for e in examples).items())),
                "groups": len({e.group for e in examples}),
                "ids_sha256": hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest(),
            }
        return {
            "protocol": self.protocol,
            "seed": self.seed,
            "fold": self.fold,
            "folds": self.folds,
            "removed": dict(self.removed),
            "parts": parts,
            "leaked_test_texts": self.leaked_test_texts(),
            "shared_groups": self.shared_groups(),
        }

    def leaked_test_texts(self) -> int:
        """Test texts whose normalised form also appears in train (the random split's leak)."""
        seen = {normalise(self.data.examples[i].text) for i in self.train}
        return sum(normalise(self.data.examples[i].text) in seen for i in self.test)

    def shared_groups(self) -> int:
        """Groups with examples both in train and in test."""
        train = {self.data.examples[i].group for i in self.train}
        return len({self.data.examples[i].group for i in self.test} & train)


# --------------------------------------------------------------------------- duplicates


def deduplicate(
    data: Dataset, *, near: bool = True, threshold: float = 0.8, seed: int = 0
) -> tuple[list[int], dict[str, int]]:
    """Indices of the examples to keep, one per cluster of (near) duplicates, and counts.

    A cluster keeps its first example of the majority label (ties: the positive label), so a
    sentence that is both in a positive and a negative file counts once, as positive.
    """
    keys = [normalise(e.text) for e in data.examples]
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        union(first.setdefault(key, i), i)
    exact_roots = {find(i) for i in range(len(keys))}
    if near:
        for i, j in _near_pairs(
            [keys[r] for r in sorted(exact_roots)], sorted(exact_roots), threshold, seed
        ):
            union(i, j)
    clusters: dict[int, list[int]] = {}
    for i in range(len(keys)):
        clusters.setdefault(find(i), []).append(i)
    keep, conflicts = [], 0
    for members in clusters.values():
        labels = Counter(data.examples[i].label for i in members)
        conflicts += len(labels) > 1
        best = max(labels.values())
        winners = [lab for lab, n in labels.items() if n == best]
        label = data.positive_label if data.positive_label in winners else sorted(winners)[0]
        keep.append(next(i for i in members if data.examples[i].label == label))
    keep.sort()
    removed = {
        "exact_duplicates": len(keys) - len(exact_roots),
        "near_duplicates": len(exact_roots) - len(clusters),
        "label_conflicts": conflicts,
    }
    return keep, removed


def _shingles(text: str, n: int = 5) -> np.ndarray:
    """Sorted unique 64-bit hashes of the character n-grams of `text` (vectorised)."""
    raw = np.frombuffer(f" {text} ".encode(), dtype=np.uint8).astype(np.uint64)
    if len(raw) < n:
        raw = np.concatenate([raw, np.zeros(n - len(raw), dtype=np.uint64)])
    grams = np.zeros(len(raw) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            grams = grams * np.uint64(1_000_003) + raw[j : len(raw) - n + 1 + j]
        grams ^= grams >> np.uint64(29)
        grams *= np.uint64(0xBF58476D1CE4E5B9)
    return np.unique(grams)


def _near_pairs(
    keys: Sequence[str],
    ids: Sequence[int],
    threshold: float,
    seed: int,
    perms: int = 64,
    bands: int = 16,
) -> Iterator[tuple[int, int]]:
    """Pairs with character 5-gram Jaccard >= threshold: MinHash LSH candidates, then checked."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 62, perms, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 1 << 62, perms, dtype=np.uint64)
    sets = [_shingles(k) for k in keys]
    rows = perms // bands
    buckets: dict[tuple[int, bytes], list[int]] = {}
    for n, hashes in enumerate(sets):
        with np.errstate(over="ignore"):
            signature = (np.outer(hashes, a) + b).min(axis=0)
        for band in range(bands):
            key = (band, signature[band * rows : (band + 1) * rows].tobytes())
            buckets.setdefault(key, []).append(n)
    checked: set[tuple[int, int]] = set()
    for members in buckets.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pair = (members[x], members[y])
                if pair in checked:
                    continue
                checked.add(pair)
                s, t = sets[pair[0]], sets[pair[1]]
                common = len(np.intersect1d(s, t, assume_unique=True))
                if common / (len(s) + len(t) - common) >= threshold:
                    yield ids[pair[0]], ids[pair[1]]


# --------------------------------------------------------------------------- splitting


def _folds(k: int) -> int:
    if k < 2:
        raise ConfigError(f"need at least 2 folds, not {k}")
    return k


def _stratified(
    indices: np.ndarray, y: np.ndarray, groups: np.ndarray | None, k: int, seed: int
) -> list[np.ndarray]:
    """k disjoint test folds of `indices` (positions into y/groups), stratified, grouped."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = y[indices]
    if min(Counter(labels.tolist()).values()) < k:
        raise ConfigError(f"too few examples of a label for {k} folds: {Counter(labels.tolist())}")
    if groups is not None and len(set(groups[indices].tolist())) < k:
        raise ConfigError(
            f"{len(set(groups[indices].tolist()))} groups cannot make {k} folds; "
            "use more data, a larger test/validation fraction or fewer folds"
        )
    if groups is None:
        splitter: Any = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = splitter.split(indices, labels)
    else:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = splitter.split(indices, labels, groups[indices])
    return [indices[test] for _, test in parts]


def _make(
    protocol: str,
    data: Dataset,
    keep: list[int],
    removed: dict[str, int],
    seed: int,
    test_fold: np.ndarray,
    rest: np.ndarray,
    validation_size: float,
    fold: int | None = None,
    folds: int | None = None,
) -> Split:
    y = np.asarray(data.y)
    groups = np.asarray([e.group for e in data.examples]) if protocol == "grouped" else None
    if validation_size > 0:
        k = max(2, round(1 / validation_size))
        validation = _stratified(rest, y, groups, k, seed + 1)[0]
    else:
        validation = np.asarray([], dtype=int)
    train = np.setdiff1d(rest, validation)
    return Split(
        protocol,
        seed,
        data,
        sorted(train.tolist()),
        sorted(validation.tolist()),
        sorted(test_fold.tolist()),
        fold,
        folds,
        removed,
    )


def _prepared(data: Dataset, protocol: str, seed: int) -> tuple[list[int], dict[str, int]]:
    if protocol not in PROTOCOLS:
        raise ConfigError(f"split must be one of {PROTOCOLS}, not {protocol!r}")
    if protocol == "grouped":
        return deduplicate(data, seed=seed)
    return list(range(len(data))), {}


def make_split(
    data: Dataset,
    protocol: str = "grouped",
    *,
    seed: int = 42,
    test_size: float = 0.2,
    validation_size: float = 0.1,
) -> Split:
    """One train/validation/test split; sizes are fractions of the whole (after dedup)."""
    if not 0 < test_size < 1 or not 0 <= validation_size < 1 - test_size:
        raise ConfigError(
            "test_size and validation_size must be fractions that leave training data"
        )
    keep, removed = _prepared(data, protocol, seed)
    y = np.asarray(data.y)
    groups = np.asarray([e.group for e in data.examples]) if protocol == "grouped" else None
    indices = np.asarray(keep)
    test = _stratified(indices, y, groups, max(2, round(1 / test_size)), seed)[0]
    rest = np.setdiff1d(indices, test)
    return _make(protocol, data, keep, removed, seed, test, rest, validation_size / (1 - test_size))


def random_split(data: Dataset, **options: Any) -> Split:
    """The reference protocol: stratified, duplicates left where they are."""
    return make_split(data, "random", **options)


def grouped_split(data: Dataset, **options: Any) -> Split:
    """Duplicates removed, groups kept on one side, stratified."""
    return make_split(data, "grouped", **options)


def kfold(
    data: Dataset,
    k: int = 5,
    protocol: str = "grouped",
    *,
    seed: int = 42,
    validation_size: float = 0.1,
) -> Iterator[Split]:
    """k splits whose test parts cover the (deduplicated) data once each."""
    keep, removed = _prepared(data, protocol, seed)
    y = np.asarray(data.y)
    groups = np.asarray([e.group for e in data.examples]) if protocol == "grouped" else None
    indices = np.asarray(keep)
    for fold, test in enumerate(_stratified(indices, y, groups, _folds(k), seed)):
        rest = np.setdiff1d(indices, test)
        yield _make(
            protocol, data, keep, removed, seed, test, rest, validation_size / (1 - 1 / k), fold, k
        )


def write_split(split: Split, directory: str | os.PathLike[str]) -> Path:
    """Write ``manifest.json`` and ``train/validation/test.jsonl`` into `directory`."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name in PARTS:
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for i in getattr(split, name):
                e = split.data.examples[i]
                handle.write(
                    json.dumps(
                        {
                            "id": e.id,
                            "text": e.text,
                            "label": e.label,
                            "group": e.group,
                            "source": e.source,
                        }
                    )
                    + "\n"
                )
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps(split.manifest(), indent=2) + "\n", encoding="utf-8")
    return manifest
