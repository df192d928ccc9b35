"""Runs the real `adverse-events` CLI in a child process, with a test classifier registered.

``python -m tests.faults.cli_child run pipeline.toml`` is ``adverse-events run pipeline.toml``
plus a ``slow-keyword`` classifier (a keyword classifier that takes `delay` seconds per batch,
so a kill lands mid-run). The kill -9 / Ctrl-C tests start it with `subprocess`.
"""

from __future__ import annotations

import sys
import time

from adverse_events import registry
from tests.helpers import KeywordClassifier


class SlowKeywordClassifier(KeywordClassifier):
    name = "slow-keyword"

    def __init__(self, keywords: list[str] = ("headache",), delay: float = 0.01):  # type: ignore[assignment]
        super().__init__(list(keywords))
        self.delay = delay

    def classify(self, texts):  # type: ignore[no-untyped-def]
        time.sleep(self.delay)
        return super().classify(texts)


def main() -> None:
    registry.BUILTIN_BACKENDS["classifier"]["slow-keyword"] = (
        "tests.faults.cli_child:SlowKeywordClassifier",
        None,
    )
    registry.get_registry.cache_clear()
    from adverse_events.cli import app

    sys.argv = ["adverse-events", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    main()
