"""The exception tree of `adverse_events`.

Every backend translates its library's exceptions (botocore, tweepy, torch, duckdb) into
these at its edge, with ``raise ... from exc``, so the runner never sees a foreign exception.

```
AdverseEventsError
├── ConfigError             bad config file / options (message names the key and the fix)
├── PluginError             unknown backend name, missing extra
├── InputError              a record that cannot be processed -> becomes a DeadLetter
└── BackendError            raised by a backend, carries backend name
    ├── TransientBackendError   throttling, timeouts, 5xx, resets -> retried with backoff
    └── PermanentBackendError   auth, validation, 4xx -> item(s) dead-lettered, run continues
```
"""

from __future__ import annotations

__all__ = [
    "AdverseEventsError",
    "BackendError",
    "ConfigError",
    "InputError",
    "PermanentBackendError",
    "PluginError",
    "TransientBackendError",
]


class AdverseEventsError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigError(AdverseEventsError):
    """A configuration file or backend option is wrong; the message names the key and the fix."""


class PluginError(AdverseEventsError):
    """An unknown backend name, a name registered twice, or a missing optional dependency."""


class InputError(AdverseEventsError):
    """One input record cannot be processed. The runner turns it into a `DeadLetter`.

    Attributes:
        payload: the raw input, kept so the dead letter can be replayed.
        post_id: the post id when it is known.
    """

    def __init__(self, reason: str, *, payload: object = None, post_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.payload = payload
        self.post_id = post_id


class BackendError(AdverseEventsError):
    """An error raised by a backend; `backend` names it (e.g. ``"sagemaker"``)."""

    def __init__(self, message: str, *, backend: str = "unknown"):
        super().__init__(f"[{backend}] {message}")
        self.backend = backend


class TransientBackendError(BackendError):
    """Throttling, timeouts, 5xx, connection resets: worth retrying with backoff."""


class PermanentBackendError(BackendError):
    """Auth, validation, 4xx: retrying will not help; the affected items are dead-lettered."""
