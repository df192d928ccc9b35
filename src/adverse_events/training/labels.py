"""Label names: the binary pair, and mapping raw label values (1/0, yes/no, Related, ...) to names.

Binary data needs no mapping when its values are the usual ones (1/0, true/false, yes/no,
Related/Not-Related, ...): they become ``adverse_event`` / ``not_adverse_event``. Anything else
(multi-class data, other names) takes ``LabelMap(names={raw: name})`` or
``LabelMap(allowed=[names])``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NEGATIVE", "POSITIVE", "LabelMap", "label_text"]

POSITIVE, NEGATIVE = "adverse_event", "not_adverse_event"
_POSITIVE_VALUES = {"1", "1.0", "true", "yes", "y", "related", "ade", "adr", "positive", POSITIVE}
_NEGATIVE_VALUES = {
    "0",
    "0.0",
    "false",
    "no",
    "n",
    "not-related",
    "not_related",
    "none",
    "negative",
    NEGATIVE,
}


@dataclass(frozen=True)
class LabelMap:
    """Raw label value -> label name; `None` means "not a known label"."""

    names: Mapping[str, str] | None = None
    allowed: Sequence[str] | None = None

    def __call__(self, value: Any) -> str | None:
        raw = label_text(value)
        if raw is None:
            return None
        if self.names is not None:
            return self.names.get(raw)
        if self.allowed is not None:
            return raw if raw in self.allowed else None
        low = raw.lower()
        if low in _POSITIVE_VALUES:
            return POSITIVE
        if low in _NEGATIVE_VALUES:
            return NEGATIVE
        return None

    def labels(self, seen: Iterable[str]) -> list[str]:
        """The label set: the mapping's names, the allowed list, or the binary pair."""
        if self.names is not None:
            return sorted(set(self.names.values()))
        if self.allowed is not None:
            return list(self.allowed)
        return [NEGATIVE, POSITIVE] if set(seen) <= {NEGATIVE, POSITIVE} else sorted(set(seen))


def label_text(value: Any) -> str | None:
    """A raw label value as stripped text; `None` for a missing one (None, NaN, blank)."""
    if value is None or isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None
