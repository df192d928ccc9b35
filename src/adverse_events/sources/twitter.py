"""The X source's old home: `TwitterSource` is `XSource` (`adverse_events.sources.x`).

Kept so code and configs written before the rename keep working: ``from
adverse_events.sources.twitter import TwitterSource`` gives the same class, and the registry
name ``twitter`` is an alias of ``x``. New code imports `XSource` from `adverse_events.sources`.
"""

from adverse_events.secrets import resolve_secret
from adverse_events.sources.x import DEFAULT_TOKEN_REF, OFFICIAL_API, XSource

#: The old name of `XSource` (the same class).
TwitterSource = XSource

__all__ = ["DEFAULT_TOKEN_REF", "OFFICIAL_API", "TwitterSource", "XSource", "resolve_secret"]
