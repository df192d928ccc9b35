"""The Ray engine on a local Ray (2 CPUs), one Ray session for the whole module.

Each test checks the engine's promise against the local runner or against the input itself:
the same records and dead letters, nothing lost or duplicated under an actor crash, a transient
backend error, a re-run after an unfinished attempt, and an s3:// round trip against moto.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from adverse_events.config import load_config  # noqa: E402
from adverse_events.engines._shards import Manifest, input_id  # noqa: E402
from adverse_events.engines.ray import RayEngine  # noqa: E402
from adverse_events.sinks.parquet import ParquetSink  # noqa: E402
from tests.engines.conftest import REPO, pipeline_toml, write_posts  # noqa: E402
from tests.engines.ray_backends import RayTestBackends  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    # Ray's own code warns about its own deprecations; not ours to fix, and not errors here.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The minimum number of concurrent actors:UserWarning"),
]

#: fake credentials for the workers (the moto test); no real account is ever reached.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    path = os.pathsep.join([str(REPO), str(REPO / "src")])
    ray.init(
        num_cpus=2,
        _node_ip_address="127.0.0.1",  # a local Ray talks over loopback only
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": path, **FAKE_AWS}},
    )
    yield
    ray.shutdown()


def _engine_toml(concurrency: int = 2, shard_rows: int = 40) -> str:
    return f'[engine]\ntype = "ray"\nconcurrency = {concurrency}\nshard_rows = {shard_rows}\n'


def _run(tmp_path: Path, text: str, **kwargs) -> object:
    config = tmp_path / "pipeline.toml"
    config.write_text(text)
    report = RayEngine(load_config(config), progress=False, **kwargs).run()
    assert not report.failed, report.error
    return report


def _rename_ids(path: Path, prefix: str) -> None:
    """Post ids p0, p1, ... become <prefix>0, <prefix>1, ... (ids unique across files)."""
    path.write_text(re.sub(r'"p(\d+)"', rf'"{prefix}\1"', path.read_text()))


def _raw_records(folder: Path) -> list[dict]:
    files = sorted((folder / "adverse_events").glob("dt=*/part-*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def _raw_letters(folder: Path) -> list[dict]:
    files = sorted((folder / "dead_letters").glob("part-*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def _comparable(records, letters):
    rows = {
        r.post_id: {k: v for k, v in r.to_row().items() if k != "processed_at"} for r in records
    }
    bad = {
        d.dead_letter_id: {k: v for k, v in d.to_row().items() if k != "failed_at"} for d in letters
    }
    return rows, bad


ONE_POOL = _engine_toml()
TWO_POOLS = _engine_toml(concurrency=1) + "extract_concurrency = 1\n"


@pytest.mark.parametrize(
    "engine",
    [
        pytest.param(ONE_POOL, id="one-pool"),
        pytest.param(TWO_POOLS, id="extract-pool", marks=pytest.mark.slow),
    ],
)
def test_same_records_and_dead_letters_as_the_local_runner(tmp_path, tiny_models, engine):
    posts = tmp_path / "posts.jsonl"
    valid, bad = write_posts(posts, 300)
    source = f'type = "jsonl"\npath = "{posts}"'
    local_toml = pipeline_toml(
        source, f'type = "parquet"\npath = "{tmp_path / "local"}"', tiny_models
    )
    (tmp_path / "local.toml").write_text(local_toml)
    local = load_config(tmp_path / "local.toml").build()
    local.progress = False
    local_report = local.run()
    ray_toml = pipeline_toml(
        source, f'type = "parquet"\npath = "{tmp_path / "ray"}"', tiny_models, extra=engine
    )
    report = _run(tmp_path, ray_toml)

    theirs = ParquetSink(tmp_path / "local")
    mine = ParquetSink(tmp_path / "ray")
    assert _comparable(mine.read_records(), mine.read_dead_letters()) == _comparable(
        theirs.read_records(), theirs.read_dead_letters()
    )
    rows = _raw_records(tmp_path / "ray")
    assert sorted(r["post_id"] for r in rows) == sorted(valid)  # each valid post once
    assert len(_raw_letters(tmp_path / "ray")) == bad
    assert any(r["mentions_json"] != "[]" for r in rows)  # the extractor ran
    for name in ("read", "classified", "adverse_events", "extracted", "written"):
        assert getattr(report, name) == getattr(local_report, name), name
    assert report.dead_lettered == bad
    manifest = Manifest.load(
        (tmp_path / "ray" / "_ray_manifests" / f"{input_id(str(posts))}.json").read_bytes()
    )
    assert manifest is not None and manifest.status == "complete"
    assert manifest.shards[-1][1] == report.read


@pytest.mark.slow
def test_resume_skips_complete_inputs_and_redoes_an_unfinished_one(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        write_posts(folder / name, 60, seed=len(name))
    _rename_ids(folder / "b.jsonl", "b")
    out = tmp_path / "out"
    text = pipeline_toml(
        f'type = "jsonl"\npath = "{folder}"',
        f'type = "parquet"\npath = "{out}"',
        classifier='type = "keyword"',
        extra=_engine_toml(concurrency=1, shard_rows=25),
    )
    text = text.replace("[pipeline]\n", "[pipeline]\nresume = true\n")
    first = _run(tmp_path, text, plugins=[RayTestBackends()])
    expected = sorted(r["post_id"] for r in _raw_records(out))
    letters = len(_raw_letters(out))
    # Pretend b.jsonl's attempt was cut short: its manifest says "started", one of its shard
    # objects is missing and a stale object from an older attempt is still there.
    b_id = input_id(str((folder / "b.jsonl").resolve()))
    key = out / "_ray_manifests" / f"{b_id}.json"
    manifest = Manifest.load(key.read_bytes())
    assert manifest is not None
    manifest.status = "started"
    key.write_bytes(manifest.dump())
    partition = out / "adverse_events" / f"dt={manifest.dt}"
    [stale_source, *_] = sorted(partition.glob(f"part-{b_id}-*"))
    (partition / f"part-{b_id}-0000000999-0000001024.parquet").write_bytes(
        stale_source.read_bytes()
    )
    stale_source.unlink()

    second = _run(tmp_path, text, plugins=[RayTestBackends()])
    assert 0 < second.skipped < first.read  # a.jsonl skipped, b.jsonl redone
    assert second.read + second.skipped == first.read
    assert sorted(r["post_id"] for r in _raw_records(out)) == expected
    assert len(_raw_letters(out)) == letters


def test_an_actor_that_crashes_once_loses_nothing(tmp_path):
    posts = tmp_path / "posts.jsonl"
    valid, bad = write_posts(posts, 120)
    flag = tmp_path / "crashed"
    out = tmp_path / "out"
    classifier = f'type = "crash-once"\nflag = "{flag}"\ntrigger = "#57"'
    text = pipeline_toml(
        f'type = "jsonl"\npath = "{posts}"',
        f'type = "parquet"\npath = "{out}"',
        classifier=classifier,
        extra=_engine_toml(shard_rows=30),
    )
    report = _run(tmp_path, text, plugins=[RayTestBackends()])
    assert flag.read_text() == "crashed"  # it did crash, in the middle of a shard
    assert sorted(r["post_id"] for r in _raw_records(out)) == sorted(valid)
    assert len(_raw_letters(out)) == bad and report.dead_lettered == bad


@pytest.mark.slow  # the retry policy is the local runner's, tested there; this runs it on Ray
def test_transient_backend_errors_are_retried_in_the_actor(tmp_path):
    posts = tmp_path / "posts.jsonl"
    valid, bad = write_posts(posts, 120)
    log = tmp_path / "throttled.log"
    out = tmp_path / "out"
    classifier = f'type = "flaky"\nlog = "{log}"\nevery = 2'
    text = pipeline_toml(
        f'type = "jsonl"\npath = "{posts}"',
        f'type = "parquet"\npath = "{out}"',
        classifier=classifier,
        extra=_engine_toml(shard_rows=30),
    )
    report = _run(tmp_path, text, plugins=[RayTestBackends()])
    throttled = len(log.read_text().splitlines())
    assert throttled > 0 and report.retries == throttled  # the runner's retry policy, per call
    assert sorted(r["post_id"] for r in _raw_records(out)) == sorted(valid)
    assert len(_raw_letters(out)) == bad  # nothing dead-lettered for being throttled


def test_s3_round_trip_against_moto(tmp_path):
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    from adverse_events.sinks.s3 import S3Sink
    from adverse_events.testing.aws import MotoServer

    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="ae-in")
        s3.create_bucket(Bucket="ae-lake")
        expected: set[str] = set()
        bad_total = 0
        for part in ("a", "b"):
            path = tmp_path / f"{part}.jsonl"
            valid, bad = write_posts(path, 80, seed=ord(part))
            _rename_ids(path, part)
            expected |= {f"{part}{v[1:]}" for v in valid}
            bad_total += bad
            s3.put_object(Bucket="ae-in", Key=f"posts/2024/{part}.jsonl", Body=path.read_bytes())
        s3.put_object(Bucket="ae-in", Key="posts/README.txt", Body=b"not an input")
        sink = (
            f'type = "s3"\nbucket = "ae-lake"\nprefix = "predictions/"\nendpoint_url = "{moto.url}"'
        )
        extra = _engine_toml(shard_rows=50) + f's3_endpoint_url = "{moto.url}"\n'
        text = pipeline_toml(
            'type = "jsonl"\npath = "s3://ae-in/posts/"',
            sink,
            classifier='type = "keyword"',
            extra=extra,
        )
        report = _run(tmp_path, text, plugins=[RayTestBackends()])
        stored = S3Sink("ae-lake", prefix="predictions/", endpoint_url=moto.url)
        records = stored.read_records()
        assert sorted(r.post_id for r in records) == sorted(expected)
        assert len(stored.read_dead_letters()) == bad_total == report.dead_lettered
        keys = stored.list_keys()
        assert keys and all(k.startswith("predictions/dt=") and "/part-" in k for k in keys)
        manifests = stored.list_keys("_ray_manifests/predictions/")
        assert len(manifests) == 2


@pytest.mark.slow
def test_cli_run_engine_ray_prints_the_run_report(tmp_path, tiny_models):
    from typer.testing import CliRunner

    from adverse_events.cli import app

    posts = tmp_path / "posts.jsonl"
    valid, bad = write_posts(posts, 60)
    config = tmp_path / "pipeline.toml"
    config.write_text(
        pipeline_toml(
            f'type = "jsonl"\npath = "{posts}"',
            f'type = "parquet"\npath = "{tmp_path / "out"}"',
            classifier=f'type = "tfidf"\nmodel_dir = "{tiny_models["tfidf"]}"',
        )
    )
    result = CliRunner().invoke(app, ["run", str(config), "--engine", "ray"])
    assert result.exit_code == 0, result.output
    table = " ".join(result.output.split())
    assert f"written │ {len(valid)}" in table and f"dead_lettered │ {bad}" in table
    assert sorted(r["post_id"] for r in _raw_records(tmp_path / "out")) == sorted(valid)
