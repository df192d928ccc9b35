"""Small backends used by tests through the registry, and a fresh-interpreter runner."""

from __future__ import annotations

import subprocess
import sys
import textwrap
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
