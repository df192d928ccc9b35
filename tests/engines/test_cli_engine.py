"""`adverse-events run --engine/--address`: validated like the [engine] table, before any Ray."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from adverse_events.cli import app

pytestmark = pytest.mark.unit


@pytest.fixture
def config(tmp_path):
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"post_id": "1", "text": "a headache"}\n')
    path = tmp_path / "pipeline.toml"
    path.write_text(
        f'[source]\ntype = "jsonl"\npath = "{posts}"\n[classifier]\ntype = "tfidf"\n'
        f'model_dir = "{tmp_path}"\n[sink]\ntype = "duckdb"\n'
        f'path = "{tmp_path / "out.duckdb"}"\n'
    )
    return path


@pytest.mark.parametrize(
    "args, message",
    [
        (["--engine", "spark"], "--engine must be local or ray"),
        (["--address", "auto"], "--address is an option of the ray engine"),
        (["--engine", "ray"], 'use type = "s3"'),
    ],
)
def test_bad_engine_options_are_one_line_errors(config, args, message):
    result = CliRunner().invoke(app, ["run", str(config), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
