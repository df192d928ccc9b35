"""Small backends used by tests through the registry."""

from __future__ import annotations

from adverse_events.testing import MockClassifier


class KeywordClassifier(MockClassifier):
    """Adverse event when any keyword occurs in the text (config-constructible)."""

    name = "keyword"

    def __init__(self, keywords: list[str] = ("headache", "nausea"), threshold: float = 0.5):  # type: ignore[assignment]
        words = [k.lower() for k in keywords]
        super().__init__(lambda t: 0.9 if any(w in t.lower() for w in words) else 0.1, threshold)
