"""Test doubles and the conformance suites every backend's tests subclass.

The suites import pytest, so they load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adverse_events.testing.doubles import (
    MemorySink,
    MemorySource,
    MockClassifier,
    MockExtractor,
    make_dead_letter,
    make_post,
    make_record,
)

if TYPE_CHECKING:
    from adverse_events.testing.conformance import (
        ClassifierConformance,
        ExtractorConformance,
        SinkConformance,
        SourceConformance,
    )

__all__ = [
    "ClassifierConformance",
    "ExtractorConformance",
    "MemorySink",
    "MemorySource",
    "MockClassifier",
    "MockExtractor",
    "SinkConformance",
    "SourceConformance",
    "make_dead_letter",
    "make_post",
    "make_record",
]

_SUITES = {"ClassifierConformance", "ExtractorConformance", "SinkConformance", "SourceConformance"}


def __getattr__(name: str) -> Any:
    if name in _SUITES:
        from adverse_events.testing import conformance

        return getattr(conformance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
