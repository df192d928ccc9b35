"""The Python snippets in the README and the core docs run as pasted."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "docs/index.md", "docs/models.md", "docs/concepts.md", "docs/extending.md"]


def snippets(page: str) -> list[str]:
    text = (REPO / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("page", PAGES)
def test_python_snippets_run(page, tmp_path, monkeypatch):
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    found = snippets(page)
    if not found:
        pytest.skip(f"{page} has no python snippets")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADVERSE_EVENTS_DATA", raising=False)  # the shipped models only
    namespace: dict[str, object] = {}
    for code in found:
        exec(compile(code, page, "exec"), namespace)  # noqa: S102 - our own docs
