"""Transfer, not in-corpus scores: how a recipe does on drugs and corpora it never saw.

Four directions, each trained on one side and tested on the other, the threshold chosen on a
grouped validation part of the TRAINING side only (the test side is scored once):

* ``lexapro-zoloft`` / ``zoloft-lexapro``: PsyTAR reviews of one drug -> the other drug;
* ``ade-psytar``: ADE corpus (PubMed case reports) -> all PsyTAR sentences; the ADE training side
  is a seeded stratified sample of ``--ade-train-size`` sentences (default 3,000 of 20,966) so
  an encoder run stays within about 6 minutes on 2 cores;
* ``psytar-ade``: all PsyTAR sentences -> a seeded random sample of ``--ade-test-size`` ADE
  sentences (default 5,000, natural label ratio).

``--add-ade N`` trains the cross-drug directions on the drug's reviews plus a seeded stratified
sample of N ADE-corpus sentences (the two corpora together; the test side is unchanged).

Test texts whose normalised form also occurs on the training side are dropped (counted as
``dropped_overlap``). Every figure is the adverse-event class at the model's own threshold,
scored through the serving classifier loaded from the saved model directory (the path users
get). Each run's validation and test scores go to ``benchmarks/.cache/transfer/`` so that
``--ensemble A B`` can combine finished runs without retraining (mean of the two members'
log-odds; its threshold again chosen on the training side's validation scores).

Results: ``benchmarks/results/transfer.json`` (every run: recipe, seconds, figures, machine)
and ``benchmarks/results/transfer.md`` (the table, rebuilt from the JSON each time).

    PYTHONPATH=src python benchmarks/transfer.py tfidf --model tfidf
    PYTHONPATH=src python benchmarks/transfer.py minilm-base \\
        --model ../shared/models/all-MiniLM-L6-v2 --set epochs=4 --set batch_size=32
    PYTHONPATH=src python benchmarks/transfer.py ens --ensemble tfidf minilm-base
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import finish, with_run  # noqa: E402  (the shared machine description)

import adverse_events.classifiers.tfidf  # noqa: E402, F401
import adverse_events.classifiers.transformers  # noqa: E402, F401

# every module a run uses is imported now, so that edits to the source tree during a long
# run cannot mix two versions of the library in one process
import adverse_events.classifiers.transformers.pooling  # noqa: E402, F401
import adverse_events.text.social  # noqa: E402, F401
import adverse_events.training.tfidf  # noqa: E402, F401
import adverse_events.training.transformers  # noqa: E402, F401
from adverse_events.classifiers.ensemble import mean_log_odds  # noqa: E402
from adverse_events.registry import get_registry  # noqa: E402
from adverse_events.training.datasets import Dataset  # noqa: E402
from adverse_events.training.metrics import choose_threshold, evaluate  # noqa: E402
from adverse_events.training.splits import Split, make_split, normalise  # noqa: E402
from adverse_events.training.workflow import load_data, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / "benchmarks" / ".cache" / "transfer"
DIRECTIONS = ("lexapro-zoloft", "zoloft-lexapro", "ade-psytar", "psytar-ade")
CROSS_DRUG = DIRECTIONS[:2]
FIGURES = ("f1", "precision", "recall", "roc_auc", "pr_auc", "threshold")


def data_root() -> Path:
    return Path(os.environ.get("ADVERSE_EVENTS_DATA", ROOT / ".." / "shared" / "data"))


def psytar(root: Path, auxiliary: Sequence[str] = ()) -> Dataset:
    """PsyTAR sentences labelled ADR (with `auxiliary` label columns for multi-task runs)."""
    return load_data(
        [root / "psytar" / "sentences.csv"],
        label_column="ADR",
        group_column="post_id",
        auxiliary_columns=auxiliary,
    )


def ade(root: Path) -> Dataset:
    return load_data([root / "ade_corpus_v2"])


def drug_of(example: Any) -> str:
    """PsyTAR groups are review ids such as ``lexapro.12``."""
    return str(example.group).split(".", 1)[0]


def sample(data: Dataset, size: int | None, seed: int, stratify: bool) -> Dataset:
    """A seeded sample of `size` examples (all when size is None or larger than the data)."""
    if size is None or size >= len(data):
        return data
    rng = np.random.default_rng(seed)
    if not stratify:
        return data.subset(sorted(rng.choice(len(data), size, replace=False).tolist()))
    y = np.asarray(data.binary)
    keep: list[int] = []
    for label in (0, 1):
        pool = np.flatnonzero(y == label)
        take = round(size * len(pool) / len(y))
        keep += rng.choice(pool, take, replace=False).tolist()
    return data.subset(sorted(keep))


def sides(direction: str, args: argparse.Namespace) -> tuple[Dataset, Dataset]:
    """(training side, test side) of a direction."""
    root = data_root()
    auxiliary = tuple(c for c in args.auxiliary_columns.split(",") if c)
    if direction in CROSS_DRUG:
        source, target = direction.split("-")
        data = psytar(root, auxiliary)
        by_drug = {
            d: [i for i, e in enumerate(data.examples) if drug_of(e) == d] for d in (source, target)
        }
        train_side = data.subset(by_drug[source])
        if args.add_ade:  # PsyTAR and the ADE corpus together (the ADE side has no aux labels)
            extra = sample(ade(root), args.add_ade, args.seed, stratify=True)
            train_side = Dataset(
                train_side.examples + extra.examples,
                train_side.labels,
                train_side.positive_label,
                train_side.reports + extra.reports,
            )
        return train_side, data.subset(by_drug[target])
    if direction == "ade-psytar":
        return sample(ade(root), args.ade_train_size, args.seed, stratify=True), psytar(root)
    return psytar(root, auxiliary), sample(ade(root), args.ade_test_size, args.seed, stratify=False)


def transfer_split(
    train_side: Dataset, test_side: Dataset, seed: int, validation_size: float
) -> tuple[Split, int]:
    """A `Split` whose train/validation parts are a grouped split of the training side and
    whose test part is the test side minus texts seen on the training side."""
    inner = make_split(
        train_side, "grouped", seed=seed, test_size=validation_size, validation_size=0.0
    )
    seen = {normalise(t) for t in train_side.texts}
    test_keep = [i for i, t in enumerate(test_side.texts) if normalise(t) not in seen]
    both = Dataset(
        train_side.examples + [test_side.examples[i] for i in test_keep],
        train_side.labels,
        train_side.positive_label,
        train_side.reports + test_side.reports,
    )
    offset = len(train_side)
    split = Split(
        "transfer",
        seed,
        both,
        inner.train,
        inner.test,
        list(range(offset, offset + len(test_keep))),
        removed=inner.removed,
    )
    return split, len(test_side) - len(test_keep)


def serving_scores(model_dir: Path, texts: Sequence[str]) -> np.ndarray:
    """P(adverse event) from the classifier users load (fp32, so figures match training)."""
    info = json.loads((model_dir / "adverse_events.json").read_text())
    cls = get_registry().resolve("classifier", info["kind"])
    options = {"precision": "fp32", "runtime": "torch"} if info["kind"] == "transformers" else {}
    with cls(str(model_dir), **options) as classifier:
        return np.asarray([p.score for p in classifier.classify(list(texts))])


_TAGS = ("#depression", "#anxiety", "#mentalhealth", "#SSRI", "#meds")
_EMOJIS = ("\U0001f629", "\U0001f602", "\U0001f64f", "\U0001f48a", "\U0001f610")
_SHORT = {"because": "bc", "with": "w/", "you": "u", "your": "ur", "please": "pls"}


def tweet_style(text: str, rng: random.Random, drug: str) -> str:
    """A seeded tweet-style copy of `text`: the same words (so the same label), with the
    surface of a tweet added independently of the label: lower case, no final full stop, an
    @mention, a hashtag (the drug or a neutral topic), an elongated word, an emoji, a URL, and
    short forms (bc, w/, u). It tests robustness to that surface, not real tweet language."""
    words = text.split()
    if rng.random() < 0.5:
        words = [_SHORT.get(w.lower(), w) if rng.random() < 0.7 else w for w in words]
    if words and rng.random() < 0.3:
        i = rng.randrange(len(words))
        vowels = [j for j, c in enumerate(words[i]) if c.lower() in "aeiouy"]
        if vowels:
            j = vowels[-1]
            words[i] = words[i][:j] + words[i][j] * 5 + words[i][j + 1 :]
    out = " ".join(words)
    if rng.random() < 0.5:
        out = out.lower()
    if rng.random() < 0.7:
        out = out.rstrip(".")
    if rng.random() < 0.3:
        out = f"@{''.join(rng.choices('abcdefghijklmnop', k=6))}{rng.randint(1, 99)} {out}"
    if rng.random() < 0.5:
        out += " " + (f"#{drug}" if rng.random() < 0.5 else rng.choice(_TAGS))
    if rng.random() < 0.4:
        out += " " + rng.choice(_EMOJIS) * rng.randint(1, 3)
    if rng.random() < 0.2:
        out += f" https://t.co/{''.join(rng.choices('abcdefghijkXYZ0123456789', k=10))}"
    return out


def tweet_figures(model_dir: Path, test: Dataset, threshold: float, seed: int) -> dict[str, Any]:
    """Figures on the tweet-style copy of the test side, raw and through the social
    normaliser (the model's own preprocessing, if any, applies in both)."""
    from adverse_events.text.social import normalise_social

    rng = random.Random(seed)
    tweets = [tweet_style(e.text, rng, drug_of(e)) for e in test.examples]
    raw = serving_scores(model_dir, tweets)
    normalised = serving_scores(model_dir, [normalise_social(t) for t in tweets])
    return {
        "tweets": figures(test.binary, raw, threshold),
        "tweets_normalised": figures(test.binary, normalised, threshold),
    }


def threshold_rules(y: Sequence[int], scores: np.ndarray) -> dict[str, float]:
    """F1 at 0.5 (no threshold choice) and at the test side's own best threshold (an oracle,
    optimistic: it saw the test labels; only to tell how much threshold choice costs)."""
    oracle = choose_threshold(y, scores)
    return {
        "f1_at_0.5": figures(y, scores, 0.5)["f1"],
        "oracle_f1": figures(y, scores, oracle)["f1"],
    }


def figures(y: Sequence[int], scores: np.ndarray, threshold: float) -> dict[str, float]:
    metrics = evaluate(y, scores, threshold)
    return {k: round(float(metrics[k]), 4) for k in FIGURES}


def run_direction(
    direction: str, args: argparse.Namespace, options: dict[str, Any]
) -> dict[str, Any]:
    train_side, test_side = sides(direction, args)
    split, dropped = transfer_split(train_side, test_side, args.seed, args.validation_size)
    validation, test = split.part("validation"), split.part("test")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model"
        start = time.time()
        result = train(
            split.data,
            args.model,
            out,
            split="grouped",
            seed=args.seed,
            options=options,
            parts=split,
            preprocess=args.preprocess,
        )
        seconds = time.time() - start
        val_scores = serving_scores(out, validation.texts)
        test_scores = serving_scores(out, test.texts)
        threshold = result.info.threshold
        tweets = (
            tweet_figures(out, test, threshold, args.seed)
            if args.tweets and direction in CROSS_DRUG
            else {}
        )
    save_scores(
        args.name, args.seed, direction, validation.binary, val_scores, test.binary, test_scores
    )
    row = {
        "direction": direction,
        "seconds": round(seconds, 1),
        "train": len(split.train),
        "validation": len(split.validation),
        "test": len(test),
        "test_positives": int(sum(test.binary)),
        "dropped_overlap": dropped,
        **figures(test.binary, test_scores, threshold),
        "workflow_test_f1": round(float(result.info.metrics["test"]["f1"]), 4),
        **threshold_rules(test.binary, test_scores),
        **tweets,
    }
    print(json.dumps(row), flush=True)
    return row


def save_scores(name: str, seed: int, direction: str, *arrays: Sequence[float]) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    keys = ("val_y", "val_scores", "test_y", "test_scores")
    np.savez(
        CACHE / f"{name}.{seed}.{direction}.npz",
        **{k: np.asarray(a) for k, a in zip(keys, arrays, strict=True)},
    )


def run_ensemble(
    direction: str, members: Sequence[str], seed: int, cut: float | None = None
) -> dict[str, Any]:
    """Mean log-odds of finished runs (`EnsembleClassifier`'s rule); the threshold is `cut`, or
    chosen on their validation scores (training side) when `cut` is None."""
    loaded = [np.load(CACHE / f"{m}.{seed}.{direction}.npz") for m in members]

    def combine(key: str) -> np.ndarray:
        return np.array([mean_log_odds(row) for row in zip(*(d[key] for d in loaded), strict=True)])

    val_y, test_y = loaded[0]["val_y"], loaded[0]["test_y"]
    if any(not np.array_equal(d["test_y"], test_y) for d in loaded):
        raise SystemExit(f"{direction}: members were tested on different texts")
    val, test = combine("val_scores"), combine("test_scores")
    threshold = choose_threshold(val_y, val) if cut is None else cut
    row = {
        "direction": direction,
        "seconds": 0.0,
        "test": len(test_y),
        **figures(test_y.tolist(), test, threshold),
    }
    print(json.dumps(row), flush=True)
    return row


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def record(run: dict[str, Any]) -> None:
    """Add (or replace, by name + seed) one run in transfer.json and rebuild transfer.md."""
    path = RESULTS / "transfer.json"
    report = with_run(path, run, ("name", "seed"))
    finish(report, None)
    path.write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "transfer.md").write_text(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    """One row per recipe (seeds pooled: mean ± sd when there are several)."""
    m = report["machine"]
    lines = [
        "# Transfer: cross-drug and cross-corpus F1 of the adverse-event class",
        "",
        f"Written by `benchmarks/transfer.py`, {report['measured_at']}; "
        f"{m['platform']}, Python {m['python']}, {m['cpus']} CPUs. Threshold chosen on the "
        "training side's validation part; F1 / precision / recall at it; seconds = training "
        "+ threshold (one direction). Sampled sides: see `transfer.json`.",
        "",
        "| recipe | seeds | "
        + " | ".join(f"{d} F1 (P / R, AUC)" for d in DIRECTIONS)
        + " | s (cross-drug) |",
        "|---|---|" + "---|" * len(DIRECTIONS) + "---|",
    ]
    names: dict[str, list[dict[str, Any]]] = {}
    for run in report["runs"]:
        names.setdefault(run["name"], []).append(run)
    for name, runs in names.items():
        cells = []
        for direction in DIRECTIONS:
            rows = [r["directions"][direction] for r in runs if direction in r["directions"]]
            cells.append(_cell(rows))
        secs = [
            r["directions"][d]["seconds"] for r in runs for d in CROSS_DRUG if d in r["directions"]
        ]
        seconds = f"{statistics.mean(secs):.0f}" if secs else ""
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + f" | {seconds} |")
    lines += _fixed_cut_table(names)
    tweet_rows = [
        (name, run)
        for name, runs in names.items()
        for run in runs
        if any("tweets" in run["directions"].get(d, {}) for d in CROSS_DRUG)
    ]
    if tweet_rows:
        lines += [
            "",
            "Tweet-style copies of the cross-drug test sides (see `tweet_style`): F1 "
            "on the original test side -> the tweet-style copy -> the copy through "
            "`normalise_social`.",
            "",
            "| recipe | seed | " + " | ".join(CROSS_DRUG) + " |",
            "|---|---|---|---|",
        ]
        for name, run in tweet_rows:
            cells = []
            for d in CROSS_DRUG:
                row = run["directions"].get(d, {})
                cells.append(
                    f"{row['f1']:.3f} -> {row['tweets']['f1']:.3f} -> "
                    f"{row['tweets_normalised']['f1']:.3f}"
                    if "tweets" in row
                    else ""
                )
            lines.append(f"| {name} | {run['seed']} | " + " | ".join(cells) + " |")
    lines += ["", "Recipes (options over the library defaults):", ""]
    for name, runs in names.items():
        lines.append(f"- **{name}**: {runs[0]['recipe']}")
    return "\n".join(lines) + "\n"


