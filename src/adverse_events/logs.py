"""Logging for the command line: how loud each logger is, and no secret in any line.

* verbosity 0: the library logs at INFO, third-party libraries (botocore, urllib3, tweepy,
  transformers, ...) at WARNING;
* verbosity 1 (``-v``): the library at DEBUG, third-party libraries still at WARNING (botocore's
  DEBUG output holds request headers and credentials);
* verbosity 2 (``-vv``), or a logger named with ``--debug-logger``: DEBUG there too.

Every line goes through `RedactingFilter`, which replaces the values of secret environment
variables (names ending in ``TOKEN``, ``KEY``, ``SECRET``, ``PASSWORD``, ...; at least 8
characters) and the shapes of AWS credentials (an access key id, ``Credential=...``, security
tokens) with ``<redacted>``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["LIBRARY_LOGGER", "RedactingFilter", "configure_logging", "secret_values"]

LIBRARY_LOGGER = "adverse_events"
REDACTED = "<redacted>"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_SECRET_ENV = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIALS?)(_|$)", re.IGNORECASE)
_SHAPES = [
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key ids
    re.compile(r"(?<=Credential=)[^,\s'\"]+"),  # SigV4 Authorization header
    re.compile(r"(?<=Signature=)[0-9a-f]+"),
    re.compile(r"(?i)(?<=x-amz-security-token': b')[^']+"),
    re.compile(r"(?i)(?<=x-amz-security-token': ')[^']+"),
    re.compile(r"(?i)(?<=authorization': b')[^']+"),
    re.compile(r"(?i)(?<=authorization': ')[^']+"),
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9%._~+/=-]{8,}"),
]


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of secret-named environment variables (8 characters or more), longest first."""
    environ = os.environ if environ is None else environ
    found = {v for k, v in environ.items() if _SECRET_ENV.search(k) and len(v) >= 8}
    return sorted(found, key=len, reverse=True)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets replaced by ``<redacted>``."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for shape in _SHAPES:
            text = shape.sub(REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def configure_logging(verbosity: int = 0, debug_loggers: Sequence[str] = ()) -> None:
    """Set levels as the module docstring says and put one redacting handler on stderr."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    logging.getLogger(LIBRARY_LOGGER).setLevel(logging.DEBUG if verbosity >= 1 else logging.INFO)
    for name in debug_loggers:
        logging.getLogger(name).setLevel(logging.DEBUG)
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    handler.filters = [RedactingFilter(secret_values())]


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass
