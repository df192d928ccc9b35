"""Pipeline overhead: JSONL source -> mock classifier -> DuckDB sink, no model cost.

    python benchmarks/pipeline_throughput.py --n 100000 \
        --json benchmarks/results/pipeline_throughput.json

Target (issue 2): >= 20,000 posts/s on a 2-core machine with 100k posts.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench_common import Stopwatch, finish, frozen_gc  # benchmarks/ is sys.path[0] as a script

from adverse_events import Pipeline
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
    with Stopwatch() as clock:
        report = pipeline.run()
    return clock.seconds, report.to_dict()


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
            with frozen_gc() if freeze else nullcontext():
                seconds, report = run_once(posts, Path(tmp) / f"{name}.duckdb", args.batch_size)
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


if __name__ == "__main__":
    main()
