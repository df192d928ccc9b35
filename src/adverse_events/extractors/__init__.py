"""Extractors: find drug and adverse-event mentions in texts and code them (the local lexicon
extractor, Amazon Comprehend Medical).

Every backend is imported on first use, with an install hint when its extra is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adverse_events.protocols import Extractor
from adverse_events.registry import lazy_backends

if TYPE_CHECKING:
    from adverse_events.extractors.comprehend_medical import ComprehendMedicalExtractor
    from adverse_events.extractors.lexicon import LexiconExtractor

__all__ = ["ComprehendMedicalExtractor", "Extractor", "LexiconExtractor"]

#: public name -> registry name; imported on first use (with an install hint if missing)
_LAZY = {"ComprehendMedicalExtractor": "comprehend-medical", "LexiconExtractor": "lexicon"}

__getattr__ = lazy_backends(__name__, "extractor", _LAZY)
