"""TF-IDF model variants under grouped 5-fold cross-validation (ADE corpus, PsyTAR reviews).

Each fold: the model trains on the train part, the threshold (best F1) is chosen on the
validation part, F1 is measured on the held-out test part (whole articles / whole reviews,
deduplicated). Writes benchmarks/results/tfidf_variants.{json,md}.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/tfidf_variants.py [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from bench_common import RESULTS, ade, data_dir, psytar, union  # benchmarks/ is sys.path[0]

from adverse_events.training.cross_fit import out_of_fold_scores
from adverse_events.training.datasets import Dataset
from adverse_events.training.metrics import choose_threshold, evaluate
from adverse_events.training.splits import kfold
from adverse_events.training.tfidf import TfidfOptions, fit_tfidf

VARIANTS = {
    "word 1-2, LR (baseline)": TfidfOptions((1, 2), None, 1, None, 1.0, None, False),
    "+ balanced class weights": TfidfOptions((1, 2), None, 1, None, 1.0, "balanced", False),
    "+ char_wb 2-5, word 1-3, C=10": TfidfOptions((1, 3), (2, 5), 2, None, 10.0, "balanced", False),
    "+ NB-SVM member (default)": TfidfOptions(),
}
#: same model, threshold from 5-fold out-of-fold scores of train + validation, refit on both
CROSS_FIT = {
    "+ cross-fitted threshold, refit (default recipe)": TfidfOptions(),
    "+ cross-fit, C=3, min_df=1": TfidfOptions(min_df=1, C=3.0),
}


def data(root: Path) -> dict[str, Dataset]:
    return {"ade_corpus_v2": ade(root), "psytar": psytar(root)}


def run_fold(
    train: Dataset,
    parts: dict[str, tuple[Dataset, Dataset]],
    options: TfidfOptions,
    cross_fit: bool = False,
) -> dict[str, float]:
    if cross_fit:  # what `adverse-events train --model tfidf` does
        ((validation, test),) = parts.values()
        both = union([train, validation])
        oof = out_of_fold_scores(both, "grouped", 42, 5, asdict(options))
        model = fit_tfidf(both.texts, both.y, both.labels, options)
        pos = model.labels.index(test.positive_label)
        ok = ~np.isnan(oof)
        threshold = choose_threshold(np.asarray(both.binary)[ok], oof[ok])
        metrics = evaluate(test.binary, model.predict_proba(test.texts)[:, pos], threshold)
        name = next(iter(parts))
        return {name: metrics["f1"], f"{name}_roc_auc": metrics["roc_auc"]}
    model = fit_tfidf(train.texts, train.y, train.labels, options)
    out = {}
    for name, (validation, test) in parts.items():
        pos = model.labels.index(test.positive_label)
        threshold = choose_threshold(
            validation.binary, model.predict_proba(validation.texts)[:, pos]
        )
        metrics = evaluate(test.binary, model.predict_proba(test.texts)[:, pos], threshold)
        out[name] = metrics["f1"]
        out[f"{name}_roc_auc"] = metrics["roc_auc"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    corpora = data(data_dir())
    folds = {
        name: list(kfold(d, args.folds, "grouped", seed=args.seed)) for name, d in corpora.items()
    }
    rows = []
    variants = [(v, o, False) for v, o in VARIANTS.items()]
    variants += [(v, o, True) for v, o in CROSS_FIT.items()]
    for variant, options, cross_fit in variants:
        for corpus, splits in folds.items():
            start, scores, aucs = time.time(), [], []
            for split in splits:
                result = run_fold(
                    split.part("train"),
                    {corpus: (split.part("validation"), split.part("test"))},
                    options,
                    cross_fit,
                )
                scores.append(result[corpus])
                aucs.append(result[f"{corpus}_roc_auc"])
            rows.append(_row(variant, corpus, corpus, scores, aucs, time.time() - start))
            print(rows[-1], flush=True)
    # both corpora in training, each measured on its own held-out fold
    start = time.time()
    per: dict[str, tuple[list[float], list[float]]] = {c: ([], []) for c in folds}
    for i in range(args.folds):
        train = union([folds[c][i].part("train") for c in folds])
        result = run_fold(
            train,
            {c: (folds[c][i].part("validation"), folds[c][i].part("test")) for c in folds},
            TfidfOptions(),
        )
        for c in folds:
            per[c][0].append(result[c])
            per[c][1].append(result[f"{c}_roc_auc"])
    for c, (scores, aucs) in per.items():
        rows.append(
            _row(
                "default, trained on both corpora",
                "ade_corpus_v2 + psytar",
                c,
                scores,
                aucs,
                time.time() - start,
            )
        )
        print(rows[-1], flush=True)
    out = RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / "tfidf_variants.json").write_text(
        json.dumps(
            {"folds": args.folds, "seed": args.seed, "protocol": "grouped", "rows": rows}, indent=2
        )
    )
    lines = [
        "| variant | trained on | tested on | F1 (mean ± sd) | ROC-AUC | seconds |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['variant']} | {r['trained_on']} | {r['tested_on']} | {r['f1_mean']:.3f} ± "
        f"{r['f1_sd']:.3f} | {r['roc_auc_mean']:.3f} | {r['seconds']:.0f} |"
        for r in rows
    ]
    (out / "tfidf_variants.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _row(
    variant: str, trained: str, tested: str, scores: list[float], aucs: list[float], seconds: float
) -> dict[str, object]:
    return {
        "variant": variant,
        "trained_on": trained,
        "tested_on": tested,
        "f1_mean": float(np.mean(scores)),
        "f1_sd": statistics.pstdev(scores),
        "roc_auc_mean": float(np.mean(aucs)),
        "f1_folds": scores,
        "seconds": seconds,
    }


if __name__ == "__main__":
    main()
