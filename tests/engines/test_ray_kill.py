"""A Ray engine driver killed (SIGKILL, with its local Ray) twice part-way, then re-run with
resume: every valid post is stored once and every bad line dead-lettered once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from tests.engines.conftest import REPO, pipeline_toml, write_posts  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}


def _start(config: Path) -> subprocess.Popen[bytes]:
    """The driver in its own session, so one killpg takes it and its local Ray down."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engines.driver", str(config)],
        cwd=REPO,
        env=_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when(proc: subprocess.Popen[bytes], ready, timeout: float = 120) -> bool:
    """SIGKILL the driver's whole process group once `ready()`; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return False


def _parts(folder: Path) -> list[Path]:
    return sorted((folder / "adverse_events").glob("dt=*/part-*.parquet"))


def test_killed_twice_and_resumed_loses_and_duplicates_nothing(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    valid, bad = set(), 0
    for name in ("a", "b", "c"):
        ids, wrong = write_posts(folder / f"{name}.jsonl", 400, seed=ord(name))
        text = (folder / f"{name}.jsonl").read_text()
        (folder / f"{name}.jsonl").write_text(text.replace('"post_id": "p', f'"post_id": "{name}'))
        valid |= {f"{name}{i[1:]}" for i in ids}
        bad += wrong
    out = tmp_path / "out"
    config = tmp_path / "pipeline.toml"
    config.write_text(
        pipeline_toml(
            f'type = "jsonl"\npath = "{folder}"',
            f'type = "parquet"\npath = "{out}"',
            classifier='type = "slow"\nseconds = 0.08',
            extra='resume = true\n[engine]\ntype = "ray"\nconcurrency = 2\nshard_rows = 60\n',
        )
    )

    first = _start(config)
    assert _kill_when(first, lambda: len(_parts(out)) >= 3), "run 1 ended before the kill"
    second = _start(config)
    assert _kill_when(second, lambda: len(_parts(out)) >= 9), "run 2 ended before the kill"
    manifests = [json.loads(p.read_text()) for p in (out / "_ray_manifests").glob("*.json")]
    assert any(m["status"] != "complete" for m in manifests)  # it really was cut short

    final = subprocess.run(
        [sys.executable, "-m", "tests.engines.driver", str(config)],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr.decode()[-2000:]
    report = json.loads(final.stdout.decode().strip().splitlines()[-1])
    assert report["skipped"] + report["read"] == len(valid) + bad + 3  # + one repeat per file

    ids = [
        r for p in _parts(out) for r in pq.read_table(p, columns=["post_id"]).column(0).to_pylist()
    ]
    assert len(ids) == len(set(ids)), "a post was stored twice"
    assert set(ids) == valid, "a post was lost"
    # A dead letter's id does not name its file (the same bad line at the same line number of
    # two files has one id), so "once" is checked per file and line, which the reason names.
    reasons = [
        r
        for p in sorted((out / "dead_letters").glob("part-*.parquet"))
        for r in pq.read_table(p, columns=["reason"]).column(0).to_pylist()
    ]
    assert len(reasons) == len(set(reasons)) == bad
    manifests = [json.loads(p.read_text()) for p in (out / "_ray_manifests").glob("*.json")]
    assert sorted(m["status"] for m in manifests) == ["complete"] * 3