def _fixed_cut_table(names: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Single models scored at the fixed cut 0.5 (``f1_at_0.5``: no threshold choice, the rule
    the ensembles' "cut 0.5" rows use), seeds pooled like the main table."""
    lines = [
        "",
        "Single models at the fixed cut 0.5 (no threshold chosen; F1 only): the same runs as "
        "above, scored with the rule of the `cut 0.5` ensembles.",
        "",
        "| recipe | seeds | " + " | ".join(f"{d} F1 at 0.5" for d in CROSS_DRUG) + " |",
        "|---|---|---|---|",
    ]
    rows = 0
    for name, runs in names.items():
        cells = []
        for direction in CROSS_DRUG:
            f1 = [
                r["directions"][direction]["f1_at_0.5"]
                for r in runs
                if "f1_at_0.5" in r["directions"].get(direction, {})
            ]
            spread = f" ± {statistics.pstdev(f1):.3f}" if len(f1) > 1 else ""
            cells.append(f"**{statistics.mean(f1):.3f}**{spread}" if f1 else "")
        if any(cells):
            rows += 1
            lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    return lines if rows else []


def _cell(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    f1 = [r["f1"] for r in rows]
    spread = f" ± {statistics.pstdev(f1):.3f}" if len(f1) > 1 else ""
    mean = {k: statistics.mean(r[k] for r in rows) for k in ("precision", "recall", "roc_auc")}
    return (
        f"**{statistics.mean(f1):.3f}**{spread} ({mean['precision']:.2f} / "
        f"{mean['recall']:.2f}, {mean['roc_auc']:.3f})"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("name", help="the recipe's name in the results")
    p.add_argument("--model", help="tfidf, a hub id or a local encoder directory")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a TransformerOptions / TF-IDF option (JSON value), repeatable",
    )
    p.add_argument(
        "--ensemble",
        nargs="+",
        metavar="RUN",
        help="combine finished runs (same seed) instead of training",
    )
    p.add_argument(
        "--cut",
        type=float,
        default=None,
        help="with --ensemble: a fixed threshold instead of one chosen on validation",
    )
    p.add_argument(
        "--directions",
        default=",".join(CROSS_DRUG),
        help=f"comma-separated, of {', '.join(DIRECTIONS)} (or 'all')",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--validation-size", type=float, default=0.1)
    p.add_argument("--ade-train-size", type=int, default=3000)
    p.add_argument("--ade-test-size", type=int, default=5000)
    p.add_argument("--preprocess", default=None, help="text preprocessing ('social')")
    p.add_argument(
        "--add-ade",
        type=int,
        default=0,
        metavar="N",
        help="cross-drug directions: also train on a seeded stratified sample of N ADE-corpus "
        "sentences (PsyTAR and the ADE corpus together)",
    )
    p.add_argument(
        "--auxiliary-columns",
        default="",
        metavar="WD,EF,...",
        help="PsyTAR label columns trained as extra tasks (multi-task runs)",
    )
    p.add_argument(
        "--tweets",
        action="store_true",
        help="also score a tweet-style copy of the cross-drug test sides",
    )
    p.add_argument("--note", default="", help="free text kept with the run")
    args = p.parse_args(argv)
    if bool(args.model) == bool(args.ensemble):
        p.error("give --model or --ensemble")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    directions = DIRECTIONS if args.directions == "all" else tuple(args.directions.split(","))
    options = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    if args.model and args.model != "tfidf":
        options = {"progress": False, "device": "cpu", **options}
    path = RESULTS / "transfer.json"
    old = json.loads(path.read_text()) if path.is_file() else {"runs": []}
    previous = next(
        (r for r in old["runs"] if (r["name"], r["seed"]) == (args.name, args.seed)), None
    )
    rows = dict(previous["directions"]) if previous else {}
    for direction in directions:
        if args.ensemble:
            rows[direction] = run_ensemble(direction, args.ensemble, args.seed, args.cut)
        else:
            rows[direction] = run_direction(direction, args, options)
        recipe = (
            f"ensemble of {' + '.join(args.ensemble)} (mean log-odds, "
            + (f"fixed cut {args.cut})" if args.cut is not None else "cut chosen on validation)")
            if args.ensemble
            else f"model={Path(args.model).name} {json.dumps(options)}"
            + (f" preprocess={args.preprocess}" if args.preprocess else "")
            + (f" auxiliary={args.auxiliary_columns}" if args.auxiliary_columns else "")
            + (f" add_ade={args.add_ade}" if args.add_ade else "")
        )
        record(
            {
                "name": args.name,
                "seed": args.seed,
                "recipe": recipe,
                "note": args.note,
                "ade_train_size": args.ade_train_size,
                "ade_test_size": args.ade_test_size,
                "validation_size": args.validation_size,
                "directions": rows,
            }
        )


if __name__ == "__main__":
    main()
