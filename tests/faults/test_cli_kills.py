"""kill -9 and Ctrl-C of the CLI at random moments, then resume: nothing lost or duplicated."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

CONFIG = """
[source]
type = "replay"
path = "{posts}"
checkpoint_path = "{checkpoint}"
[classifier]
type = "slow-keyword"
delay = {delay}
[sink]
type = "duckdb"
path = "{db}"
[pipeline]
batch_size = 25
resume = true
"""


def _world(tmp_path: Path, n: int, delay: float) -> tuple[Path, set[str], set[int]]:
    rng = random.Random(n)
    lines, valid, bad = [], set(), set()
    for i in range(n):
        if rng.random() < 0.03:
            lines.append(rng.choice(['{"post_id": "x", "text": ', "[1, 2]", '{"text": "no id"}']))
            bad.add(i + 1)
            continue
        stamp = f"2024-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
        text = f"post {i}" + (" headache" if i % 5 == 0 else "")
        lines.append(json.dumps({"post_id": f"p{i}", "text": text, "created_at": stamp}))
        valid.add(f"p{i}")
    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join(lines) + "\n")
    config = tmp_path / "pipeline.toml"
    config.write_text(
        CONFIG.format(
            posts=posts, checkpoint=tmp_path / "replay.json", db=tmp_path / "ae.duckdb", delay=delay
        )
    )
    return config, valid, bad


def _start(config: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]
        ),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.cli_child", "run", str(config)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _offset(checkpoint: Path) -> int | None:
    try:
        return int(json.loads(checkpoint.read_text())["offset"])
    except (OSError, ValueError, KeyError):
        return None


def _stored(db: Path) -> tuple[list[str], list[int]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        ids = [row[0] for row in conn.execute("SELECT post_id FROM adverse_events").fetchall()]
        lines = [row[0] for row in conn.execute("SELECT line FROM dead_letters").fetchall()]
    return ids, lines


def _kill_and_resume(tmp_path: Path, n: int, kills: int, interrupts: int, seed: int) -> dict:
    config, valid, bad = _world(tmp_path, n, delay=0.01)
    rng = random.Random(seed)
    plan = ["kill"] * kills + ["int"] * interrupts
    rng.shuffle(plan)
    outcomes = []
    checkpoint = tmp_path / "replay.json"
    for action in plan:
        before = _offset(checkpoint)
        child = _start(config)
        # a random moment once this run stored something (so the signal lands mid-run)
        deadline = time.monotonic() + 120
        while _offset(checkpoint) == before and child.poll() is None:
            assert time.monotonic() < deadline, "the child made no progress"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL if action == "kill" else signal.SIGINT)
        output, _ = child.communicate(timeout=120)
        outcomes.append((action, child.returncode))
        if action == "int" and child.returncode not in (0, 130):
            pytest.fail(f"Ctrl-C: exit {child.returncode}\n{output.decode()[-2000:]}")
    child = _start(config)
    output, _ = child.communicate(timeout=300)
    assert child.returncode == 0, output.decode()[-3000:]
    ids, lines = _stored(tmp_path / "ae.duckdb")
    assert len(ids) == len(set(ids)), "a post stored twice"
    assert set(ids) == valid, f"lost: {sorted(valid - set(ids))[:10]}"
    assert sorted(lines) == sorted(bad), "each bad line dead-lettered once"
    return {"outcomes": outcomes, "stored": len(ids), "dead_letters": len(lines)}


def test_kill_9_and_ctrl_c_then_resume(tmp_path):
    result = _kill_and_resume(tmp_path, n=3000, kills=2, interrupts=1, seed=1)
    assert [o for o in result["outcomes"] if o[0] == "kill"] == [("kill", -9)] * 2
    assert [o for o in result["outcomes"] if o[0] == "int"] == [("int", 130)]


@pytest.mark.slow
def test_many_kills_at_random_points(tmp_path):
    _kill_and_resume(tmp_path, n=12000, kills=8, interrupts=3, seed=2)
