"""Pipeline overhead: JSONL source -> mock classifier -> DuckDB sink, no model cost.

    python benchmarks/pipeline_throughput.py --n 100000 \
        --json benchmarks/results/pipeline_throughput.json

Target (issue 2): >= 20,000 posts/s on a 2-core machine with 100k posts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from adverse_events import Pipeline, __version__
from adverse_events.sinks import DuckDBSink
from adverse_events.sources import JsonlSource
from adverse_events.testing import MockClassifier

WORDS = (
    "i started zoloft and now i cannot sleep headache nausea dizzy tired great better "
    "worse pharmacy refill doctor week dose morning night"
).split()


def write_posts(path: Path, n: int, malformed_every: int = 50) -> None:
    rng = random.Random(0)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with path.open("w") as handle:
        for i in range(n):
            if i % malformed_every == malformed_every - 1:
                handle.write('{"post_id": "broken", "text": \n')
                continue
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
            created = (start + timedelta(minutes=i)).isoformat()
            handle.write(
                json.dumps(
                    {
                        "post_id": f"p{i}",
                        "text": text,
                        "created_at": created,
                        "lang": "en",
                        "drug_mentions": ["zoloft"],
                    }
                )
                + "\n"
            )


def run_once(posts: Path, db: Path, batch_size: int) -> tuple[float, dict[str, object]]:
    pipeline = Pipeline(
        JsonlSource(posts),
        MockClassifier(lambda text: 0.9 if "headache" in text else 0.1),
        sink=DuckDBSink(db),
        batch_size=batch_size,
        progress=False,
    )
    started = time.perf_counter()
    report = pipeline.run()
    return time.perf_counter() - started, report.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        posts = Path(tmp) / "posts.jsonl"
        write_posts(posts, args.n)
        # As a library call, then as `adverse-events run` does it (start-up objects frozen out
        # of the garbage collector's scans); each into a fresh database.
        for name, freeze in (("library", False), ("cli", True)):
            if freeze:
                gc.collect()
                gc.freeze()
            seconds, report = run_once(posts, Path(tmp) / f"{name}.duckdb", args.batch_size)
            gc.unfreeze()
            runs[name] = {
                "seconds": round(seconds, 3),
                "posts_per_second": round(args.n / seconds),
                "report": report,
            }
    result = {
        "benchmark": "pipeline_throughput",
        "posts": args.n,
        "batch_size": args.batch_size,
        "target_posts_per_second": 20_000,
        "runs": runs,
    }
    finish(result, args.json)


def finish(result: dict[str, object], path: Path | None) -> None:
    """Add the machine, library version and time to `result`, print it, write it to `path`."""
    result["machine"] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "processor": platform.processor(),
    }
    result["library_version"] = __version__
    result["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    print(json.dumps(result, indent=2))
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
