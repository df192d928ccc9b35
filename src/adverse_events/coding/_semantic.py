"""A sentence encoder (a Hugging Face model folder, mean pooling) for semantic code matching.

Used by `ICD10CMCoder` only when given an ``encoder``: torch and transformers are imported on
first use, the model is read from a local folder (no download), and every text is embedded at
most once (the caller caches per phrase).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError, PluginError

__all__ = ["SentenceEncoder"]


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings of a local transformer model folder."""

    def __init__(self, path: str | os.PathLike[str], max_length: int = 32, batch_size: int = 128):
        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise ConfigError(f"encoder {str(self.path)!r} is not a model folder (no config.json)")
        self.max_length = max_length
        self.batch_size = batch_size
        self._model: Any = None
        self._tokenizer: Any = None

    def __repr__(self) -> str:
        return f"SentenceEncoder({str(self.path)!r})"

    def _load(self) -> None:
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise PluginError("semantic coding needs: pip install 'adverse-events[torch]'") from exc
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(self.path)
            self._model = AutoModel.from_pretrained(self.path).eval()
        except (OSError, ValueError) as exc:
            raise ConfigError(f"encoder {str(self.path)!r} cannot be loaded: {exc}") from exc

    def embed(self, texts: list[str]) -> Any:
        """A (len(texts), dim) float32 array of unit vectors."""
        import numpy as np
        import torch

        if self._model is None:
            self._load()
        if not texts:
            return np.zeros((0, int(self._model.config.hidden_size)), dtype=np.float32)
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), self.batch_size):
                batch = self._tokenizer(
                    texts[i : i + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=1).float().numpy())
        return np.vstack(out)
