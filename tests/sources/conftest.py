"""Fixtures for the social sources: the X API stand-in and a moto DynamoDB server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources.x_api_standin import XApiStandIn

TOKEN = "standin-secret-token-123"


@pytest.fixture
def x_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[XApiStandIn]:
    """A running X API stand-in; X_BEARER_TOKEN is set to the token it accepts."""
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("ADVERSE_EVENTS_PSEUDONYM_KEY", "test-pseudonym-key")
    with XApiStandIn(token=TOKEN) as api:
        yield api


@pytest.fixture
def waits() -> list[float]:
    """Pass ``sleep=waits.append``: records backoff waits instead of sleeping."""
    return []
