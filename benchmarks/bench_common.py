"""What the benchmark scripts share: paths, the corpora, the machine, timing, result files.

The corpora come from the library's own loaders (`adverse_events.training.workflow.load_data`,
`adverse_events.training.datasets`), so a benchmark reads the data exactly as training does.
Every result file records the machine it was measured on, through one description here.
Scripts import this module as ``bench_common`` (``benchmarks/`` is ``sys.path[0]`` when a
script runs); it imports nothing heavy, so a script's ``--help`` stays fast.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adverse_events.training.datasets import Dataset, Example

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: models and features a benchmark builds once and reuses (not committed)
CACHE = ROOT / "benchmarks" / ".cache"
#: the pretrained encoder in the shared folder beside the checkout (see ../shared/models)
SHARED_ENCODER = ROOT / ".." / "shared" / "models" / "all-MiniLM-L6-v2"

# -- data -----------------------------------------------------------------------------------


def data_dir() -> Path:
    """``$ADVERSE_EVENTS_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("ADVERSE_EVENTS_DATA", ROOT.parent / "shared" / "data"))


def psytar(root: Path | None = None) -> Dataset:
    """PsyTAR review sentences labelled by their ADR column, grouped by review (``post_id``)."""
    from adverse_events.training.workflow import load_data

    folder = root or data_dir()
    return load_data(
        [folder / "psytar" / "sentences.csv"], label_column="ADR", group_column="post_id"
    )


def psytar_sentences(root: Path | None = None) -> list[str]:
    """Every non-empty PsyTAR review sentence, in file order, as training reads them."""
    return psytar(root).texts


def ade(root: Path | None = None, *, relations: bool = False) -> Dataset:
    """The ADE corpus (``ade_corpus_v2/``) as training reads it; `relations` as in `load_data`."""
    from adverse_events.training.workflow import load_data

    return load_data([(root or data_dir()) / "ade_corpus_v2"], relations=relations)


def ade_examples(root: Path | None = None) -> list[Example]:
    """The ADE corpus's examples in the loader's order: positive sentences, then negatives."""
    from adverse_events.training.datasets import load_ade_corpus

    examples, _ = load_ade_corpus((root or data_dir()) / "ade_corpus_v2")
    return examples


def ade_sentences(root: Path | None = None) -> tuple[list[str], list[int]]:
    """ADE-corpus sentences de-duplicated by text: (texts, 1 = describes an adverse event).

    Negatives come first, in file order; a sentence that is also a positive is labelled 1 and
    keeps its place, positives not among the negatives follow.
    """
    from adverse_events.training.datasets import POSITIVE

    examples = ade_examples(root)
    negatives = [e.text for e in examples if e.label != POSITIVE]
    positives = [e.text for e in examples if e.label == POSITIVE]
    labelled = dict.fromkeys(negatives, 0) | dict.fromkeys(positives, 1)
    return list(labelled), list(labelled.values())


def union(parts: Sequence[Dataset]) -> Dataset:
    """The examples of `parts` in order, as one `Dataset` (labels of the first part)."""
    from adverse_events.training.datasets import Dataset

    examples = [e for p in parts for e in p.examples]
    return Dataset(examples, parts[0].labels, parts[0].positive_label)


# -- the machine ------------------------------------------------------------------------------


def cpus() -> int:
    """CPUs this process may run on (the affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def host(*keys: str) -> dict[str, Any]:
    """Platform, Python, CPUs and processor; only `keys`, in that order, when given."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": cpus(),
        "processor": platform.processor(),
    }
    return {key: info[key] for key in keys} if keys else info


#: CPU features that decide which precision and runtime run fast (classifier benchmarks)
CPU_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
)


def cpu_info() -> dict[str, Any]:
    """The CPU's model name and which of `CPU_FLAGS` it has (``/proc/cpuinfo``; the processor
    name and no flags where there is none)."""
    model, flags = platform.processor(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:  # pragma: no cover - not Linux
        pass
    return {"model": model, "flags": [f for f in CPU_FLAGS if f in flags]}


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages: a shared machine measures slower."""
    return os.getloadavg()


def now() -> str:
    """The current UTC time, to the second, in ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def library_version() -> str:
    """The version of the `adverse_events` being measured (maybe another checkout's)."""
    import adverse_events

    return str(adverse_events.__version__)


def machine() -> dict[str, Any]:
    """The machine and library a figure was measured on, and when."""
    return {**host(), "library_version": library_version(), "measured_at": now()}


def command_line(script: str) -> str:
    """How this run was started, for the results: ``python benchmarks/<script> <args>``."""
    return " ".join(["python", f"benchmarks/{script}", *sys.argv[1:]])


# -- timing and memory ----------------------------------------------------------------------


class Stopwatch:
    """Wall-clock seconds of a ``with`` block (`seconds`; while it runs, so far)."""

    def __enter__(self) -> Stopwatch:
        self.started, self.stopped = time.perf_counter(), None
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self.stopped or time.perf_counter()) - self.started


@contextmanager
def frozen_gc() -> Iterator[None]:
    """Run the block with the start-up objects frozen out of the garbage collector's scans,
    as ``adverse-events run`` does."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def rss_bytes() -> int:
    """Resident memory of this process now (Linux), else its peak so far."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """Peak resident memory of this process while the block runs (sampled every 5 ms)."""

    def __enter__(self) -> PeakMemory:
        self.peak, self._stop = rss_bytes(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


# -- result files -----------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header (a hand-checked verdict file); empty when missing."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_json(path: Path, data: Any) -> None:
    """`data` as indented JSON with a final newline, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def with_run(path: Path, run: dict[str, Any], key: tuple[str, ...]) -> dict[str, Any]:
    """The results report at `path` (``{"runs": [...]}``, a new one when absent) with `run` in
    place of the run that has the same values at `key`, or added last; not written."""
    report = json.loads(path.read_text()) if path.is_file() else {"runs": []}
    kept = [r for r in report["runs"] if any(r[k] != run[k] for k in key)]
    report["runs"] = [*kept, run]
    return report


def finish(result: dict[str, Any], path: Path | None) -> None:
    """Add the machine, library version and time to `result`, print it, write it to `path`."""
    result["machine"] = host()
    result["library_version"] = library_version()
    result["measured_at"] = now()
    print(json.dumps(result, indent=2))
    if path:
        write_json(path, result)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows of one shape as a markdown table (columns in the first row's order)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_results(stem: Path, results: dict[str, Any], markdown: str) -> None:
    """Write ``<stem>.json`` and ``<stem>.md`` and print the markdown."""
    write_json(stem.with_suffix(".json"), results)
    stem.with_suffix(".md").write_text(markdown.rstrip() + "\n", encoding="utf-8")
    print(markdown)
