"""The embedded default end to end, on patient sentences: how many posts a laptop screens.

JSONL source -> TF-IDF classifier -> lexicon extractor (CRF, assertion traits, ICD-10-CM) ->
DuckDB sink, with the shipped TF-IDF and lexicon models (``--models builtin``, the default) or
a folder holding ``tfidf/`` and ``lexicon/`` (what ``examples/local_train.toml`` trains into
``out/models/``). The posts are PsyTAR review sentences from `../shared/data`, cycled to
`--n` posts with distinct ids.

    python benchmarks/local_pipeline.py --n 20000 --json benchmarks/results/local_pipeline.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

from bench_common import Stopwatch, finish, frozen_gc, psytar_sentences  # benchmarks/ on sys.path

from adverse_events import Pipeline
from adverse_events.classifiers.tfidf import TfidfClassifier
from adverse_events.extractors.lexicon import LexiconExtractor
from adverse_events.sinks import DuckDBSink
from adverse_events.sources import JsonlSource


def write_posts(texts: list[str], out: Path, n: int) -> float:
    """`n` posts cycling through `texts`; returns their mean length in characters."""
    total = 0
    with out.open("w", encoding="utf-8") as handle:
        for i, text in zip(range(n), itertools.cycle(texts)):
            handle.write(json.dumps({"post_id": f"s{i}", "text": text}) + "\n")
            total += len(text)
    return total / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument(
        "--models",
        default="builtin",
        help="'builtin' (the shipped models) or a folder with tfidf/ and lexicon/",
    )
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args()
    if args.models == "builtin":
        tfidf, lexicon = "builtin", "builtin"
    else:
        tfidf, lexicon = Path(args.models) / "tfidf", Path(args.models) / "lexicon"
        missing = [p for p in (tfidf, lexicon) if not p.is_dir()]
        if missing:
            sys.exit(
                f"no model at {missing[0]}: run `adverse-events run examples/local_train.toml`"
                " first, or pass --models builtin"
            )
    with tempfile.TemporaryDirectory() as tmp:
        posts = Path(tmp) / "posts.jsonl"
        chars = write_posts(psytar_sentences(), posts, args.n)
        pipeline = Pipeline(
            JsonlSource(posts),
            TfidfClassifier(tfidf),
            LexiconExtractor(lexicon),
            sink=DuckDBSink(Path(tmp) / "out.duckdb"),
            batch_size=args.batch_size,
            progress=False,
        )
        with frozen_gc(), Stopwatch() as clock:  # as `adverse-events run` does
            report = pipeline.run()
        seconds = clock.seconds
    result = {
        "benchmark": "local_pipeline",
        "posts": args.n,
        "mean_chars_per_post": round(chars, 1),
        "batch_size": args.batch_size,
        "seconds": round(seconds, 2),
        "posts_per_second": round(args.n / seconds),
        "report": report.to_dict(),
    }
    finish(result, args.json)


if __name__ == "__main__":
    main()
