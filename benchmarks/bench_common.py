"""What the benchmark scripts share: where data and results live, the machine, result files.

Built on the library's own loaders, so a benchmark reads the data exactly as training does.
Scripts import it as ``bench_common`` (``benchmarks/`` is ``sys.path[0]`` when run as a script).
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def data_dir() -> Path:
    """``$ADVERSE_EVENTS_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("ADVERSE_EVENTS_DATA", ROOT.parent / "shared" / "data"))


def psytar_sentences() -> list[str]:
    """Every non-empty PsyTAR review sentence, as training reads them."""
    from adverse_events.training.workflow import load_data

    data = load_data([data_dir() / "psytar" / "sentences.csv"], label_column="ADR")
    return data.texts


def machine() -> dict[str, Any]:
    """The machine and library a figure was measured on."""
    from adverse_events import __version__

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "processor": platform.processor(),
        "library_version": __version__,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows of one shape as a markdown table (columns in the first row's order)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_results(stem: Path, results: dict[str, Any], markdown: str) -> None:
    """Write ``<stem>.json`` and ``<stem>.md`` and print the markdown."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(markdown.rstrip() + "\n", encoding="utf-8")
    print(markdown)
