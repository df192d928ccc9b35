"""Test backends the Ray engine's actors build by name (shipped to them as a plugin).

They live in an importable module, not in a test file, because Ray workers import them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from adverse_events.errors import TransientBackendError
from adverse_events.hooks import hookimpl
from adverse_events.records import Prediction
from tests.helpers import KeywordClassifier


class CrashOnceClassifier(KeywordClassifier):
    """Kills its own worker process (as a segfault or OOM kill would) the first time it sees
    `trigger`; `flag` is a file that remembers, across actor restarts, that it crashed."""

    name = "crash-once"

    def __init__(self, flag: str, trigger: str = "p7", **options: object):
        super().__init__(**options)  # type: ignore[arg-type]
        self.flag, self.trigger = Path(flag), trigger

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        if any(self.trigger in text for text in texts) and not self.flag.exists():
            self.flag.write_text("crashed")
            os._exit(1)
        return super().classify(texts)


class FlakyClassifier(KeywordClassifier):
    """Raises `TransientBackendError` on every `every`-th call (a throttled endpoint);
    `log` collects one line per failure, across workers."""

    name = "flaky"

    def __init__(self, log: str, every: int = 3, **options: object):
        super().__init__(**options)  # type: ignore[arg-type]
        self.log, self.every, self.count = Path(log), every, 0

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        self.count += 1
        if self.count % self.every == 0:
            with self.log.open("a") as handle:
                handle.write(f"{os.getpid()}\n")
            raise TransientBackendError("throttled (injected)", backend=self.name)
        return super().classify(texts)


class RayTestBackends:
    """The plugin: registry entries for the classifiers here and the keyword classifier."""

    @hookimpl
    def adverse_events_backends(self) -> dict[str, dict[str, tuple[str, None]]]:
        return {
            "classifier": {
                "keyword": ("tests.helpers:KeywordClassifier", None),
                "crash-once": ("tests.engines.ray_backends:CrashOnceClassifier", None),
                "flaky": ("tests.engines.ray_backends:FlakyClassifier", None),
                "slow": ("tests.engines.ray_backends:SlowClassifier", None),
            }
        }


class SlowClassifier(KeywordClassifier):
    """Takes `seconds` per call, so a test can kill a run part-way."""

    name = "slow"

    def __init__(self, seconds: float = 0.05, **options: object):
        super().__init__(**options)  # type: ignore[arg-type]
        self.seconds = seconds

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        import time

        time.sleep(self.seconds)
        return super().classify(texts)
