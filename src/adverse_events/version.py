"""The installed version of this library, read in one place.

`library_version()` is what records (``AdverseEventRecord.library_version``), model
directories, the dashboard and SageMaker serving code name; ``adverse_events.__version__`` is
the same string.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

__all__ = ["UNKNOWN_VERSION", "library_version"]

#: The version a bare source tree (no installed distribution) reports.
UNKNOWN_VERSION = "0.0.0+unknown"


@cache
def library_version() -> str:
    """The installed version of this library (``0.0.0+unknown`` in a bare source tree)."""
    try:
        return version("adverse-events")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return UNKNOWN_VERSION
