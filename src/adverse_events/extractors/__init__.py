"""Extractors: find drug and adverse-event mentions in texts and code them (the local lexicon
extractor, Amazon Comprehend Medical).

Every backend is imported on first use, with an install hint when its extra is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adverse_events.protocols import Extractor

if TYPE_CHECKING:
    from adverse_events.extractors.comprehend_medical import ComprehendMedicalExtractor
    from adverse_events.extractors.lexicon import LexiconExtractor

__all__ = ["ComprehendMedicalExtractor", "Extractor", "LexiconExtractor"]

#: public name -> registry name; imported on first use (with an install hint if missing)
_LAZY = {"ComprehendMedicalExtractor": "comprehend-medical", "LexiconExtractor": "lexicon"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from adverse_events.registry import get_registry

        return get_registry().resolve("extractor", _LAZY[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
