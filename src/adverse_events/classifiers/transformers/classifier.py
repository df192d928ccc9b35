"""`TransformersClassifier`: a local Hugging Face sequence classifier, fast on CPU and GPU.

Loads a model directory written by ``adverse-events train`` (``save_pretrained`` files, the
tokenizer and ``adverse_events.json``) or any plain Hugging Face model directory / hub id whose
head is a sequence classifier. Score = P(positive label); a text is an adverse event when the
score is at least the threshold.

Why it is fast (each measured in ``benchmarks/classifier_throughput.py``, see
``docs/performance.md``):

* texts are tokenized once, sorted by length and cut into *token-budget* batches (padded tokens
  per batch <= ``token_budget``, texts per batch <= ``batch_size``), so short posts are never
  padded to the length of one long post; predictions come back in input order;
* ``precision="auto"`` picks the fastest mode that keeps predictions equal to fp32: on CPU
  dynamic int8 through ONNX Runtime's fused BERT graph when ``onnxruntime`` is installed (the
  export is cached), else bf16 autocast on CPUs with AVX512-BF16 or AMX and torch dynamic int8
  on others; bf16 (fp16 where bf16 is unsupported) on CUDA;
* ``torch.inference_mode``, SDPA attention, optional ``torch.compile``.

Long posts are truncated explicitly: ``truncation="head"`` keeps the first tokens,
``"head+tail"`` keeps the first quarter and the last three quarters of the budget (long posts
often end with the outcome). ``truncated`` counts the texts that were cut.

Dynamic int8 scales activations per batch, so int8 scores move slightly (~0.03 at most on the
benchmark) with the texts a text is batched with; fp32 and bf16 do not depend on batching.

Needs ``pip install 'adverse-events[torch]'``; ONNX Runtime is ``adverse-events[onnx]``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adverse_events.classifiers.transformers import onnx
from adverse_events.classifiers.transformers.engines import (
    Engine,
    OrtEngine,
    TorchEngine,
    available_cpus,
    has_module,
    prepare_torch_model,
    resolve_device,
    resolve_mode,
)
from adverse_events.classifiers.transformers.labels import ModelLabels, read_labels
from adverse_events.classifiers.transformers.loading import (
    FastTokenizer,
    import_torch,
    load_model,
    load_tokenizer,
    max_positions,
    special_tokens,
)
from adverse_events.errors import ConfigError, InputError, PluginError
from adverse_events.models import resolve_model
from adverse_events.protocols import Backend
from adverse_events.records import Prediction
from adverse_events.text.social import get_preprocessor

__all__ = ["PRECISIONS", "RUNTIMES", "TRUNCATIONS", "InferenceStats", "TransformersClassifier"]

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
RUNTIMES = ("auto", "torch", "onnxruntime")
TRUNCATIONS = ("head", "head+tail")
_MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class InferenceStats:
    """Counters of one classifier since it was created (or since `reset()`)."""

    texts: int = 0
    batches: int = 0
    tokens: int = 0
    padded_tokens: int = 0
    truncated: int = 0
    batch_seconds: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self.texts = self.batches = self.tokens = self.padded_tokens = self.truncated = 0
        self.batch_seconds.clear()


class TransformersClassifier(Backend):
    """Classify texts with a local transformers model; same order and length out as in.

    Args:
        model: a model directory, a hub id already in the local Hugging Face cache, or
            ``"builtin"``: the shipped default (a fine-tuned encoder exported to ONNX int8, see
            `adverse_events.models`). A directory holding a prebuilt ``model.int8.onnx`` runs
            with ONNX Runtime and ``tokenizers`` alone (CPU, int8; no torch needed).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        precision: ``auto | fp32 | bf16 | fp16 | int8`` (int8 is CPU only).
        batch_size: most texts per forward pass.
        max_length: most tokens per text, special tokens included; longer texts are truncated.
        compile: wrap the torch model in ``torch.compile`` (torch runtime only).
        threshold: overrides the threshold in ``adverse_events.json`` (default 0.5 without it).
        token_budget: most padded tokens per forward pass (batch rows x longest row).
        truncation: ``"head"`` or ``"head+tail"``.
        runtime: ``auto | torch | onnxruntime``; ``auto`` uses ONNX Runtime for fp32/int8 on
            CPU when it is installed (it measured 4-5x faster than torch there), torch otherwise.
        num_threads: intra-op threads (default: the CPUs this process may use).
        cache_dir: where ONNX exports are cached (default ``$ADVERSE_EVENTS_CACHE`` or
            ``~/.cache/adverse_events``).
    """

    name = "transformers"

    def __init__(
        self,
        model: str | os.PathLike[str],
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 64,
        max_length: int = 256,
        compile: bool = False,
        threshold: float | None = None,
        token_budget: int = 8192,
        truncation: str = "head",
        runtime: str = "auto",
        num_threads: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ):
        _check_choice("precision", precision, PRECISIONS)
        _check_choice("truncation", truncation, TRUNCATIONS)
        _check_choice("runtime", runtime, RUNTIMES)
        if not (device in ("auto", "cpu", "cuda") or str(device).startswith("cuda:")):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, not {device!r}")
        for key, value, low in (
            ("batch_size", batch_size, 1),
            ("max_length", max_length, 4),
            ("token_budget", token_budget, 1),
        ):
            if not isinstance(value, int) or value < low:
                raise ConfigError(f"{key} must be an integer >= {low}, not {value!r}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, not {threshold!r}")
        if num_threads is not None and num_threads < 1:
            raise ConfigError(f"num_threads must be >= 1, not {num_threads!r}")
        if precision == "int8" and str(device).startswith("cuda"):
            raise ConfigError("precision 'int8' is CPU only; use bf16 or fp16 on CUDA")
        if runtime == "onnxruntime" and str(device).startswith("cuda"):
            raise ConfigError("runtime 'onnxruntime' is CPU only here; use runtime 'torch'")
        self.model_path = str(resolve_model(model, "encoder"))
        self.prebuilt = Path(self.model_path, onnx.PREBUILT_FILE).is_file()
        if self.prebuilt:
            _check_prebuilt_options(self.model_path, device, precision, runtime, compile)
        self.device_option, self.precision_option = device, precision
        self.batch_size, self.max_length, self.token_budget = batch_size, max_length, token_budget
        self.compile, self.truncation, self.runtime_option = compile, truncation, runtime
        self.threshold_option, self.num_threads = threshold, num_threads
        self.cache_dir = Path(cache_dir) if cache_dir else _default_cache_dir()
        self.stats = InferenceStats()
        self._labels: ModelLabels | None = None
        self._engine: Engine | None = None
        self._tokenizer: Any = None
        self._specials: tuple[list[int], list[int]] = ([], [])
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"TransformersClassifier(model={self.model_path!r}, device={self.device_option!r}, "
            f"precision={self.precision_option!r}, runtime={self.runtime_option!r})"
        )

    # -- public API -------------------------------------------------------------------------

    @property
    def labels(self) -> tuple[str, ...]:
        return self._label_info().labels

    @property
    def threshold(self) -> float:
        return self._label_info().threshold

    @property
    def positive_label(self) -> str:
        return self._label_info().positive

    @property
    def truncated(self) -> int:
        """How many texts were truncated to ``max_length`` tokens so far."""
        return self.stats.truncated

    @property
    def resolved(self) -> dict[str, str]:
        """The device, precision and runtime actually used (loads the model)."""
        engine = self._load()
        return {"device": engine.device, "precision": engine.precision, "runtime": engine.runtime}

    def open(self) -> None:
        self._load()

    def close(self) -> None:
        self._engine = None
        self._tokenizer = None

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        texts = list(texts)
        if not texts:
            return []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text {i} is {type(text).__name__}, not str", payload=text)
        preprocess = get_preprocessor(self._label_info().preprocess)
        if preprocess is not None:  # the model was trained on preprocessed text
            texts = preprocess(texts)
        with self._lock:
            engine = self._load()
            ids = self._encode(texts)
            probs = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
            for rows, batch in self._batches(ids):
                started = time.perf_counter()
                probs[rows] = engine.run(batch)
                self.stats.batch_seconds.append(time.perf_counter() - started)
                self.stats.batches += 1
                self.stats.padded_tokens += int(batch["input_ids"].size)
            self.stats.texts += len(texts)
        return self._predictions(probs)

    # -- loading ----------------------------------------------------------------------------

    def _label_info(self) -> ModelLabels:
        if self._labels is None:
            self._labels = read_labels(self.model_path, self.threshold_option)
        return self._labels

    def _load(self) -> Engine:
        if self._engine is None:
            if self.prebuilt:
                self._engine = self._load_prebuilt()
            else:
                torch = import_torch()
                self._tokenizer = load_tokenizer(self.model_path)
                self._specials = special_tokens(self._tokenizer)
                self._engine = _build_engine(self, torch)
            self.max_length = min(self.max_length, max_positions(self.model_path))
            log.info("transformers classifier %s: %s", self.model_path, self.resolved)
        return self._engine

    def _load_prebuilt(self) -> Engine:
        """The directory's own ONNX export, with ONNX Runtime and ``tokenizers`` only."""
        if not has_module("onnxruntime"):
            raise PluginError(
                f"{self.model_path} holds an ONNX model; it needs: "
                "pip install 'adverse-events[onnx]'"
            )
        threads = self.num_threads or available_cpus()
        session = onnx.open_session(Path(self.model_path, onnx.PREBUILT_FILE), threads)
        inputs = [i.name for i in session.get_inputs()]
        self._tokenizer = FastTokenizer(self.model_path, inputs)
        self._specials = special_tokens(self._tokenizer)
        return OrtEngine(session, "int8")

    # -- tokenization and batching ------------------------------------------------------------

    def _encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, special tokens added, truncated to `max_length` (counted)."""
        try:
            content = self._tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        except Exception as exc:  # tokenizers raise plain exceptions on odd input
            raise InputError(f"cannot tokenize batch: {exc}", payload=texts) from exc
        prefix, suffix = self._specials
        room = self.max_length - len(prefix) - len(suffix)
        out = []
        for ids in content:
            if len(ids) > room:
                self.stats.truncated += 1
                ids = _truncate(ids, room, self.truncation)
            out.append(prefix + ids + suffix)
            self.stats.tokens += len(out[-1])
        return out

    def _batches(self, ids: list[list[int]]) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
        """Length-sorted batches of at most `batch_size` rows and `token_budget` padded tokens."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        rows: list[int] = []
        for i in order:
            longest = len(ids[i])  # ascending order: the newest row is the longest
            if rows and (
                len(rows) >= self.batch_size or (len(rows) + 1) * longest > self.token_budget
            ):
                yield rows, self._pad([ids[r] for r in rows])
                rows = []
            rows.append(i)
        if rows:
            yield rows, self._pad([ids[r] for r in rows])

    def _pad(self, rows: list[list[int]]) -> dict[str, np.ndarray]:
        width = max(len(r) for r in rows)
        pad_id = self._tokenizer.pad_token_id or 0
        input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for n, row in enumerate(rows):
            input_ids[n, : len(row)] = row
            mask[n, : len(row)] = 1
        batch = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._tokenizer.model_input_names:
            batch["token_type_ids"] = np.zeros_like(input_ids)
        return batch

    def _predictions(self, probs: np.ndarray) -> list[Prediction]:
        info = self._label_info()
        positive = info.labels.index(info.positive)
        negative = next(label for label in info.labels if label != info.positive)
        out = []
        for row in probs.astype(np.float64):
            score = float(min(1.0, max(0.0, row[positive])))
            is_ae = score >= info.threshold
            out.append(
                Prediction(
                    label=info.positive if is_ae else negative,
                    score=score,
                    probabilities={
                        label: float(p) for label, p in zip(info.labels, row, strict=True)
                    },
                    is_adverse_event=is_ae,
                    model=info.version,
                )
            )
        return out


