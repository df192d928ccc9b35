"""The default models shipped inside the package, and how a config names them.

Three trained models travel in the wheel, so a fresh install classifies and extracts with no data
folder and no network:

* ``encoder/``: the default classifier, a pretrained sentence encoder fine-tuned on PsyTAR
  patient reviews and exported to ONNX int8 (runs with ``onnxruntime`` + ``tokenizers``);
* ``tfidf/``: the light TF-IDF classifier, the fallback where ONNX Runtime is not installed;
* ``lexicon/``: the lexicon extractor's CRF, trained on PsyTAR mention spans.

``manifest.json`` beside them says what went in (inputs with sha256, licences and attribution,
recipe, metrics, library version). ``scripts/build_models.py`` builds all of it from the shared
data and the pretrained encoder; see ``docs/models.md``.

In a config or in Python, the value ``"builtin"`` names a shipped model:
``TransformersClassifier("builtin")``, ``TfidfClassifier("builtin")``,
``LexiconExtractor("builtin")``, or the ``default`` classifier, which picks the encoder when
ONNX Runtime is installed and the TF-IDF model otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError

__all__ = ["BUILTIN", "KINDS", "MANIFEST_FILE", "builtin_dir", "manifest", "resolve_model"]

#: The config value that names a shipped model.
BUILTIN = "builtin"
#: The shipped models, each a folder of this package.
KINDS = ("encoder", "tfidf", "lexicon")
MANIFEST_FILE = "manifest.json"
_HERE = Path(__file__).parent


def builtin_dir(kind: str) -> Path:
    """The folder of the shipped model `kind`; a `ConfigError` if this install lacks it."""
    if kind not in KINDS:
        raise ConfigError(f"unknown shipped model {kind!r}; shipped models: {', '.join(KINDS)}")
    folder = _HERE / kind
    if not folder.is_dir() or not any(folder.iterdir()):
        raise ConfigError(
            f"the shipped {kind} model is missing from {folder}; reinstall adverse-events, or "
            "rebuild the models with `python scripts/build_models.py` (docs/models.md)"
        )
    return folder


def resolve_model(value: str | os.PathLike[str], kind: str) -> str | os.PathLike[str]:
    """`value` itself, or the shipped model's folder when `value` is ``"builtin"``."""
    return builtin_dir(kind) if str(value) == BUILTIN else value


def manifest() -> dict[str, Any]:
    """What the shipped models were built from, how, and how well they do."""
    file = _HERE / MANIFEST_FILE
    if not file.is_file():
        raise ConfigError(f"{file} is missing; rebuild with `python scripts/build_models.py`")
    return json.loads(file.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
