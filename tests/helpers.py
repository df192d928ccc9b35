"""Small backends used by tests through the registry, a fresh-interpreter runner, and the
import of a benchmark script as a module."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from adverse_events.testing import MockClassifier


class KeywordClassifier(MockClassifier):
    """Adverse event when any keyword occurs in the text (config-constructible)."""

    name = "keyword"

    def __init__(self, keywords: list[str] = ("headache", "nausea"), threshold: float = 0.5):  # type: ignore[assignment]
        words = [k.lower() for k in keywords]
        super().__init__(lambda t: 0.9 if any(w in t.lower() for w in words) else 0.1, threshold)


#: Prepended to a snippet: importing any of the named top-level modules fails, as if absent.
_BLOCK_IMPORTS = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} blocked by the test")
        return None
sys.meta_path.insert(0, _Block())
"""


def run_without(blocked: set[str], code: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter where `blocked` modules cannot be imported."""
    script = _BLOCK_IMPORTS.format(blocked=sorted(blocked)) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, **options
    )


@contextmanager
def benchmark_module(name: str) -> Iterator[ModuleType]:
    """``benchmarks/<name>.py`` imported as a module (its folder on `sys.path` meanwhile, as
    when the script runs, so that its ``bench_common`` import resolves)."""
    folder = str(Path(__file__).resolve().parents[1] / "benchmarks")
    sys.path.insert(0, folder)
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(folder)
