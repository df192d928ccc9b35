"""What 10% throttling costs the cloud sinks: time, not data (moto in server mode + proxy).

The same posts go through the runner into S3 and into DynamoDB twice: straight to moto, and
through `ThrottlingProxy` answering 10% of requests with the service's throttling error (and,
for DynamoDB, 10% of batch calls in part, as a throttled table does). Reports seconds, the
runner's retries, what the proxy did, and what was stored (lost = posts not stored).

    nice -n 10 python benchmarks/throttling.py --n 5000 --json benchmarks/results/throttling.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench_common import finish  # benchmarks/ is sys.path[0] when run as a script

from adverse_events import Pipeline
from adverse_events.sinks.dynamodb import DynamoDBSink
from adverse_events.sinks.s3 import S3Sink
from adverse_events.sources import MemorySource
from adverse_events.testing import MockClassifier, make_post
from adverse_events.testing.aws import MotoServer
from adverse_events.testing.throttling import ThrottlingProxy


def run_once(kind: str, moto: MotoServer, n: int, throttle: float, seed: int) -> dict[str, Any]:
    moto.reset()
    name = f"bench-{kind}"
    if kind == "s3":
        moto.client("s3").create_bucket(Bucket=name)
    else:
        moto.client("dynamodb").create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "post_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "post_id", "AttributeType": "S"}],
        )
    posts = [
        make_post(f"p{i}", f"post {i}" + (" headache" if i % 4 == 0 else "")) for i in range(n)
    ]
    partial = throttle if kind == "dynamodb" else 0.0
    with ThrottlingProxy(moto.url, throttle=throttle, partial=partial, seed=seed) as proxy:
        sink: Any = (
            S3Sink(name, endpoint_url=proxy.url, max_buffer_records=500, max_object_records=50)
            if kind == "s3"
            else DynamoDBSink(name, endpoint_url=proxy.url, backoff_initial=0.01)
        )
        started = time.perf_counter()
        report = Pipeline(
            MemorySource(posts),
            MockClassifier(lambda t: 0.9 if "headache" in t else 0.1),
            sink=sink,
            batch_size=100,
            max_retries=8,
            backoff_initial=0.05,
            backoff_max=2.0,
            progress=False,
        ).run()
        seconds = time.perf_counter() - started
    reader: Any = (
        S3Sink(name, endpoint_url=moto.url)
        if kind == "s3"
        else DynamoDBSink(name, endpoint_url=moto.url)
    )
    stored = [r.post_id for r in reader.read_records()]
    return {
        "throttle": throttle,
        "partial": partial,
        "seconds": round(seconds, 2),
        "retries": report.retries,
        "failed": report.failed,
        "written": report.written,
        "dead_lettered": report.dead_lettered,
        "stored": len(set(stored)),
        "duplicated": len(stored) - len(set(stored)),
        "lost": n - len(set(stored)),
        "proxy": dict(proxy.counts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "throttling", "posts": args.n, "sinks": {}}
    with MotoServer() as moto:
        for kind in ("s3", "dynamodb"):
            result["sinks"][kind] = [
                run_once(kind, moto, args.n, throttle, args.seed) for throttle in (0.0, 0.1)
            ]
    finish(result, args.json)


if __name__ == "__main__":
    main()
