"""Loading a model directory or hub id: config, tokenizer, torch model; no inference here.

`FastTokenizer` reads ``tokenizer.json`` with the ``tokenizers`` library alone, for model
directories that carry a prebuilt ONNX export and must run without torch or transformers; it
gives the same ids as the transformers fast tokenizer built on the same file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adverse_events.errors import BackendError, ConfigError, PluginError

__all__ = [
    "FastTokenizer",
    "import_torch",
    "load_config",
    "load_model",
    "load_tokenizer",
    "max_positions",
    "special_tokens",
]

TOKENIZER_FILE = "tokenizer.json"


def import_torch() -> Any:
    """torch, after checking transformers imports too (one install hint for both)."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise PluginError(
            "classifier 'transformers' needs: pip install 'adverse-events[torch]'"
        ) from exc
    return torch


def max_positions(model: str) -> int:
    """The longest input the model's position embeddings allow (texts are cut to it)."""
    file = Path(model) / "config.json"
    if file.is_file():
        config = json.loads(file.read_text(encoding="utf-8"))
        return int(config.get("max_position_embeddings") or 10**9)
    return int(getattr(load_config(model), "max_position_embeddings", None) or 10**9)


def load_config(model: str) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load model config from {model!r}: {exc}") from exc


def load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load tokenizer from {model!r}: {exc}") from exc


def load_model(model: str, torch: Any, eager: bool = False) -> Any:
    from transformers import AutoModelForSequenceClassification

    def load(attention: str) -> Any:
        return AutoModelForSequenceClassification.from_pretrained(
            model, attn_implementation=attention, dtype=torch.float32
        )

    try:
        try:
            loaded = load("eager" if eager else "sdpa")
        except ValueError:  # architecture without SDPA support
            loaded = load("eager")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load model from {model!r}: {exc}") from exc
    except RuntimeError as exc:
        raise BackendError(
            f"cannot load model from {model!r}: {exc}", backend="transformers"
        ) from exc
    from adverse_events.classifiers.transformers.pooling import wrap

    return wrap(loaded.eval()).eval()  # mean pooling when config.json records it


class FastTokenizer:
    """The slice of the transformers tokenizer API the classifier uses, on ``tokenizers`` alone.

    Args:
        folder: a model directory with ``tokenizer.json`` (and optionally
            ``tokenizer_config.json`` naming the pad token).
        input_names: the model's inputs (``input_ids``, ``attention_mask``, ...).
    """

    def __init__(self, folder: str | Path, input_names: Sequence[str]):
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise PluginError(
                "the ONNX default classifier needs: pip install 'adverse-events[onnx]'"
            ) from exc
        folder = Path(folder)
        try:
            self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as exc:  # tokenizers raises plain exceptions on a bad file
            raise ConfigError(f"cannot load {folder / TOKENIZER_FILE}: {exc}") from exc
        self._tokenizer.no_truncation()  # the classifier truncates, and counts what it cuts
        self._tokenizer.no_padding()  # ... and pads per batch
        self.model_input_names = list(input_names)
        self.pad_token_id = self._tokenizer.token_to_id(_pad_token(folder)) or 0

    def __call__(
        self, texts: str | Sequence[str], add_special_tokens: bool = True, verbose: bool = True
    ) -> dict[str, Any]:
        if isinstance(texts, str):
            encoding = self._tokenizer.encode(texts, add_special_tokens=add_special_tokens)
            return {"input_ids": encoding.ids}
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encodings]}


def _pad_token(folder: Path) -> str:
    file = folder / "tokenizer_config.json"
    if file.is_file():
        token = json.loads(file.read_text(encoding="utf-8")).get("pad_token")
        if isinstance(token, dict):  # older files store an AddedToken dict
            token = token.get("content")
        if isinstance(token, str):
            return token
    return "[PAD]"


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a single text."""
    plain = tokenizer("x", add_special_tokens=False)["input_ids"]
    full = tokenizer("x")["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return list(full[:start]), list(full[start + len(plain) :])
    return [], []  # pragma: no cover - a tokenizer that changes text when adding specials
