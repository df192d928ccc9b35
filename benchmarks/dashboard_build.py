"""Time the analytics over N synthetic posts: load into DuckDB, signals, dashboard build.

    PYTHONPATH=src python benchmarks/dashboard_build.py --posts 100000

Writes benchmarks/results/dashboard_build.json and .md. The load goes through the real
Pipeline (MockClassifier + MockExtractor -> DuckDBSink); it is timed but is not the target.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

from bench_common import RESULTS, Stopwatch, write_json  # benchmarks/ is sys.path[0]

from adverse_events.analytics.dashboard import write_dashboard
from adverse_events.analytics.signals import signals
from adverse_events.analytics.synthetic import build_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, html = Path(tmp) / "ae.duckdb", Path(tmp) / "report.html"
        with Stopwatch() as load:
            run = build_database(db, n=args.posts, seed=args.seed, bad_every=1000, batch_size=2000)
        with Stopwatch() as signals_time:
            found = signals(db, by="icd10", window="month")
        with Stopwatch() as dashboard:
            write_dashboard(db, html)
        load_s, signals_s, dashboard_s = load.seconds, signals_time.seconds, dashboard.seconds
        result = {
            "posts": args.posts,
            "records_written": run.written,
            "dead_letters": run.dead_lettered,
            "load_pipeline_s": round(load_s, 2),
            "signals_monthly_icd10_s": round(signals_s, 3),
            "signal_rows": len(found),
            "dashboard_build_s": round(dashboard_s, 3),
            "dashboard_bytes": html.stat().st_size,
            "db_bytes": db.stat().st_size,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus_note": "shared 2-core dev machine",
        }
    write_json(RESULTS / "dashboard_build.json", result)
    lines = [
        "# Dashboard build benchmark",
        "",
        f"`PYTHONPATH=src python benchmarks/dashboard_build.py --posts {args.posts}`",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in result.items()]
    (RESULTS / "dashboard_build.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
