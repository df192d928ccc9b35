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
