"""Soak: many posts, ~3% malformed lines and injected faults through every sink; lost or duplicated?

For each sink the same file is replayed (`ReplaySource` with a checkpoint) through the runner
with fault-injecting wrappers (`adverse_events.testing.faults`):

* classifier and extractor: 3% of calls throttled (transient), posts marked POISON always
  rejected (permanent), posts marked STUCK always throttled (transient that never clears);
* sink: 3% of writes throttled, 1% of successful writes answered with a lost acknowledgement
  (the runner re-sends: idempotency), and, per sink, runs cut short by Ctrl-C at random items
  and by a sink bug (a plain exception) at a random write: each is resumed from the checkpoint;
* S3 and DynamoDB (moto in server mode) sit behind `ThrottlingProxy` (10% of requests
  throttled, DynamoDB batch calls 10% answered in part) instead of the sink wrapper.

* the CLI (``sinks`` entry ``cli``): ``adverse-events run`` in a child process (replay source
  with a checkpoint, DuckDB sink, ``resume = true``) killed with SIGKILL and interrupted with
  SIGINT at random moments, restarted each time until a run finishes.

Expected outcome: every valid post stored exactly once, except POISON and STUCK posts, which
are dead-lettered once each; every malformed line dead-lettered once, with its reason.
``lost`` counts expected posts or dead letters missing, ``duplicated`` rows stored more than
once (raw rows, before any read-side de-duplication), ``unexpected`` rows that should not be
there (a stored post that also kept a dead letter, a dead letter of a stored post).

    nice -n 10 python benchmarks/soak.py --n 100000 --cloud-n 10000 \\
        --json benchmarks/results/soak.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_common import finish  # benchmarks/ is sys.path[0] when run as a script

from adverse_events import Mention, Pipeline
from adverse_events.records import DeadLetter
from adverse_events.sources.replay import ReplaySource
from adverse_events.testing import MockClassifier, MockExtractor
from adverse_events.testing.faults import (
    Faults,
    FaultyClassifier,
    FaultyExtractor,
    FaultySink,
    FaultySource,
)

MALFORMED = [
    '{"post_id": "m", "text": ',
    "[1, 2, 3]",
    '{"text": "no id"}',
    '"just a string"',
    '{"post_id": "e", "text": ""}',
    "not json at all",
]


def write_posts(path: Path, n: int, seed: int) -> dict[str, set[Any]]:
    """`n` lines, ~3% malformed, ~0.1% POISON and ~0.05% STUCK posts; what each should become."""
    rng = random.Random(seed)
    expected: dict[str, set[Any]] = {"stored": set(), "lettered": set(), "bad_lines": set()}
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            draw = rng.random()
            if draw < 0.03:
                out.write(rng.choice(MALFORMED) + "\n")
                expected["bad_lines"].add(i + 1)
                continue
            marker = " POISON" if draw < 0.031 else " STUCK" if draw < 0.0315 else ""
            text = f"post {i} took drug {i % 97}" + (" headache" if i % 5 == 0 else "") + marker
            stamp = (
                f"2024-01-{1 + i // 86400:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
                f"{i % 60:02d}Z"
            )
            out.write(json.dumps({"post_id": f"p{i}", "text": text, "created_at": stamp}) + "\n")
            expected["lettered" if marker else "stored"].add(f"p{i}")
    return expected


def headache(text: str) -> list[Mention]:
    start = text.find("headache")
    return (
        []
        if start < 0
        else [Mention(text="headache", start=start, end=start + 8, category="ADVERSE_EVENT")]
    )


def _backend_faults(seed: int) -> Faults:
    return Faults(
        transient=0.03,
        poison=lambda text: text.endswith("POISON"),
        stuck=lambda text: text.endswith("STUCK"),
        seed=seed,
    )


def run_until_done(
    data: Path,
    work: Path,
    make_sink: Callable[[], Any],
    *,
    resumable: bool,
    wrap_sink: bool,
    interrupts: int,
    bugs: int,
    n: int,
    batch_size: int,
    seed: int,
) -> dict[str, Any]:
    """Replay `data` into the sink, cut short `interrupts` + `bugs` times, resumed each time."""
    rng = random.Random(seed)
    plan = ["interrupt"] * interrupts + ["bug"] * bugs
    rng.shuffle(plan)
    plan.append("finish")
    checkpoint = work / "replay.json"
    reports, faults_seen, started = [], Counter(), time.perf_counter()
    for attempt, action in enumerate(plan):
        source: Any = ReplaySource(data, checkpoint_path=checkpoint)
        if action == "interrupt":
            # somewhere after the first batch and before the end of what is left
            fail_at = rng.randint(batch_size + 1, max(batch_size + 2, n // (len(plan) + 1)))
            source = FaultySource(source, fail_at=fail_at, error=KeyboardInterrupt())
        backend_faults = _backend_faults(seed + attempt)
        sink: Any = make_sink()
        sink_faults = Faults(
            transient=0.03,
            landed=0.01,
            seed=seed + 100 + attempt,
            script=[None] * rng.randint(1, 30) + ["bug"] if action == "bug" else (),
        )
        if wrap_sink:
            sink = FaultySink(sink, sink_faults)
        report = Pipeline(
            source,
            FaultyClassifier(
                MockClassifier(lambda t: 0.9 if "headache" in t else 0.1), backend_faults
            ),
            FaultyExtractor(MockExtractor(headache), backend_faults),
            sink=sink,
            batch_size=batch_size,
            resume=resumable,
            max_retries=6,
            backoff_initial=0,
            backoff_max=0,
            progress=False,
        ).run()
        reports.append(
            {
                "action": action,
                "read": report.read,
                "written": report.written,
                "dead_lettered": report.dead_lettered,
                "duplicates_in_input": report.duplicates_in_input,
                "skipped": report.skipped,
                "retries": report.retries,
                "interrupted": report.interrupted,
                "failed": report.failed,
                "error": report.error,
            }
        )
        faults_seen.update(backend_faults.counts)
        faults_seen.update({f"sink_{k}": v for k, v in sink_faults.counts.items()})
        if action == "finish" and (report.failed or report.interrupted):
            raise SystemExit(f"the final run did not finish: {report.error}")
    return {
        "runs": reports,
        "injected": dict(faults_seen),
        "seconds": round(time.perf_counter() - started, 1),
    }


def check(
    records: list[str], letters: list[DeadLetter], expected: dict[str, set[Any]]
) -> dict[str, Any]:
    stored = Counter(records)
    source_letters = Counter(d.line for d in letters if d.stage == "source")
    post_letters = Counter(d.post_id for d in letters if d.stage != "source")
    lost = (
        len(expected["stored"] - set(stored))
        + len(expected["lettered"] - set(post_letters))
        + len(expected["bad_lines"] - set(source_letters))
    )
    duplicated = (
        sum(c - 1 for c in stored.values())
        + sum(c - 1 for c in post_letters.values())
        + sum(c - 1 for c in source_letters.values())
    )
    unexpected = (
        len(set(stored) - expected["stored"])
        + len(set(post_letters) - expected["lettered"])
        + len(set(source_letters) - expected["bad_lines"])
    )
    return {
        "stored": len(stored),
        "dead_lettered": len(letters),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "malformed_lines_dead_lettered_once": sum(1 for c in source_letters.values() if c == 1),
        "malformed_lines": len(expected["bad_lines"]),
        "every_letter_has_a_reason": all(d.reason for d in letters),
    }


def _local(
    kind: str, work: Path
) -> tuple[Callable[[], Any], Callable[[], tuple[list[str], list[DeadLetter]]]]:
    import pyarrow.parquet as pq

    from adverse_events.sinks import DuckDBSink, JsonlSink, ParquetSink

    if kind == "jsonl":
        path = work / "out.jsonl"

        def read() -> tuple[list[str], list[DeadLetter]]:
            ids = [json.loads(line)["post_id"] for line in path.read_text().splitlines()]
            return ids, JsonlSink(path).read_dead_letters()

        return lambda: JsonlSink(path), read
    if kind == "parquet":
        root = work / "pq"

        def read_pq() -> tuple[list[str], list[DeadLetter]]:
            ids = [
                pid
                for f in sorted((root / "adverse_events").glob("dt=*/*.parquet"))
                for pid in pq.read_table(f, columns=["post_id"]).column(0).to_pylist()
            ]
            return ids, ParquetSink(root).read_dead_letters()

        return lambda: ParquetSink(root), read_pq
    db = work / "ae.duckdb"

    def read_db() -> tuple[list[str], list[DeadLetter]]:
        sink = DuckDBSink(db)
        try:
            return [r.post_id for r in sink.read_records()], sink.read_dead_letters()
        finally:
            sink.close()

    return lambda: DuckDBSink(db), read_db


def soak_local(
    kind: str, data: Path, expected: dict[str, set[Any]], n: int, args: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"soak-{kind}-") as tmp:
        make, read = _local(kind, Path(tmp))
        result = run_until_done(
            data,
            Path(tmp),
            make,
            resumable=True,
            wrap_sink=True,
            interrupts=args.interrupts,
            bugs=args.bugs,
            n=n,
            batch_size=args.batch_size,
            seed=args.seed,
        )
        result.update(check(*read(), expected))
    return result


def soak_cloud(
    kind: str, data: Path, expected: dict[str, set[Any]], n: int, args: argparse.Namespace
) -> dict[str, Any]:
    from adverse_events.testing.aws import MotoServer
    from adverse_events.testing.throttling import ThrottlingProxy

    with (
        MotoServer() as moto,
        tempfile.TemporaryDirectory(prefix=f"soak-{kind}-") as tmp,
        ThrottlingProxy(
            moto.url, throttle=0.1, partial=0.1 if kind == "dynamodb" else 0.0, seed=args.seed
        ) as proxy,
    ):
        if kind == "s3":
            from adverse_events.sinks.s3 import S3Sink

            moto.client("s3").create_bucket(Bucket="soak")

            def make() -> Any:
                return S3Sink(
                    "soak", endpoint_url=proxy.url, max_buffer_records=500, max_object_records=100
                )

            def read() -> tuple[list[str], list[DeadLetter]]:
                sink = S3Sink("soak", endpoint_url=moto.url)
                return [r.post_id for r in sink.read_records()], sink.read_dead_letters()
        else:
            from adverse_events.sinks.dynamodb import DynamoDBSink

            moto.client("dynamodb").create_table(
                TableName="soak",
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "post_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "post_id", "AttributeType": "S"}],
            )

            def make() -> Any:
                return DynamoDBSink("soak", endpoint_url=proxy.url, backoff_initial=0.001)

            def read() -> tuple[list[str], list[DeadLetter]]:
                sink = DynamoDBSink("soak", endpoint_url=moto.url)
                return [r.post_id for r in sink.read_records()], sink.read_dead_letters()

        result = run_until_done(
            data,
            Path(tmp),
            make,
            resumable=kind == "dynamodb",
            wrap_sink=False,
            interrupts=args.interrupts,
            bugs=0,
            n=n,
            batch_size=args.batch_size,
            seed=args.seed,
        )
        result["proxy"] = dict(proxy.counts)
        result.update(check(*read(), expected))
    return result


CLI_CONFIG = """
[source]
type = "replay"
path = "{posts}"
checkpoint_path = "{checkpoint}"
[classifier]
type = "slow-keyword"
delay = 0.002
[sink]
type = "duckdb"
path = "{db}"
[pipeline]
batch_size = 50
resume = true
"""


def soak_cli(
    data: Path, expected: dict[str, set[Any]], n: int, args: argparse.Namespace
) -> dict[str, Any]:
    """The real CLI in a child process (`tests.faults.cli_child`: the typer app plus a test
    classifier), killed and interrupted at random moments, then resumed until it finishes."""
    import os
    import signal
    import subprocess

    import duckdb

    from adverse_events.sinks import DuckDBSink

    repo = Path(__file__).resolve().parents[1]
    rng = random.Random(args.seed)
    plan = ["kill"] * args.cli_kills + ["int"] * args.cli_interrupts
    rng.shuffle(plan)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "src"), str(repo)])}
    outcomes, started = [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="soak-cli-") as tmp:
        config, db = Path(tmp) / "pipeline.toml", Path(tmp) / "ae.duckdb"
        config.write_text(
            CLI_CONFIG.format(posts=data, checkpoint=Path(tmp) / "replay.json", db=db)
        )
        command = [sys.executable, "-m", "tests.faults.cli_child", "run", str(config)]
        for action in [*plan, "finish"]:
            child = subprocess.Popen(
                command, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if action != "finish":
                time.sleep(rng.uniform(1.5, 4.0))
                child.send_signal(signal.SIGKILL if action == "kill" else signal.SIGINT)
            outcomes.append({"action": action, "exit": child.wait(timeout=1800)})
        if outcomes[-1]["exit"] != 0:
            raise SystemExit(f"the final CLI run failed: {outcomes[-1]}")
        with duckdb.connect(str(db), read_only=True) as conn:
            ids = [r[0] for r in conn.execute("SELECT post_id FROM adverse_events").fetchall()]
        sink = DuckDBSink(db)
        letters = sink.read_dead_letters()
        sink.close()
    result: dict[str, Any] = {"runs": outcomes, "seconds": round(time.perf_counter() - started, 1)}
    # no injected backend faults here: POISON / STUCK posts are ordinary posts for the CLI
    cli_expected = {
        **expected,
        "stored": expected["stored"] | expected["lettered"],
        "lettered": set(),
    }
    result.update(check(ids, letters, cli_expected))
    return result


def _cli(
    kind: str, data: Path, expected: dict[str, set[Any]], n: int, args: argparse.Namespace
) -> dict[str, Any]:
    return soak_cli(data, expected, n, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="posts through each local sink")
    parser.add_argument(
        "--cloud-n",
        type=int,
        default=10_000,
        help="posts through S3 and DynamoDB (moto); 0 skips them",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--interrupts", type=int, default=3)
    parser.add_argument("--bugs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--cli-n", type=int, default=30_000, help="posts through the CLI")
    parser.add_argument("--cli-kills", type=int, default=5)
    parser.add_argument("--cli-interrupts", type=int, default=2)
    parser.add_argument("--sinks", default="jsonl,parquet,duckdb,s3,dynamodb,cli")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sinks = [s for s in args.sinks.split(",") if s]
    result: dict[str, Any] = {
        "benchmark": "soak",
        "posts": args.n,
        "cloud_posts": args.cloud_n,
        "cli_posts": args.cli_n,
        "batch_size": args.batch_size,
        "sinks": {},
    }
    with tempfile.TemporaryDirectory(prefix="soak-data-") as tmp:
        for n, kinds, soak in (
            (args.n, ["jsonl", "parquet", "duckdb"], soak_local),
            (args.cloud_n, ["s3", "dynamodb"], soak_cloud),
            (args.cli_n, ["cli"], _cli),
        ):
            kinds = [k for k in kinds if k in sinks]
            if not n or not kinds:
                continue
            data = Path(tmp) / f"posts-{n}.jsonl"
            expected = write_posts(data, n, args.seed)
            for kind in kinds:
                print(f"soak: {kind}, {n:,} posts ...", file=sys.stderr, flush=True)
                outcome = soak(kind, data, expected, n, args)
                result["sinks"][kind] = {"posts": n, **outcome}
                print(
                    f"soak: {kind}: lost {outcome['lost']}, duplicated "
                    f"{outcome['duplicated']}, unexpected {outcome['unexpected']}, "
                    f"dead-lettered {outcome['dead_lettered']} "
                    f"({outcome['seconds']} s)",
                    file=sys.stderr,
                    flush=True,
                )
    result["ok"] = bool(result["sinks"]) and all(
        s["lost"] == 0
        and s["duplicated"] == 0
        and s["unexpected"] == 0
        and s["malformed_lines_dead_lettered_once"] == s["malformed_lines"]
        for s in result["sinks"].values()
    )
    finish(result, args.json)
    if not result["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
