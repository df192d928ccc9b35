"""Shared data location for classifier tests: $ADVERSE_EVENTS_DATA, else <repo>/../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    env = os.environ.get("ADVERSE_EVENTS_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    if not (root / "psytar" / "sentences.csv").is_file():
        pytest.skip(f"shared data not found at {root}; set ADVERSE_EVENTS_DATA")
    return root
