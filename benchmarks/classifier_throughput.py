"""Classifier throughput: `transformers.pipeline` against `TransformersClassifier`, one run.

In one process, on one input set, with one model, measures the baseline a user would pick,
``transformers.pipeline("text-classification")`` at its default batch size and at batch size 32,
then `TransformersClassifier` in each precision mode (and runtime). Reports sentences/s,
tokens/s, p50/p99 batch latency (one model forward call), peak resident memory, and label
agreement + largest P(adverse event) difference against `TransformersClassifier` in fp32 (torch).

    PYTHONPATH=src python benchmarks/classifier_throughput.py            # defaults below
    PYTHONPATH=src python benchmarks/classifier_throughput.py --model DIR --texts FILE --n 2000

Without ``--model`` it builds, once, a DistilBERT-base-sized classifier (the architecture of
distilbert-base-uncased: 6 layers, dim 768, 12 heads, FFN 3072, vocabulary 30522) with a WordPiece
tokenizer trained on the ADE-corpus sentences, fine-tunes it briefly on ADE sentences that are
not in the benchmark input (``--train-steps`` AdamW steps, balanced batches) so that agreement is
measured on a trained model, and caches it in ``benchmarks/.cache/``. Without ``--texts`` the
input is ADE-corpus sentences from ``$ADVERSE_EVENTS_DATA`` (default ``../shared/data``).
Results go to ``benchmarks/results/classifier_throughput-<device>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import bench_common as bench  # benchmarks/ is sys.path[0] when run as a script
import numpy as np
from bench_common import CACHE, RESULTS, PeakMemory

POSITIVE = "adverse_event"
#: Fine-tuning of the default model: small batches of short sequences keep it minutes on a CPU.
TRAIN_BATCH, TRAIN_LR, TRAIN_MAX_LENGTH = 8, 1e-4, 32

#: (name, TransformersClassifier options) in the order they run; fp32/torch is the reference.
MODES: list[tuple[str, dict[str, str]]] = [
    ("fp32", {"precision": "fp32", "runtime": "torch"}),
    ("bf16", {"precision": "bf16", "runtime": "torch"}),
    ("fp16", {"precision": "fp16", "runtime": "torch"}),
    ("int8", {"precision": "int8", "runtime": "torch"}),
    ("fp32-onnxruntime", {"precision": "fp32", "runtime": "onnxruntime"}),
    ("int8-onnxruntime", {"precision": "int8", "runtime": "onnxruntime"}),
    ("auto", {"precision": "auto", "runtime": "auto"}),
]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    device = (
        args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    texts = load_texts(args)
    model = Path(args.model) if args.model else default_model(args, exclude=set(texts))
    print(f"model {model}; {len(texts)} texts; device {device}", flush=True)
    rows = []
    reference: list[float] | None = None
    modes = [m for m in MODES if not args.modes or m[0] in args.modes]
    if device != "cpu":
        modes = [m for m in modes if "onnxruntime" not in m[0] and m[0] != "int8"]
    for bs in (None, 32):
        if args.modes and f"pipeline-bs{bs or 'default'}" not in args.modes:
            continue
        rows.append(run_pipeline(model, texts, device, bs))
        print_row(rows[-1])
    for name, options in modes:
        row = run_classifier(name, model, texts, device, options, args)
        rows.append(row)
        print_row(row)
    reference = next((r["p_positive"] for r in rows if r["mode"] == "fp32"), None)
    write_report(rows, reference, texts, model, device, args)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="model directory (default: build a DistilBERT-base-sized one)")
    p.add_argument("--texts", help="text file, one text per line (default: ADE-corpus sentences)")
    p.add_argument("--n", type=int, default=1000, help="number of texts (default 1000)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--json", help="also write the JSON results here")
    p.add_argument(
        "--modes",
        nargs="*",
        help="run only these rows (pipeline-bsdefault, "
        "pipeline-bs32, " + ", ".join(m for m, _ in MODES) + ")",
    )
    p.add_argument("--batch-size", type=int, default=128, help="TransformersClassifier batch_size")
    p.add_argument("--token-budget", type=int, default=4096, help="TransformersClassifier budget")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--train-steps", type=int, default=200, help="fine-tuning steps (default model)")
    p.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/")
    return p.parse_args(argv)


# -- inputs and model -------------------------------------------------------------------------


def ade_sentences() -> tuple[list[str], list[int]]:
    """ADE-corpus v2 sentences, de-duplicated: (texts, 1 = describes an adverse drug event)."""
    from adverse_events.errors import ConfigError

    try:
        return bench.ade_sentences()
    except ConfigError:
        folder = bench.data_dir() / "ade_corpus_v2"
        sys.exit(f"ADE corpus not found under {folder}: set ADVERSE_EVENTS_DATA or pass --texts")


def load_texts(args: argparse.Namespace) -> list[str]:
    if args.texts:
        lines = [ln for ln in Path(args.texts).read_text().splitlines() if ln.strip()]
    else:
        lines, _ = ade_sentences()
        random.Random(0).shuffle(lines)
    if len(lines) < args.n:
        lines = lines * (args.n // max(1, len(lines)) + 1)
    return lines[: args.n]


def default_model(args: argparse.Namespace, exclude: set[str]) -> Path:
    """Build (once) the DistilBERT-base-sized classifier fine-tuned on ADE sentences."""
    from adverse_events.testing.tiny_models import build_classifier_dir

    out = CACHE / f"distilbert-base-ade-{args.train_steps}steps"
    if (out / "adverse_events.json").exists():
        return out
    texts, labels = ade_sentences()
    train = [(t, y) for t, y in zip(texts, labels, strict=True) if t not in exclude]
    pos = [t for t, y in train if y == 1]
    neg = [t for t, y in train if y == 0]
    random.Random(1).shuffle(neg)
    balanced = pos + neg[: len(pos)]  # balanced classes so short training learns both
    ys = [1] * len(pos) + [0] * len(pos)
    print(
        f"building {out}: tokenizer on {len(texts)} ADE sentences, fine-tuning "
        f"{args.train_steps} steps on {len(balanced)} sentences outside the input",
        flush=True,
    )
    started = time.perf_counter()

    def progress(step: int, loss: float) -> None:
        if step % 25 == 0 or step == args.train_steps - 1:
            print(
                f"  step {step} loss {loss:.3f} ({time.perf_counter() - started:.0f}s)", flush=True
            )

    build_classifier_dir(
        out,
        balanced,
        ys,
        vocab_size=30522,
        dim=768,
        n_layers=6,
        n_heads=12,
        hidden_dim=3072,
        steps=args.train_steps,
        batch_size=TRAIN_BATCH,
        lr=TRAIN_LR,
        max_length=TRAIN_MAX_LENGTH,
        seed=0,
        progress=progress,
    )
    info = json.loads((out / "adverse_events.json").read_text())
    info["data"].update(
        {
            "corpus": "ade_corpus_v2",
            "train_sentences": len(balanced),
            "steps": args.train_steps,
            "batch_size": TRAIN_BATCH,
            "lr": TRAIN_LR,
            "max_length": TRAIN_MAX_LENGTH,
            "optimizer": "AdamW, constant lr, from random initialisation",
            "train_seconds": round(time.perf_counter() - started),
        }
    )
    (out / "adverse_events.json").write_text(json.dumps(info, indent=2) + "\n")
    return out


# -- measuring ----------------------------------------------------------------------------------


def gpu_peak(device: str) -> float | None:
    import torch

    if not device.startswith("cuda"):
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def reset_gpu_peak(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def run_pipeline(
    model: Path, texts: list[str], device: str, batch_size: int | None
) -> dict[str, Any]:
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(model), device=device)
    latencies: list[float] = []
    forward = pipe.forward

    def timed(*a: Any, **k: Any) -> Any:
        started = time.perf_counter()
        out = forward(*a, **k)
        if device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        latencies.append(time.perf_counter() - started)
        return out

    pipe.forward = timed  # type: ignore[method-assign]
    kwargs = {} if batch_size is None else {"batch_size": batch_size}
    pipe(texts[:16], **kwargs)  # warm-up
    latencies.clear()
    reset_gpu_peak(device)
    with PeakMemory() as memory:
        started = time.perf_counter()
        out = pipe(texts, **kwargs)
        seconds = time.perf_counter() - started
    p_pos = [o["score"] if o["label"] == POSITIVE else 1.0 - o["score"] for o in out]
    name = f"pipeline-bs{batch_size or 'default'}"
    return row(
        name,
        {"batch_size": batch_size or pipe._batch_size or 1},
        texts,
        seconds,
        latencies,
        memory.peak,
        gpu_peak(device),
        p_pos,
        setup_s=None,
    )


def run_classifier(
    name: str, model: Path, texts: list[str], device: str, options: dict[str, str], args: Any
) -> dict[str, Any]:
    from adverse_events.classifiers.transformers import TransformersClassifier

    clf = TransformersClassifier(
        model,
        device=device,
        batch_size=args.batch_size,
        token_budget=args.token_budget,
        max_length=args.max_length,
        cache_dir=CACHE,
        **options,
    )
    started = time.perf_counter()
    clf.classify(texts[:64])  # load (and export/cache an ONNX model) + warm-up
    setup = time.perf_counter() - started
    clf.stats.reset()
    reset_gpu_peak(device)
    with PeakMemory() as memory:
        started = time.perf_counter()
        predictions = clf.classify(texts)
        seconds = time.perf_counter() - started
    config = {
        **clf.resolved,
        "batch_size": args.batch_size,
        "token_budget": args.token_budget,
        "batches": clf.stats.batches,
        "truncated": clf.truncated,
        "padding_overhead": round(clf.stats.padded_tokens / max(1, clf.stats.tokens), 3),
    }
    result = row(
        name,
        config,
        texts,
        seconds,
        clf.stats.batch_seconds,
        memory.peak,
        gpu_peak(device),
        [p.score for p in predictions],
        setup_s=setup,
    )
    result["tokens"] = clf.stats.tokens
    clf.close()
    return result


def row(
    name: str,
    config: dict[str, Any],
    texts: list[str],
    seconds: float,
    latencies: list[float],
    peak: int,
    gpu_mib: float | None,
    p_pos: list[float],
    setup_s: float | None,
) -> dict[str, Any]:
    lat = np.array(latencies or [seconds]) * 1000
    return {
        "mode": name,
        "config": config,
        "texts": len(texts),
        "seconds": round(seconds, 3),
        "sentences_per_s": round(len(texts) / seconds, 1),
        "p50_batch_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_batch_ms": round(float(np.percentile(lat, 99)), 2),
        "peak_rss_mib": round(peak / 2**20),
        "peak_gpu_mib": gpu_mib,
        "setup_s": None if setup_s is None else round(setup_s, 2),
        "p_positive": p_pos,
    }


def print_row(r: dict[str, Any]) -> None:
    print(
        f"{r['mode']:18s} {r['sentences_per_s']:9.1f} sent/s  p50 {r['p50_batch_ms']:8.1f} ms  "
        f"p99 {r['p99_batch_ms']:8.1f} ms  rss {r['peak_rss_mib']} MiB",
        flush=True,
    )


# -- report -------------------------------------------------------------------------------------


def write_report(
    rows: list[dict[str, Any]],
    reference: list[float] | None,
    texts: list[str],
    model: Path,
    device: str,
    args: argparse.Namespace,
) -> None:
    from adverse_events.training.metrics import agreement

    tokens = next((r["tokens"] for r in rows if "tokens" in r), None)
    base = {r["mode"]: r["sentences_per_s"] for r in rows if r["mode"].startswith("pipeline")}
    for r in rows:
        p = np.array(r.pop("p_positive"))
        if reference is not None:
            same = agreement(reference, p, 0.5, digits=5)
            r["label_agreement"] = same["label_agreement"]
            r["max_prob_diff"] = same["max_score_difference"]
        r["positive_rate"] = round(float((p >= 0.5).mean()), 4)
        r["tokens_per_s"] = round(tokens / r["seconds"]) if tokens else None
        for b, value in base.items():
            r[f"x_{b}"] = round(r["sentences_per_s"] / value, 2)
    report = {
        "benchmark": "classifier_throughput",
        "created_at": bench.now(),
        "command": bench.command_line("classifier_throughput.py"),
        "machine": machine(device),
        "model": describe_model(model),
        "input": {
            "texts": len(texts),
            "source": args.texts or "ade_corpus_v2 (shuffled, seed 0)",
            "tokens": tokens,
            "mean_tokens": round(tokens / len(texts), 1) if tokens else None,
        },
        "rows": rows,
    }
    text = json.dumps(report, indent=2) + "\n"
    md = markdown(report)
    print(md)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        tag = "cuda" if device.startswith("cuda") else "cpu"
        (RESULTS / f"classifier_throughput-{tag}.json").write_text(text)
        (RESULTS / f"classifier_throughput-{tag}.md").write_text(md)
    if args.json:
        Path(args.json).write_text(text)


def machine(device: str) -> dict[str, Any]:
    """`bench_common`'s machine description, with the CPU's vector flags, threads, load and
    the versions of the inference libraries."""
    import torch
    import transformers

    try:
        import onnxruntime

        ort_version: str | None = onnxruntime.__version__
    except ImportError:
        ort_version = None
    host, cpu = bench.host(), bench.cpu_info()
    info: dict[str, Any] = {
        "cpu": cpu["model"],
        "cpu_flags": cpu["flags"],
        "cpus": host["cpus"],
        "torch_threads": torch.get_num_threads(),
        "load_average": bench.load_average(),
        "python": host["python"],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": ort_version,
        "platform": host["platform"],
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
    return info


def describe_model(model: Path) -> dict[str, Any]:
    config = json.loads((model / "config.json").read_text())
    info_file = model / "adverse_events.json"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    keys = (
        "model_type",
        "n_layers",
        "dim",
        "n_heads",
        "hidden_dim",
        "vocab_size",
        "num_hidden_layers",
        "hidden_size",
    )
    return {
        "path": str(model),
        **{k: config[k] for k in keys if k in config},
        "training": info.get("data"),
        "metrics": info.get("metrics"),
    }


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# Classifier throughput ({m.get('gpu') or m['cpu']})",
        "",
        f"`{report['command']}` at {report['created_at']}; {m['cpus']} CPUs "
        f"({', '.join(m['cpu_flags'])}), load average {m['load_average'][0]:.1f}; torch "
        f"{m['torch']}, transformers {m['transformers']}, onnxruntime {m['onnxruntime']}.",
        f"Input: {report['input']['texts']} texts, {report['input']['mean_tokens']} tokens on "
        f"average ({report['input']['source']}). Model: {report['model']['path']}.",
        "",
        "| mode | runtime / precision | sent/s | tokens/s | x pipeline (default bs) | "
        "x pipeline (bs 32) | p50 batch ms | p99 batch ms | peak RSS MiB | agreement vs fp32 "
        "| max P diff |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        c = r["config"]
        how = (
            f"{c['runtime']} / {c['precision']}"
            if "runtime" in c
            else f"batch_size {c['batch_size']}"
        )
        lines.append(
            f"| {r['mode']} | {how} | {r['sentences_per_s']} | {r['tokens_per_s']} | "
            f"{r.get('x_pipeline-bsdefault', '')} | {r.get('x_pipeline-bs32', '')} | "
            f"{r['p50_batch_ms']} | {r['p99_batch_ms']} | {r['peak_rss_mib']} | "
            f"{r.get('label_agreement', '')} | {r.get('max_prob_diff', '')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
