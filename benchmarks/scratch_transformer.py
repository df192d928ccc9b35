"""A small transformer trained from scratch (no pretrained weights), grouped split, CPU.

WordPiece vocabulary learnt from the training texts only; a 4-layer, 128-wide DistilBERT
initialised at random and fine-tuned with the library's Trainer recipe. Writes
benchmarks/results/scratch_transformer.json.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/scratch_transformer.py psytar
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from adverse_events.testing.tiny_models import make_tiny_transformer
from adverse_events.training.splits import make_split
from adverse_events.training.workflow import load_data, train

ROOT = Path(__file__).resolve().parents[1]


def main(corpus: str, epochs: float = 8.0) -> None:
    root = Path(os.environ.get("ADVERSE_EVENTS_DATA", ROOT / ".." / "shared" / "data"))
    if corpus == "psytar":
        data = load_data(
            [root / "psytar" / "sentences.csv"], label_column="ADR", group_column="post_id"
        )
    else:
        data = load_data([root / "ade_corpus_v2"])
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
    out = ROOT / "benchmarks" / "results" / "scratch_transformer.json"
    rows = json.loads(out.read_text()) if out.is_file() else []
    rows = [r for r in rows if r["corpus"] != corpus] + [row]
    out.write_text(json.dumps(rows, indent=2))
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "psytar",
        float(sys.argv[2]) if len(sys.argv) > 2 else 8.0,
    )
