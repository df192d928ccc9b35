"""A TF-IDF (word + character n-gram) linear model: trains in seconds on a CPU.

The model is an ensemble of linear members over shared TF-IDF features; each member is a
logistic regression, optionally on naive-Bayes-scaled features (NB-SVM, Wang & Manning 2012,
whose scaling folds into the weights, so every member is just ``softmax(X @ W.T + b)``).
The ensemble's probability is the mean of its members'.

Saved without pickle, as plain data a model directory can be inspected with:

* ``tfidf.json``: the vectorizer settings (analyzer, n-gram range, flags), the label names, the
  member weights, and each vectorizer's vocabulary (term -> column);
* ``tfidf.npz``: ``idf_<i>`` per vectorizer, ``coef_<m>`` / ``intercept_<m>`` per member,
  read with ``numpy.load(allow_pickle=False)``;
* ``adverse_events.json``: labels, threshold, metrics, data and split (see
  `adverse_events.model_dir`).

What is trusted when loading: only numbers, strings and the settings below, which are checked
against an allow-list (``analyzer`` in word/char/char_wb, integer n-gram ranges, booleans). No
code is loaded; a hostile file can at worst give wrong predictions or use memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adverse_events.errors import ConfigError

__all__ = ["TfidfModel", "TfidfOptions", "fit_tfidf"]

MODEL_FILE, ARRAYS_FILE = "tfidf.json", "tfidf.npz"
FORMAT_VERSION = 1
_ANALYZERS = ("word", "char", "char_wb")
_SETTINGS = {
    "analyzer",
    "ngram_range",
    "lowercase",
    "sublinear_tf",
    "binary",
    "norm",
    "use_idf",
    "smooth_idf",
    "strip_accents",
}


@dataclass(frozen=True)
class TfidfOptions:
    """What to train. The defaults were chosen on grouped validation splits (docs/benchmarks)."""

    word_ngrams: tuple[int, int] = (1, 3)
    char_ngrams: tuple[int, int] | None = (2, 5)
    min_df: int = 2
    max_features: int | None = None
    C: float = 10.0
    class_weight: str | None = "balanced"
    nbsvm: bool = True
    nbsvm_C: float = 4.0
    max_iter: int = 2000


def _vectorizer_settings(options: TfidfOptions) -> list[dict[str, Any]]:
    base = {
        "lowercase": True,
        "sublinear_tf": True,
        "norm": "l2",
        "use_idf": True,
        "smooth_idf": True,
        "strip_accents": "unicode",
        "binary": False,
    }
    settings = [{**base, "analyzer": "word", "ngram_range": list(options.word_ngrams)}]
    if options.char_ngrams:
        settings.append({**base, "analyzer": "char_wb", "ngram_range": list(options.char_ngrams)})
    return settings


def _check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = set(settings) - _SETTINGS
    low, high = settings.get("ngram_range", (None, None))
    ok = (
        not unknown
        and settings.get("analyzer") in _ANALYZERS
        and isinstance(low, int)
        and isinstance(high, int)
        and 1 <= low <= high <= 10
        and settings.get("norm") in ("l1", "l2", None)
        and settings.get("strip_accents") in ("ascii", "unicode", None)
    )
    if not ok:
        raise ConfigError(f"{MODEL_FILE}: vectorizer settings not allowed: {settings}")
    return {**settings, "ngram_range": (low, high)}


class TfidfModel:
    """Vectorizers + linear members; `predict_proba` gives one probability column per label."""

    def __init__(self, vectorizers: list[Any], members: list[dict[str, Any]], labels: list[str]):
        self.vectorizers, self.members, self.labels = vectorizers, members, labels

    def features(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorizers], format="csr")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)))
        x = self.features(list(texts))
        total = np.zeros((x.shape[0], len(self.labels)))
        for member in self.members:
            total += member["weight"] * _proba(x @ member["coef"].T + member["intercept"])
        return total / sum(m["weight"] for m in self.members)

    def save(self, directory: str | os.PathLike[str]) -> None:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        described = {
            "format_version": FORMAT_VERSION,
            "labels": self.labels,
            "vectorizers": [
                {
                    "settings": _saved_settings(v),
                    "vocabulary": sorted(v.vocabulary_, key=v.vocabulary_.get),
                }
                for v in self.vectorizers
            ],
            "members": [{"name": m["name"], "weight": m["weight"]} for m in self.members],
        }
        (out / MODEL_FILE).write_text(json.dumps(described, ensure_ascii=False), encoding="utf-8")
        arrays = {f"idf_{i}": v.idf_ for i, v in enumerate(self.vectorizers)}
        for i, m in enumerate(self.members):
            arrays[f"coef_{i}"] = np.asarray(m["coef"], dtype=np.float32)
            arrays[f"intercept_{i}"] = np.asarray(m["intercept"], dtype=np.float64)
        np.savez_compressed(out / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TfidfModel:
        from sklearn.feature_extraction.text import TfidfVectorizer

        root = Path(directory)
        try:
            described = json.loads((root / MODEL_FILE).read_text(encoding="utf-8"))
            arrays = dict(np.load(root / ARRAYS_FILE, allow_pickle=False))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{root} is not a TF-IDF model directory: {exc.filename} is missing"
            ) from exc
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{root}: cannot read the TF-IDF model: {exc}") from exc
        if described.get("format_version") != FORMAT_VERSION:
            raise ConfigError(
                f"{root}: TF-IDF format {described.get('format_version')} is not "
                f"supported (expected {FORMAT_VERSION})"
            )
        vectorizers = []
        for i, spec in enumerate(described["vectorizers"]):
            terms = [str(t) for t in spec["vocabulary"]]
            vec = TfidfVectorizer(
                **_check_settings(spec["settings"]), vocabulary={t: n for n, t in enumerate(terms)}
            )
            vec.idf_ = arrays[f"idf_{i}"]
            vectorizers.append(vec)
        members = [
            {
                "name": str(m["name"]),
                "weight": float(m["weight"]),
                "coef": arrays[f"coef_{i}"],
                "intercept": arrays[f"intercept_{i}"],
            }
            for i, m in enumerate(described["members"])
        ]
        return cls(vectorizers, members, [str(label) for label in described["labels"]])


def _saved_settings(vectorizer: Any) -> dict[str, Any]:
    params = vectorizer.get_params()
    return {
        key: list(params[key]) if key == "ngram_range" else params[key] for key in sorted(_SETTINGS)
    }


def _proba(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape[1] == 1:  # binary: one column for the second label
        p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        return np.column_stack([1.0 - p, p])
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def fit_tfidf(
    texts: Sequence[str],
    y: Sequence[int],
    labels: Sequence[str],
    options: TfidfOptions | None = None,
) -> TfidfModel:
    """Fit vectorizers and members on (texts, label indices into `labels`)."""
    from scipy.sparse import diags
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    options = options or TfidfOptions()
    target = np.asarray(y)
    present = sorted(set(target.tolist()))
    if len(present) < 2:
        raise ConfigError(f"training data hold only one label ({[labels[i] for i in present]})")
    vectorizers = [
        TfidfVectorizer(
            **_check_settings(s),
            min_df=options.min_df,
            max_features=options.max_features,
            dtype=np.float32,
        )
        for s in _vectorizer_settings(options)
    ]
    from scipy.sparse import hstack

    x = hstack([v.fit_transform(texts) for v in vectorizers], format="csr")
    binary = len(labels) == 2
    solver = "liblinear" if binary else "lbfgs"
    lr = LogisticRegression(
        C=options.C, class_weight=options.class_weight, max_iter=options.max_iter, solver=solver
    )
    lr.fit(x, target)
    members = [_member("logistic_regression", lr, labels, present)]
    if options.nbsvm and binary:
        ratio = _nb_ratio(x, target)
        nb = LogisticRegression(
            C=options.nbsvm_C,
            class_weight=options.class_weight,
            max_iter=options.max_iter,
            solver="liblinear",
        )
        nb.fit(x @ diags(ratio), target)
        member = _member("nbsvm", nb, labels, present)
        member["coef"] = member["coef"] * ratio[None, :]
        members.append(member)
    return TfidfModel(vectorizers, members, list(labels))


def _nb_ratio(x: Any, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Naive-Bayes log-count ratio of each feature (positive = label index 1)."""
    p = alpha + np.asarray(x[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[y != 1].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)  # type: ignore[no-any-return]


def _member(name: str, model: Any, labels: Sequence[str], present: list[int]) -> dict[str, Any]:
    """A fitted sklearn model as plain arrays over all `labels` (absent labels never win)."""
    coef, intercept = np.asarray(model.coef_), np.asarray(model.intercept_)
    if len(labels) > 2 and len(present) < len(labels):
        full_coef = np.zeros((len(labels), coef.shape[1]), dtype=coef.dtype)
        full_int = np.full(len(labels), -1e4)
        full_coef[present], full_int[present] = coef, intercept
        coef, intercept = full_coef, full_int
    return {
        "name": name,
        "weight": 1.0,
        "coef": coef.astype(np.float32),
        "intercept": intercept.astype(np.float64),
    }


def options_dict(options: TfidfOptions) -> dict[str, Any]:
    return asdict(options)


def options_from(options: Mapping[str, Any]) -> TfidfOptions:
    """`TfidfOptions` from a mapping of its fields (a config table, ``--option`` values);
    an unknown field is a `ConfigError`."""
    try:
        return TfidfOptions(**options)
    except TypeError as exc:
        raise ConfigError(f"unknown TF-IDF option: {exc}") from exc
