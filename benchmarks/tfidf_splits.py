"""Random versus grouped split for the default TF-IDF model (what `adverse-events train` runs).

Trains on the ADE corpus with the reference protocol (random split of the Hugging Face-style rows)
and with the grouped split, and on PsyTAR sentences grouped by review; records test metrics, the
leak counters of each split, train time and the machine. Writes
benchmarks/results/tfidf_splits.json.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/tfidf_splits.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench_common import RESULTS, ade, host, psytar  # benchmarks/ is sys.path[0] as a script

from adverse_events.training.workflow import train


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # no options
    runs = [
        ("ade_corpus_v2", "random", ade(relations=True)),
        ("ade_corpus_v2", "grouped", ade()),
        ("psytar", "grouped", psytar()),
    ]
    rows = []
    for corpus, split, data in runs:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.time()
            result = train(data, "tfidf", Path(tmp) / "model", split=split, seed=42)
            seconds = time.time() - start
        manifest = result.split.manifest()
        rows.append(
            {
                "corpus": corpus,
                "split": split,
                "seconds": round(seconds, 1),
                "test": result.info.metrics["test"],
                "leaked_test_texts": manifest["leaked_test_texts"],
                "shared_groups": manifest["shared_groups"],
                "removed": manifest["removed"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    machine = host("platform", "python", "cpus")
    out = RESULTS / "tfidf_splits.json"
    out.write_text(json.dumps({"machine": machine, "seed": 42, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
