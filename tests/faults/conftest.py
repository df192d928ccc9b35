"""The fault suite reuses the social sources' stand-ins."""

from tests.sources.conftest import waits, x_api

__all__ = ["waits", "x_api"]
