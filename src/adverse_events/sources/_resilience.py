"""Helpers shared by long-running sources: backoff schedules, bounded de-duplication, cursors.

Waits go through an injectable ``sleep`` and ``clock`` so tests run in milliseconds.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError
from adverse_events.recent import RecentIds

__all__ = ["Backoff", "JsonCheckpoint", "RecentIds"]


@dataclass
class Backoff:
    """The reconnect schedule the X API asks for (also sensible for other HTTP streams).

    * network errors and stalls: linear, +`network_step` s per attempt, at most `network_max`;
    * HTTP errors: exponential from `http_initial` s, doubling, at most `http_max`;
    * 420/429: exponential from `rate_limit_initial` s, unless the server says when the limit
      resets (``x-rate-limit-reset``, epoch seconds): then until that moment plus one second.

    `success()` resets every schedule; `failures` counts consecutive failed attempts.
    """

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    network_step: float = 0.25
    network_max: float = 16.0
    http_initial: float = 5.0
    http_max: float = 320.0
    rate_limit_initial: float = 60.0
    rate_limit_max: float = 960.0
    failures: int = 0
    waits: list[float] = field(default_factory=list)
    _network: float = 0.0
    _http: float = 0.0
    _rate: float = 0.0

    def success(self) -> None:
        self.failures, self._network, self._http, self._rate = 0, 0.0, 0.0, 0.0

    def network_error(self) -> float:
        self._network = min(self._network + self.network_step, self.network_max)
        return self._wait(self._network - self.network_step)

    def http_error(self) -> float:
        self._http = min(self._http * 2 if self._http else self.http_initial, self.http_max)
        return self._wait(self._http)

    def rate_limited(self, reset_at: float | None = None) -> float:
        if reset_at is not None:
            self.failures += 1
            return self._wait(max(0.0, reset_at - self.clock()) + 1.0, count=False)
        self._rate = min(
            self._rate * 2 if self._rate else self.rate_limit_initial, self.rate_limit_max
        )
        return self._wait(self._rate)

    def _wait(self, seconds: float, count: bool = True) -> float:
        if count:
            self.failures += 1
        self.waits.append(seconds)
        del self.waits[:-100]  # bounded: the last 100 waits, for logs and tests
        if seconds > 0:
            self.sleep(seconds)
        return seconds


class JsonCheckpoint:
    """A small JSON state file written atomically (temp file + rename): cursors, checkpoints.

    `path=None` keeps the state in memory only.
    """

    def __init__(self, path: str | os.PathLike[str] | None, what: str):
        self.path = Path(path) if path is not None else None
        self.what = what
        self.state: dict[str, Any] = {}
        self.dirty = False
        if self.path is not None and self.path.exists():
            try:
                self.state = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError(
                    f"{what} file {str(self.path)!r} is unreadable ({exc}); "
                    "fix or delete it to start over"
                ) from exc
            if not isinstance(self.state, dict):
                raise ConfigError(f"{what} file {str(self.path)!r} does not hold an object")

    def set(self, key: str, value: Any) -> None:
        if self.state.get(key) != value:
            self.state[key] = value
            self.dirty = True

    def get(self, key: str, default: Any = None) -> Any:
        return self.state.get(key, default)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the state (for `CheckpointingSource.snapshot`)."""
        return json.loads(json.dumps(self.state))

    def replace(self, state: dict[str, Any]) -> None:
        """Take `state` as the whole state (save() then writes it)."""
        if state != self.state:
            self.state = json.loads(json.dumps(state))
            self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self.state, out, sort_keys=True, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.dirty = False
