"""The shipped default classifier on 2 cores: first load, sentences/s, agreement with fp32.

In one process, on one input set (PsyTAR review sentences and ADE-corpus sentences from
``$ADVERSE_EVENTS_DATA``, default ``../shared/data``), measures:

* the shipped default (`DefaultClassifier`: the fine-tuned encoder as ONNX int8, the same as
  `TransformersClassifier("builtin")`);
* the shipped TF-IDF model (the default's fallback where ONNX Runtime is not installed);
* ``transformers.pipeline("text-classification")`` on the same fine-tuned encoder in fp32
  torch, at its default batch size and at batch size 64 (the baseline a user would write);
* `TransformersClassifier` on the fp32 weights (torch, fp32): the reference for agreement.

Each row is the median of three timed passes (the range of the passes beside it), and, in
fresh processes, the first load (import, load, first prediction) of the default.
The fp32 weights are the ones ``scripts/build_models.py`` keeps in
``benchmarks/.cache/default-encoder-fp32`` (pass ``--fp32 DIR`` otherwise); without them,
``--without-fp32`` times the two shipped classifiers only and writes
``default_model-shipped.{json,md}`` (the int8-vs-fp32 agreement is in the models' manifest).

    PYTHONPATH=src python benchmarks/default_model.py
    PYTHONPATH=src python benchmarks/default_model.py --without-fp32
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_common import (
    CACHE,
    RESULTS,
    Stopwatch,
    ade_examples,
    machine,
    markdown_table,
    psytar_sentences,
    write_results,
)

from adverse_events.training.metrics import agreement

FIRST_LOAD = """
import time
started = time.perf_counter()
from adverse_events.classifiers import DefaultClassifier
clf = DefaultClassifier()
clf.classify(["first post"])
print(time.perf_counter() - started, type(clf.inner).__name__)
"""


def ade_sentences(n: int) -> list[str]:
    """The first `n` ADE-corpus sentences in the loader's order."""
    return [e.text for e in ade_examples()][:n]


def first_load(runs: int) -> dict[str, Any]:
    """Seconds from a bare interpreter to the first prediction, median of `runs` processes."""
    seconds, inner = [], ""
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_LOAD], capture_output=True, text=True, check=True
        ).stdout.split()
        seconds.append(float(out[0]))
        inner = out[1]
    return {
        "runs": runs,
        "median_seconds": round(statistics.median(seconds), 2),
        "max_seconds": round(max(seconds), 2),
        "classifier": inner,
    }


REPEATS = 3  # timed passes per row; the machines are shared and noisy, so the median is quoted


def timed(name: str, classify: Any, texts: list[str]) -> tuple[dict[str, Any], list[float]]:
    """One row: sentences/s over the median of `REPEATS` passes (after a short warm-up), with
    the slowest and fastest pass beside it to show the machine's noise; and the scores."""
    classify(texts[:16])  # warm-up: lazy loading, first-call allocations
    passes = []
    for _ in range(REPEATS):
        with Stopwatch() as clock:
            scores = classify(texts)
        passes.append(clock.seconds)
    seconds = statistics.median(passes)
    return {
        "name": name,
        "texts": len(texts),
        "seconds": round(seconds, 3),
        "sentences_per_s": round(len(texts) / seconds, 1),
        "range_per_s": f"{len(texts) / max(passes):.0f}-{len(texts) / min(passes):.0f}",
    }, scores


def _scores_of(clf: Any) -> Any:
    return lambda batch: [p.score for p in clf.classify(batch)]


def measure_shipped(texts: list[str]) -> tuple[list[dict[str, Any]], list[float], Any]:
    """The default (the encoder) and the TF-IDF fallback, in that order, and the default's
    scores and classifier (for the agreement with fp32)."""
    from adverse_events.classifiers import DefaultClassifier, TfidfClassifier

    default = DefaultClassifier()
    rows, default_scores = [], []
    for name, clf in (
        ("shipped default (encoder, ONNX int8)", default),
        ("shipped TF-IDF (fallback)", TfidfClassifier("builtin")),
    ):
        row, scores = timed(name, _scores_of(clf), texts)
        if clf is default:
            default_scores = scores
        rows.append(row)
    return rows, default_scores, default.inner


def measure(texts: list[str], fp32: Path) -> list[dict[str, Any]]:
    from transformers import pipeline

    from adverse_events.classifiers import TransformersClassifier as Local

    reference = Local(str(fp32), precision="fp32", runtime="torch", device="cpu")
    positive = reference.positive_label
    ref_row, ref = timed("TransformersClassifier fp32 (torch)", _scores_of(reference), texts)
    rows, encoder_scores, encoder = measure_shipped(texts)
    rows[0] |= agreement(ref, encoder_scores, encoder.threshold)  # its "texts" is the row's
    rows.append(ref_row)
    hf = pipeline("text-classification", model=str(fp32), device="cpu", top_k=None)
    for batch in (None, 64):
        options = {"batch_size": batch} if batch else {}

        def run(chunk: list[str], options: dict[str, Any] = options) -> list[float]:
            out = hf(chunk, truncation=True, **options)
            return [next(d["score"] for d in row if d["label"] == positive) for row in out]

        label = f"transformers.pipeline fp32 (batch {batch or 'default'})"
        row, _ = timed(label, run, texts)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp32", type=Path, default=CACHE / "default-encoder-fp32")
    parser.add_argument("--n-ade", type=int, default=2000)
    parser.add_argument("--load-runs", type=int, default=3)
    parser.add_argument(
        "--without-fp32",
        action="store_true",
        help="time the shipped classifiers only (no fp32 weights needed)",
    )
    args = parser.parse_args()
    if not args.without_fp32 and not (args.fp32 / "config.json").is_file():
        sys.exit(
            f"no fp32 weights at {args.fp32}: run scripts/build_models.py first "
            "(or pass --without-fp32)"
        )
    inputs = {"psytar": psytar_sentences(), "ade_corpus": ade_sentences(args.n_ade)}
    results: dict[str, Any] = {
        "benchmark": "default_model",
        "machine": machine(),
        "first_load": first_load(args.load_runs),
        "inputs": {},
    }
    for name, texts in inputs.items():
        results["inputs"][name] = {
            "texts": len(texts),
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
            "rows": measure_shipped(texts)[0] if args.without_fp32 else measure(texts, args.fp32),
        }
    lines = [
        f"# Shipped default classifier on {results['machine']['cpus']} CPUs",
        "",
        f"First load (fresh process, import to first prediction): median "
        f"{results['first_load']['median_seconds']} s over {args.load_runs} runs.",
        "",
    ]
    for name, block in results["inputs"].items():
        lines += [
            f"## {name}: {block['texts']} sentences, {block['mean_chars']} chars on average",
            "",
            markdown_table(block["rows"]),
            "",
        ]
    stem = "default_model-shipped" if args.without_fp32 else "default_model"
    write_results(RESULTS / stem, results, "\n".join(lines))


if __name__ == "__main__":
    main()
