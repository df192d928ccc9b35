"""Ray engine against the local runner: posts/s with 1 and 2 actors, Ray's overhead, equivalence.

The embedded default models (TF-IDF classifier + lexicon extractor with ICD-10-CM coding) over
PsyTAR review sentences from ``../shared/data``, cycled to `--n` posts with distinct ids, about 3%
of lines malformed. The same pipeline file runs three ways on this machine:

* ``local``: `Pipeline` (the ``adverse-events run`` default), Parquet sink;
* ``ray-1`` / ``ray-2``: `RayEngine` with 1 and 2 actors on a local ``ray.init(num_cpus=2)``
  started before the clock (a cluster is already up when a backfill is submitted).

Ray's run time includes starting its actors and loading the models in each; that fixed part is
measured alone on a 200-post input (``ray-fixed``), so ``per_post_overhead_us`` is what Ray adds
per post beyond it, against the local runner's processing time (``report.seconds``, after its
own models opened). The three outputs are compared row by row (every column but processing
time): the same records and dead letters, or the script fails.

    nice -n 10 python benchmarks/ray_scaling.py --n 100000 \
        --json benchmarks/results/ray_scaling.json

Models are trained once into ``--models`` (default ``out/models``, as examples/local.toml does).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
from pathlib import Path

from bench_common import (  # benchmarks/ is sys.path[0] when run as a script
    Stopwatch,
    data_dir,
    finish,
    psytar_sentences,
)


def write_posts(texts: list[str], out: Path, n: int, malformed_every: int = 33) -> int:
    """`n` lines cycling through `texts`; every `malformed_every`-th is broken JSON or an
    empty text. Returns how many lines are malformed."""
    bad = 0
    with out.open("w", encoding="utf-8") as handle:
        for i, text in zip(range(n), itertools.cycle(texts)):
            if i % malformed_every == malformed_every - 1:
                bad += 1
                line = (
                    '{"post_id": "broken", "text": '
                    if bad % 2
                    else json.dumps({"post_id": f"s{i}", "text": ""})
                )
            else:
                line = json.dumps(
                    {
                        "post_id": f"s{i}",
                        "text": text,
                        "created_at": f"2024-{1 + i % 12:02d}-01T00:00:00Z",
                    }
                )
            handle.write(line + "\n")
    return bad


def ensure_models(models: Path, data: Path) -> None:
    """Train the TF-IDF and lexicon models once, as examples/local.toml's first run does."""
    from adverse_events.classifiers.tfidf import TfidfClassifier
    from adverse_events.extractors.lexicon import LexiconExtractor

    if not (models / "tfidf").is_dir():
        TfidfClassifier(
            models / "tfidf", train_data=[data / "psytar" / "sentences.csv"], label_column="ADR"
        ).open()
    if not (models / "lexicon").is_dir():
        LexiconExtractor(models / "lexicon", train_data=data).open()


def config_text(posts: Path, out: Path, models: Path, batch_size: int, engine: str) -> str:
    return f"""
[source]
type = "jsonl"
path = "{posts}"
[classifier]
type = "tfidf"
model_dir = "{models / "tfidf"}"
[extractor]
type = "lexicon"
model_dir = "{models / "lexicon"}"
[sink]
type = "parquet"
path = "{out}"
[pipeline]
batch_size = {batch_size}
progress = false
{engine}
"""


def run(tmp: Path, name: str, text: str) -> dict[str, object]:
    from adverse_events.config import load_config
    from adverse_events.engines.ray import RayEngine

    path = tmp / f"{name}.toml"
    path.write_text(text)
    config = load_config(path)
    with Stopwatch() as clock:
        if config.engine.type == "local":
            report = config.build().run()  # models load inside run(), as for the CLI
        else:
            report = RayEngine(config).run()
    wall = clock.seconds
    if report.failed:
        raise SystemExit(f"{name} failed: {report.error}")
    return {
        "wall_seconds": round(wall, 2),
        "posts_per_second": round(report.read / wall),
        "report": report.to_dict(),
    }


