"""Shared fixtures: where the shared data lives, and a registry with a test classifier."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """`$ADVERSE_EVENTS_DATA`, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("ADVERSE_EVENTS_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set ADVERSE_EVENTS_DATA)")
    return path


@pytest.fixture
def keyword_registry(monkeypatch: pytest.MonkeyPatch):
    """The global registry with a config-constructible test classifier named `keyword`."""
    from adverse_events import registry

    monkeypatch.setitem(
        registry.BUILTIN_BACKENDS["classifier"],
        "keyword",
        ("tests.helpers:KeywordClassifier", None),
    )
    registry.get_registry.cache_clear()
    yield registry.get_registry()
    registry.get_registry.cache_clear()


@pytest.fixture(scope="session")
def local_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of `examples/` after the README's `adverse-events run examples/local.toml`, run as
    on a fresh machine: no data folder beside it, ``ADVERSE_EVENTS_DATA`` unset, so only the
    models shipped in the package are used. `out/` holds the DuckDB file."""
    import shutil

    from typer.testing import CliRunner

    from adverse_events.cli import app

    root = tmp_path_factory.mktemp("example") / "fresh-clone"
    shutil.copytree(REPO / "examples", root / "examples")
    assert not (root.parent / "shared").exists()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("ADVERSE_EVENTS_DATA", raising=False)
        result = CliRunner().invoke(app, ["run", "examples/local.toml"])
    assert result.exit_code == 0, result.output
    return root
