"""Source cost of the input checks: JSONL and CSV read throughput, posts with author ids and
metadata, ~3% malformed lines (wrong types, deep nesting, bad JSON, lone surrogates).

    ADVERSE_EVENTS_PSEUDONYM_KEY=bench python benchmarks/source_read.py --n 100000 \
        --json benchmarks/results/source_read.json
    ADVERSE_EVENTS_PSEUDONYM_KEY=bench python benchmarks/source_read.py --n 100000 \
        --malformed-every 0 --json benchmarks/results/source_read-clean.json

Run it with ``PYTHONPATH`` on another checkout's ``src`` to compare versions (the file and the
counts are the same; only the library differs). Best of `--repeat` runs, in wall-clock and in
CPU seconds of this process (the CPU figure is the one to compare on a shared machine).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import tempfile
import time
from pathlib import Path

from bench_common import host  # benchmarks/ is sys.path[0] as a script

import adverse_events
from adverse_events import DeadLetter
from adverse_events.sources import CsvSource, JsonlSource

WORDS = "zoloft headache nausea dizzy tired great better worse doctor dose night".split()
BAD = [
    '{"post_id": "b%d", "text": "x", "drug_mentions": 5}',
    '{"post_id": "b%d", "text": "x", "m": ' + "[" * 80 + "]" * 80 + "}",
    '{"post_id": "b%d", "text": ',
    '{"post_id": "b%d\\ud800", "text": ""}',
]


def _rows(n: int) -> list[dict[str, object]]:
    rng = random.Random(0)
    return [
        {
            "post_id": f"p{i}",
            "text": " ".join(rng.choices(WORDS, k=rng.randint(8, 30))),
            "created_at": f"2024-01-01T00:{i % 60:02d}:00+00:00",
            "author_id": str(1000 + i % 977),
            "lang": "en",
            "drug_mentions": ["zoloft"],
            "rating": i % 5,
        }
        for i in range(n)
    ]


def _bad(i: int, every: int) -> bool:
    return every > 0 and i % every == every - 1


def write_jsonl(path: Path, n: int, every: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i, row in enumerate(_rows(n)):
            line = BAD[i % len(BAD)] % i if _bad(i, every) else json.dumps(row)
            handle.write(line + "\n")


def write_csv(path: Path, n: int, every: int) -> None:
    rows = _rows(n)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(rows):
            if _bad(i, every):
                handle.write(f"b{i},a\rb,x\n")  # a bare CR in an unquoted cell
            else:
                writer.writerow({**row, "drug_mentions": "zoloft"})


def measure(source: object, repeat: int) -> dict[str, object]:
    best, cpu, counts = float("inf"), float("inf"), {}
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        items = list(source.read())  # type: ignore[attr-defined]
        best = min(best, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
        letters = sum(isinstance(i, DeadLetter) for i in items)
        counts = {"items": len(items), "posts": len(items) - letters, "dead_letters": letters}
    return {
        "seconds": round(best, 3),
        "cpu_seconds": round(cpu, 3),
        "items_per_second": round(counts["items"] / best),
        "items_per_cpu_second": round(counts["items"] / cpu),
        **counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--malformed-every",
        type=int,
        default=33,
        help="every Nth line is malformed (0: none, to time older versions)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        jsonl, csv_path = Path(tmp) / "posts.jsonl", Path(tmp) / "posts.csv"
        write_jsonl(jsonl, args.n, args.malformed_every)
        write_csv(csv_path, args.n, args.malformed_every)
        for name, source in (("jsonl", JsonlSource(jsonl)), ("csv", CsvSource(csv_path))):
            try:
                results[name] = measure(source, args.repeat)
            except Exception as exc:  # noqa: BLE001 - an older version crashes on the bad lines
                results[name] = {"crashed": f"{type(exc).__name__}: {exc}"[:200]}
    out = {
        "benchmark": "source_read",
        "posts": args.n,
        "malformed_every": args.malformed_every,
        "library": adverse_events.__file__,
        "pseudonym_key_set": bool(os.environ.get("ADVERSE_EVENTS_PSEUDONYM_KEY")),
        "machine": host("python", "cpus", "platform"),
        "results": results,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