# -- engines and helpers -------------------------------------------------------------------


def _build_engine(clf: TransformersClassifier, torch: Any) -> Engine:
    device = resolve_device(clf.device_option, torch)
    precision, runtime = resolve_mode(clf.precision_option, clf.runtime_option, device, torch)
    threads = clf.num_threads or available_cpus()
    if device == "cpu" and (clf.num_threads or torch.get_num_threads() > threads):
        torch.set_num_threads(threads)
    # ONNX Runtime's optimizer fuses the eager attention graph, not the traced SDPA one.
    model = load_model(clf.model_path, torch, eager=runtime == "onnxruntime")
    if model.config.num_labels != len(clf.labels):
        raise ConfigError(
            f"model {clf.model_path!r} has {model.config.num_labels} outputs but "
            f"{len(clf.labels)} labels {list(clf.labels)}"
        )
    inputs = [n for n in _MODEL_INPUTS if n in clf._tokenizer.model_input_names]
    if runtime == "onnxruntime":
        path = onnx.cached_export(model, inputs, precision, clf.cache_dir)
        return OrtEngine(onnx.open_session(path, threads), precision)
    model = prepare_torch_model(model, torch, device, precision, clf.compile)
    return TorchEngine(model, torch, device, precision, inputs)


def _check_prebuilt_options(
    model: str, device: str, precision: str, runtime: str, compile: bool
) -> None:
    """A prebuilt ONNX directory runs int8 on the CPU with ONNX Runtime, nothing else."""
    asked = {
        "device": (device, ("auto", "cpu")),
        "precision": (precision, ("auto", "int8")),
        "runtime": (runtime, ("auto", "onnxruntime")),
        "compile": (compile, (False,)),
    }
    for key, (value, allowed) in asked.items():
        if value not in allowed:
            raise ConfigError(
                f"{key}={value!r}: {model} holds only an int8 ONNX export (CPU, ONNX Runtime); "
                "leave it at auto, or fine-tune your own model for GPU / other precisions"
            )


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {value!r}")


def _default_cache_dir() -> Path:
    env = os.environ.get("ADVERSE_EVENTS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "adverse_events"


def _truncate(ids: list[int], room: int, how: str) -> list[int]:
    if how == "head":
        return ids[:room]
    head = room // 4
    return ids[:head] + ids[len(ids) - (room - head) :]
