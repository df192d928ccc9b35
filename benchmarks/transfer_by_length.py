"""Short posts: cross-drug F1 by sentence length, from the saved scores of `transfer.py` runs.

Tweets are one-liners; the shared data hold no labelled tweets, so this looks at the nearest
thing they do hold: the short sentences of the cross-drug test sides. For each run (and the
ensemble of an encoder run with TF-IDF, mean log-odds, as the shipped default), F1 of the
adverse-event class per length bucket (words), all seeds pooled. Does the TF-IDF member, which
the issue measured at about 0.5 F1 on tweets, pull the ensemble down on short text?

Needs the cached scores (``benchmarks/.cache/transfer/NAME.SEED.DIRECTION.npz``, written by
``transfer.py``) and the shared data. Results: ``benchmarks/results/transfer_by_length.{json,md}``.

    PYTHONPATH=src python benchmarks/transfer_by_length.py mean-llrd mean-ep6
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import write_results  # noqa: E402
from transfer import (  # noqa: E402  (benchmarks/ is on sys.path)
    CACHE,
    CROSS_DRUG,
    RESULTS,
    parse_args,
    sides,
    transfer_split,
)

from adverse_events.classifiers.ensemble import mean_log_odds  # noqa: E402
from adverse_events.training.metrics import evaluate  # noqa: E402

BUCKETS = ((1, 8), (9, 15), (16, 10_000))
SEEDS = (42, 7, 13)


def test_texts(direction: str) -> list[str]:
    """The test side of `direction` in the order `transfer.py` scored it (seed-independent)."""
    args = parse_args(["sides", "--model", "tfidf"])  # transfer.py's defaults
    train_side, test_side = sides(direction, args)
    split, _ = transfer_split(train_side, test_side, args.seed, args.validation_size)
    return list(split.part("test").texts)


def bucket_of(text: str) -> str:
    n = len(text.split())
    low, high = next(b for b in BUCKETS if b[0] <= n <= b[1])
    return f"{low}-{high}" if high < 10_000 else f"{low}+"


def scores(name: str, seed: int, direction: str) -> tuple[np.ndarray, np.ndarray] | None:
    path = CACHE / f"{name}.{seed}.{direction}.npz"
    if not path.is_file():
        return None
    data = np.load(path)
    return np.asarray(data["test_y"]), np.asarray(data["test_scores"])


def f1_at(y: np.ndarray, s: np.ndarray, cut: float) -> float:
    return round(float(evaluate(y.tolist(), s, cut)["f1"]), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("encoders", nargs="+", help="encoder run names in transfer.json")
    args = parser.parse_args()
    report: dict[str, Any] = {"buckets": {}, "sentences": {}}
    for direction in CROSS_DRUG:
        buckets = np.array([bucket_of(t) for t in test_texts(direction)])
        report["sentences"][direction] = dict(Counter(buckets.tolist()))
        for model in ("tfidf", *args.encoders, *(f"{e} + tfidf" for e in args.encoders)):
            members = model.split(" + ")
            pooled: dict[str, tuple[list[Any], list[Any]]] = {}
            for seed in SEEDS:
                runs = [scores(m, seed, direction) for m in members]
                found = [r for r in runs if r is not None]
                if len(found) < len(runs):
                    continue
                y = found[0][0]
                s = (
                    np.array([mean_log_odds(r) for r in zip(*(f[1] for f in found), strict=True)])
                    if len(found) > 1
                    else found[0][1]
                )
                for name in sorted(set(buckets.tolist())):
                    keep = buckets == name
                    ys, ss = pooled.setdefault(name, ([], []))
                    ys.append(y[keep])
                    ss.append(s[keep])
            for name, (ys, ss) in pooled.items():
                y_all, s_all = np.concatenate(ys), np.concatenate(ss)
                row = report["buckets"].setdefault(direction, {}).setdefault(model, {})
                row[name] = f1_at(y_all, s_all, 0.5)
    write_results(RESULTS / "transfer_by_length", report, markdown(report))


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Cross-drug F1 by sentence length (threshold 0.5, seeds 42 / 7 / 13 pooled)",
        "",
        "Written by `benchmarks/transfer_by_length.py` from the saved scores of `transfer.py`.",
        "",
    ]
    for direction, models in report["buckets"].items():
        names = sorted(
            report["sentences"][direction], key=lambda b: int(b.split("-")[0].rstrip("+"))
        )
        counts = report["sentences"][direction]
        lines += [
            f"## {direction}",
            "",
            "| model | " + " | ".join(f"{b} words ({counts[b]} sentences)" for b in names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for model, row in models.items():
            lines.append(f"| {model} | " + " | ".join(f"{row.get(b, '')}" for b in names) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
