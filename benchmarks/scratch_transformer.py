"""A small transformer trained from scratch (no pretrained weights), grouped split, CPU.

WordPiece vocabulary learnt from the training texts only; a 4-layer, 128-wide DistilBERT
initialised at random and fine-tuned with the library's Trainer recipe. Writes
benchmarks/results/scratch_transformer.json.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/scratch_transformer.py psytar
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench_common import RESULTS, ade, psytar  # benchmarks/ is sys.path[0] as a script

from adverse_events.testing.tiny_models import make_tiny_transformer
from adverse_events.training.splits import make_split
from adverse_events.training.workflow import train


def main(corpus: str, epochs: float = 8.0) -> None:
    data = psytar() if corpus == "psytar" else ade()
    train_texts = make_split(data, "grouped", seed=42).part("train").texts  # no test leak
    with tempfile.TemporaryDirectory() as tmp:
        base = make_tiny_transformer(
            Path(tmp) / "base",
            train_texts,
            labels=data.labels,
            vocab_size=8000,
            dim=128,
            n_layers=4,
            n_heads=4,
            max_length=128,
        )
        start = time.time()
        result = train(
            data,
            str(base),
            Path(tmp) / "model",
            split="grouped",
            seed=42,
            options={
                "epochs": epochs,
                "batch_size": 32,
                "max_seq_length": 96,
                "learning_rate": 5e-4,
                "device": "cpu",
                "early_stopping_patience": 3,
                "progress": False,
            },
        )
        seconds = time.time() - start
    row = {"corpus": corpus, "epochs": epochs, "seconds": seconds, **result.info.metrics}
    out = RESULTS / "scratch_transformer.json"
    rows = json.loads(out.read_text()) if out.is_file() else []
    rows = [r for r in rows if r["corpus"] != corpus] + [row]
    out.write_text(json.dumps(rows, indent=2))
    print(json.dumps(row, indent=2))


def parse_args() -> argparse.Namespace:
    """The two optional positional arguments the script always took (and ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "corpus", nargs="?", default="psytar", help="psytar (default) or ade_corpus_v2"
    )
    parser.add_argument("epochs", nargs="?", type=float, default=8.0, help="default 8")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    main(args.corpus, args.epochs)
