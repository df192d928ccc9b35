"""Stacking the TF-IDF probability with CRF mention evidence, under grouped 5-fold CV.

Same outer folds as `tfidf_variants.py` (grouped, seed 42). In each outer fold the training
part is train + validation; inside it, 5 grouped inner folds give out-of-fold (a) TF-IDF
probabilities and (b) mention features from a CRF (`extractors.lexicon.train_lexicon`) trained
only on the span annotations of the inner-training groups (texts equal to a held-out text are
dropped as well). A small logistic regression (the stacker) is fit on those out-of-fold
features; its threshold comes from its own cross-validated predictions. Then TF-IDF and CRF are
refit on the whole training part and the stacker is applied to the held-out test fold, whose
articles / reviews no model, CRF or threshold has seen.

Per-fold feature arrays are cached in --cache so stacker variants are cheap to compare.
Writes benchmarks/results/tfidf_mentions.{json,md}.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/tfidf_mentions.py [--corpora psytar]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from bench_common import RESULTS, ade, data_dir, psytar, union  # benchmarks/ is sys.path[0]

from adverse_events.training.datasets import Dataset
from adverse_events.training.mention_features import (
    FEATURE_NAMES,
    TEXT_FEATURE_NAMES,
    mention_features,
    span_examples_for,
    text_features,
)
from adverse_events.training.metrics import choose_threshold, evaluate
from adverse_events.training.splits import kfold
from adverse_events.training.tfidf import TfidfOptions, fit_tfidf

#: train the lexicon's second-stage span filter too (`--span-filter`; about twice the CRF time)
SPAN_FILTER = False


def _crf(spans, train: Dataset, exclude: list[str]):
    from adverse_events.extractors.lexicon import train_lexicon

    examples = span_examples_for(spans, {e.group for e in train.examples}, exclude)
    with tempfile.TemporaryDirectory() as tmp:
        return train_lexicon(examples, Path(tmp) / "crf", span_filter=SPAN_FILTER)


def fold_arrays(corpus: str, training: Dataset, test: Dataset, spans) -> dict[str, np.ndarray]:
    """Out-of-fold features of `training` and features of `test` from models fit on `training`."""
    options = TfidfOptions()
    pos = training.labels.index(training.positive_label)
    n = len(training)
    oof_p = np.full(n, np.nan)
    oof_m = np.full((n, len(FEATURE_NAMES)), np.nan)
    for part in kfold(training, 5, "grouped", seed=42 + 7, validation_size=0.0):
        inner_train, inner_test = part.part("train"), part.part("test")
        model = fit_tfidf(inner_train.texts, inner_train.y, training.labels, options)
        oof_p[part.test] = model.predict_proba(inner_test.texts)[:, pos]
        crf = _crf(spans, inner_train, inner_test.texts)
        oof_m[part.test] = mention_features(crf, inner_test.texts)
    model = fit_tfidf(training.texts, training.y, training.labels, options)
    crf = _crf(spans, training, test.texts)
    return {
        "oof_p": oof_p,
        "oof_m": oof_m,
        "oof_t": text_features(training.texts),
        "y": np.asarray(training.binary),
        "groups": np.asarray([e.group for e in training.examples]),
        "test_p": model.predict_proba(test.texts)[:, pos],
        "test_m": mention_features(crf, test.texts),
        "test_t": text_features(test.texts),
        "test_y": np.asarray(test.binary),
    }


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _design(a: dict[str, np.ndarray], prefix: str, variant: str) -> np.ndarray:
    cols = [_logit(a[f"{prefix}p"])[:, None]]
    if "mentions" in variant:
        cols.append(a[f"{prefix}m"])
    if "text" in variant:
        cols.append(a[f"{prefix}t"])
    return np.hstack(cols)


def stack(a: dict[str, np.ndarray], variant: str) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    ok = ~np.isnan(a["oof_p"]) & ~np.isnan(a["oof_m"]).any(axis=1)
    x, y, groups = _design(a, "oof_", variant)[ok], a["y"][ok], a["groups"][ok]
    x_test = _design(a, "test_", variant)
    if variant == "tfidf only":  # the default recipe: threshold on the raw OOF probabilities
        threshold = choose_threshold(y, a["oof_p"][ok])
        return evaluate(a["test_y"], a["test_p"], threshold)

    def fit(xs: np.ndarray, ys: np.ndarray):
        scaler = StandardScaler().fit(xs)
        lr = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(xs), ys)
        return lambda z: lr.predict_proba(scaler.transform(z))[:, 1]

    cv = np.zeros(len(y))
    for tr, te in GroupKFold(5).split(x, y, groups):
        cv[te] = fit(x[tr], y[tr])(x[te])
    threshold = choose_threshold(y, cv)
    return evaluate(a["test_y"], fit(x, y)(x_test), threshold)


VARIANTS = ("tfidf only", "tfidf + text", "tfidf + mentions", "tfidf + mentions + text")


def main() -> None:
    from adverse_events.extractors.corpora import load_ade, load_psytar

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", nargs="+", default=["psytar", "ade_corpus_v2"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "tfidf_mentions"))
    parser.add_argument("--span-filter", action="store_true")
    args = parser.parse_args()
    global SPAN_FILTER
    SPAN_FILTER = args.span_filter
    root = data_dir()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    loaders = {
        "psytar": (lambda: psytar(root), lambda: load_psytar(root)),
        "ade_corpus_v2": (lambda: ade(root), lambda: load_ade(root)),
    }
    results_file = RESULTS / "tfidf_mentions.json"
    rows = json.loads(results_file.read_text())["rows"] if results_file.exists() else []
    for corpus in args.corpora:
        data, spans = loaders[corpus][0](), loaders[corpus][1]()
        if corpus == "ade_corpus_v2":  # sentences without a drug-AE relation: no AE spans
            spans = spans + _ade_negatives(data)
        scores: dict[str, list[dict[str, float]]] = defaultdict(list)
        for i, split in enumerate(kfold(data, args.folds, "grouped", seed=42)):
            file = cache / f"{corpus}{'_filter' if SPAN_FILTER else ''}_{i}.npz"
            if file.exists():
                arrays = dict(np.load(file))
            else:
                start = time.time()
                training = union([split.part("train"), split.part("validation")])
                arrays = fold_arrays(corpus, training, split.part("test"), spans)
                np.savez(file, **arrays)
                print(f"{corpus} fold {i}: features in {time.time() - start:.0f} s", flush=True)
            for variant in VARIANTS:
                scores[variant].append(stack(arrays, variant))
        crf = "CRF + span filter" if SPAN_FILTER else "CRF"
        rows = [r for r in rows if (r["corpus"], r.get("crf", "CRF")) != (corpus, crf)]
        for variant, metrics in scores.items():
            f1 = [m["f1"] for m in metrics]
            rows.append(
                {
                    "corpus": corpus,
                    "crf": crf,
                    "variant": variant,
                    "f1_mean": float(np.mean(f1)),
                    "f1_sd": statistics.pstdev(f1),
                    "f1_folds": f1,
                    "roc_auc_mean": float(np.mean([m["roc_auc"] for m in metrics])),
                }
            )
            print(rows[-1], flush=True)
    results_file.write_text(
        json.dumps(
            {
                "folds": args.folds,
                "seed": 42,
                "protocol": "grouped",
                "features": list(FEATURE_NAMES) + list(TEXT_FEATURE_NAMES),
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    lines = ["| variant | mention model | corpus | F1 (mean ± sd) | ROC-AUC |"]
    lines += ["|---|---|---|---|---|"]
    lines += [
        f"| {r['variant']} | {r.get('crf', 'CRF')} | {r['corpus']} | "
        f"{r['f1_mean']:.3f} ± {r['f1_sd']:.3f} | "
        f"{r['roc_auc_mean']:.3f} |"
        for r in rows
    ]
    results_file.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _ade_negatives(data: Dataset):
    from adverse_events.extractors.corpora import SpanExample

    return [
        SpanExample(e.text, (), e.group.removeprefix("pmid:"), "ade")
        for e in data.examples
        if e.label != data.positive_label
    ]


if __name__ == "__main__":
    main()