def table(folder: Path, kind: str, key: str, drop: str):
    """Every row under `folder/kind`, one column dropped, sorted by `key`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted((folder / kind).rglob("part-*.parquet"))
    data = pa.concat_tables([pq.read_table(f) for f in files]).drop_columns([drop])
    if "dt" in data.column_names:
        data = data.drop_columns(["dt"])
    return data.take(pc.sort_indices(data, [(key, "ascending")]))


def same_output(a: Path, b: Path) -> dict[str, object]:
    records = [table(f, "adverse_events", "post_id", "processed_at") for f in (a, b)]
    letters = [table(f, "dead_letters", "dead_letter_id", "failed_at") for f in (a, b)]
    return {
        "records": records[0].num_rows,
        "dead_letters": letters[0].num_rows,
        "records_equal": records[0].equals(records[1]),
        "dead_letters_equal": letters[0].equals(letters[1]),
        "duplicate_post_ids": records[1].num_rows
        - len(set(records[1].column("post_id").to_pylist())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--shard-rows", type=int, default=5_000)
    parser.add_argument("--models", type=Path, default=Path("out/models"))
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args()
    data = data_dir()
    ensure_models(args.models.resolve(), data)
    models = args.models.resolve()

    import ray

    load = os.getloadavg()
    ray.init(
        num_cpus=2,
        _node_ip_address="127.0.0.1",  # loopback only
        include_dashboard=False,
        logging_level="WARNING",
    )
    runs: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        posts, small = tmp / "posts.jsonl", tmp / "small.jsonl"
        sentences = psytar_sentences(data)
        bad = write_posts(sentences, posts, args.n)
        write_posts(sentences, small, 200)

        def engine(actors: int) -> str:
            return (
                f'[engine]\ntype = "ray"\nconcurrency = {actors}\nshard_rows = {args.shard_rows}\n'
            )

        runs["local"] = run(
            tmp, "local", config_text(posts, tmp / "local", models, args.batch_size, "")
        )
        runs["ray-fixed"] = run(
            tmp, "ray-fixed", config_text(small, tmp / "fixed", models, args.batch_size, engine(1))
        )
        for actors in (1, 2):
            name = f"ray-{actors}"
            runs[name] = run(
                tmp, name, config_text(posts, tmp / name, models, args.batch_size, engine(actors))
            )
            runs[name]["same_as_local"] = same_output(tmp / "local", tmp / name)
    ray.shutdown()

    local = float(runs["local"]["wall_seconds"])  # type: ignore[arg-type]
    local_processing = float(runs["local"]["report"]["seconds"])  # type: ignore[index]
    one = float(runs["ray-1"]["wall_seconds"])  # type: ignore[arg-type]
    fixed = float(runs["ray-fixed"]["wall_seconds"])  # type: ignore[arg-type]
    two = float(runs["ray-2"]["wall_seconds"])  # type: ignore[arg-type]
    result = {
        "benchmark": "ray_scaling",
        "posts": args.n,
        "malformed_lines": bad,
        "batch_size": args.batch_size,
        "shard_rows": args.shard_rows,
        "ray_version": ray.__version__,
        "load_average_at_start": [round(x, 2) for x in load],
        "runs": runs,
        # Whole runs, model loading included on both sides:
        "overhead_vs_local_one_actor": round(one / local - 1, 3),
        # Processing only: Ray's run minus its fixed start (actors + model loads, measured on
        # 200 posts) against the local runner's report.seconds (after its models opened):
        "fixed_seconds_per_run": fixed,
        "overhead_vs_local_one_actor_processing": round((one - fixed) / local_processing - 1, 3),
        "per_post_overhead_us": round((one - fixed - local_processing) / args.n * 1e6, 1),
        "speedup_two_actors_vs_one": round(one / two, 2),
        "equivalent": all(
            r["same_as_local"]["records_equal"]  # type: ignore[index]
            and r["same_as_local"]["dead_letters_equal"]  # type: ignore[index]
            and r["same_as_local"]["duplicate_post_ids"] == 0  # type: ignore[index]
            for r in (runs["ray-1"], runs["ray-2"])
        ),
    }
    finish(result, args.json)
    if not result["equivalent"]:
        raise SystemExit("the Ray engine's output differs from the local runner's")


if __name__ == "__main__":
    main()
