"""The X (Twitter) source, registry name ``x`` (``twitter`` is an alias): `XSource`.

One concept per module: `transport` (tweepy on our host, X's retry protocol, errors mapped),
`rules` (filtered-stream rules kept in step with the vocabulary), `stream` (reading the
filtered stream), `search` (recent search from a ``since_id`` cursor), `posts` (X objects ->
posts and scrubbed dead letters) and `source` (`XSource`, tying them together). Needs the
`twitter` extra (``pip install 'adverse-events[twitter]'``).
"""

from adverse_events.sources.x.source import DEFAULT_TOKEN_REF, XSource
from adverse_events.sources.x.transport import OFFICIAL_API

__all__ = ["DEFAULT_TOKEN_REF", "OFFICIAL_API", "XSource"]
