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

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adverse_events.classifiers._model_dir import MODEL_INFO_FILE, read_model_info
from adverse_events.errors import (
    BackendError,
    ConfigError,
    InputError,
    PermanentBackendError,
    TransientBackendError,
)
from adverse_events.protocols import Backend
from adverse_events.records import Prediction
from adverse_events.text.social import get_preprocessor

__all__ = ["PRECISIONS", "RUNTIMES", "TRUNCATIONS", "InferenceStats", "TransformersClassifier"]

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
RUNTIMES = ("auto", "torch", "onnxruntime")
TRUNCATIONS = ("head", "head+tail")
#: Architectures whose attention / layer-norm / GELU ONNX Runtime's BERT optimizer fuses.
_ORT_BERT_FAMILY = {"bert", "distilbert", "roberta", "xlm-roberta", "camembert", "electra"}
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


@dataclass(frozen=True)
class _Labels:
    labels: tuple[str, ...]
    positive: str
    threshold: float
    version: str
    preprocess: str | None = None


class TransformersClassifier(Backend):
    """Classify texts with a local transformers model; same order and length out as in.

    Args:
        model: a model directory or a hub id already in the local Hugging Face cache.
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
        self.model_path = str(model)
        self.device_option, self.precision_option = device, precision
        self.batch_size, self.max_length, self.token_budget = batch_size, max_length, token_budget
        self.compile, self.truncation, self.runtime_option = compile, truncation, runtime
        self.threshold_option, self.num_threads = threshold, num_threads
        self.cache_dir = Path(cache_dir) if cache_dir else _default_cache_dir()
        self.stats = InferenceStats()
        self._labels: _Labels | None = None
        self._engine: _Engine | None = None
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

    def _label_info(self) -> _Labels:
        if self._labels is None:
            self._labels = _read_labels(self.model_path, self.threshold_option)
        return self._labels

    def _load(self) -> _Engine:
        if self._engine is None:
            torch = _import_torch()
            self._tokenizer = _load_tokenizer(self.model_path)
            self._specials = _special_tokens(self._tokenizer)
            self.max_length = min(self.max_length, _max_positions(self.model_path))
            self._engine = _build_engine(self, torch)
            log.info("transformers classifier %s: %s", self.model_path, self.resolved)
        return self._engine

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


# -- engines: one forward pass on a padded numpy batch -> probabilities -------------------------


class _Engine:
    device: str
    precision: str
    runtime: str

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract


class _TorchEngine(_Engine):
    runtime = "torch"

    def __init__(self, model: Any, torch: Any, device: str, precision: str, inputs: list[str]):
        self.model, self.torch, self.device, self.precision = model, torch, device, precision
        self.inputs = inputs
        # bf16 weights on CUDA; autocast on CPU, which keeps layer norms and softmax in fp32.
        self.autocast = precision in ("bf16", "fp16") and device == "cpu"

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        torch = self.torch
        feed = {
            k: torch.from_numpy(v).to(self.device) for k, v in batch.items() if k in self.inputs
        }
        try:
            with torch.inference_mode():
                if self.autocast:
                    dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
                    with torch.autocast("cpu", dtype=dtype):
                        logits = self.model(**feed).logits
                else:
                    logits = self.model(**feed).logits
                return logits.float().softmax(-1).cpu().numpy()  # type: ignore[no-any-return]
        except torch.cuda.OutOfMemoryError as exc:
            raise TransientBackendError(
                f"CUDA out of memory on a batch of {batch['input_ids'].shape}; lower "
                "token_budget or batch_size",
                backend="transformers",
            ) from exc
        except RuntimeError as exc:
            raise PermanentBackendError(
                f"forward pass failed: {exc}", backend="transformers"
            ) from exc


class _OrtEngine(_Engine):
    runtime = "onnxruntime"
    device = "cpu"

    def __init__(self, session: Any, precision: str):
        self.session, self.precision = session, precision
        self.inputs = [i.name for i in session.get_inputs()]

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        try:
            logits = self.session.run(None, {k: batch[k] for k in self.inputs})[0]
        except Exception as exc:  # onnxruntime raises its own unexported exception types
            raise PermanentBackendError(
                f"onnxruntime failed: {exc}", backend="transformers"
            ) from exc
        logits = logits.astype(np.float32)
        logits -= logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def _build_engine(clf: TransformersClassifier, torch: Any) -> _Engine:
    device = _resolve_device(clf.device_option, torch)
    precision, runtime = _resolve_mode(clf.precision_option, clf.runtime_option, device, torch)
    threads = clf.num_threads or _available_cpus()
    if device == "cpu" and (clf.num_threads or torch.get_num_threads() > threads):
        torch.set_num_threads(threads)
    # ONNX Runtime's optimizer fuses the eager attention graph, not the traced SDPA one.
    model = _load_model(clf.model_path, torch, eager=runtime == "onnxruntime")
    if model.config.num_labels != len(clf.labels):
        raise ConfigError(
            f"model {clf.model_path!r} has {model.config.num_labels} outputs but "
            f"{len(clf.labels)} labels {list(clf.labels)}"
        )
    inputs = [n for n in _MODEL_INPUTS if n in clf._tokenizer.model_input_names]
    if runtime == "onnxruntime":
        session = _ort_session(model, inputs, precision, clf.cache_dir, threads)
        return _OrtEngine(session, precision)
    model = _prepare_torch_model(model, torch, device, precision, clf.compile)
    return _TorchEngine(model, torch, device, precision, inputs)


def _resolve_device(option: str, torch: Any) -> str:
    if option == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if option.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {option!r} asked for but CUDA is not available; use 'cpu'")
    return option


def _resolve_mode(precision: str, runtime: str, device: str, torch: Any) -> tuple[str, str]:
    """The (precision, runtime) that `auto` stands for on this hardware."""
    on_cuda = device.startswith("cuda")
    if precision == "auto":
        if on_cuda:
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        elif runtime == "torch" or (runtime == "auto" and not _has_onnxruntime()):
            # measured: bf16 autocast as fast as dynamic int8 with AVX512-BF16, and exact labels
            precision = "bf16" if _cpu_flags() & {"avx512_bf16", "amx_bf16"} else "int8"
        else:
            precision = "int8"
    if precision == "int8" and on_cuda:
        raise ConfigError("precision 'int8' is CPU only; use bf16 or fp16 on CUDA")
    if runtime == "auto":
        use_ort = not on_cuda and precision in ("fp32", "int8") and _has_onnxruntime()
        runtime = "onnxruntime" if use_ort else "torch"
    if runtime == "onnxruntime":
        if precision not in ("fp32", "int8"):
            raise ConfigError(f"runtime 'onnxruntime' supports fp32 and int8, not {precision!r}")
        if not _has_onnxruntime():
            raise ConfigError("runtime 'onnxruntime' needs: pip install 'adverse-events[onnx]'")
    return precision, runtime


def _prepare_torch_model(model: Any, torch: Any, device: str, precision: str, compile: bool) -> Any:
    try:
        if precision == "int8":
            with warnings.catch_warnings():  # torch.ao.quantization is deprecated for torchao
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        elif device != "cpu" and precision in ("bf16", "fp16"):
            model = model.to(torch.bfloat16 if precision == "bf16" else torch.float16)
        model = model.to(device).eval()
        if compile:
            model = torch.compile(model, dynamic=True)
    except RuntimeError as exc:
        raise BackendError(
            f"cannot prepare model on {device}: {exc}", backend="transformers"
        ) from exc
    return model


# -- ONNX Runtime: export once, fuse, quantize, cache ------------------------------------------


def _ort_session(model: Any, inputs: list[str], precision: str, cache: Path, threads: int) -> Any:
    import onnxruntime as ort

    path = _ort_export(model, inputs, precision, cache)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise BackendError(f"cannot load ONNX model {path}: {exc}", backend="transformers") from exc


def _ort_export(model: Any, inputs: list[str], precision: str, cache: Path) -> Path:
    """Path of the cached ONNX file for these weights and precision, exporting it if needed."""
    target = cache / "onnx" / _weights_key(model, inputs) / f"model.{precision}.onnx"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        work = Path(tmp)
        try:
            raw = _torch_to_onnx(model, inputs, work / "raw.onnx")
            fused = _fuse(raw, model.config, work / "fused.onnx")
            final = fused if precision == "fp32" else _quantize(fused, work / "int8.onnx")
        except Exception as exc:  # exporter / optimizer errors have many types
            raise BackendError(
                f"ONNX export failed ({exc}); use runtime='torch'", backend="transformers"
            ) from exc
        shutil.move(str(final), target)  # atomic within one file system
    return target


def _weights_key(model: Any, inputs: list[str]) -> str:
    """Hash of the weights, config and library versions: an export is reused only for them."""
    import onnxruntime
    import torch
    import transformers

    digest = hashlib.sha256()
    versions = [torch.__version__, transformers.__version__, onnxruntime.__version__, "v2"]
    digest.update(
        json.dumps([versions, inputs, model.config.to_dict()], sort_keys=True, default=str).encode()
    )
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()[:24]


def _torch_to_onnx(model: Any, inputs: list[str], path: Path) -> Path:
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(inputs, args, strict=True))).logits

    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in inputs)
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    with warnings.catch_warnings():  # tracer warnings are expected for HF models
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Logits(model).eval(), example, str(path), input_names=inputs,
            output_names=["logits"], dynamic_axes={**axes, "logits": {0: "batch"}},
            opset_version=17, dynamo=False,
        )  # fmt: skip
    return path


def _fuse(path: Path, config: Any, out: Path) -> Path:
    """Fuse attention, layer norms and GELU with ONNX Runtime's BERT optimizer where it applies."""
    if config.model_type not in _ORT_BERT_FAMILY:
        return path
    from onnxruntime.transformers import optimizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fused = optimizer.optimize_model(
            str(path),
            model_type="bert",
            num_heads=getattr(config, "num_attention_heads", 0),
            hidden_size=getattr(config, "hidden_size", 0),
        )
        fused.save_model_to_file(str(out))
    return out


def _quantize(path: Path, out: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger().disabled, was = True, logging.getLogger().disabled
        try:
            quantize_dynamic(str(path), str(out), weight_type=QuantType.QInt8,
                             extra_options={"DefaultTensorType": 1})  # fmt: skip
        finally:
            logging.getLogger().disabled = was
    return out


# -- helpers ------------------------------------------------------------------------------------


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {value!r}")


def _default_cache_dir() -> Path:
    env = os.environ.get("ADVERSE_EVENTS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "adverse_events"


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _cpu_flags() -> set[str]:
    """The CPU feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # pragma: no cover - not Linux
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()  # pragma: no cover


def _has_onnxruntime() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def _import_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        from adverse_events.errors import PluginError

        raise PluginError(
            "classifier 'transformers' needs: pip install 'adverse-events[torch]'"
        ) from exc
    return torch


def _max_positions(model_path: str) -> int:
    """The longest input the model's position embeddings allow (texts are cut to it)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_path)
    return int(getattr(config, "max_position_embeddings", None) or 10**9)


def _truncate(ids: list[int], room: int, how: str) -> list[int]:
    if how == "head":
        return ids[:room]
    head = room // 4
    return ids[:head] + ids[len(ids) - (room - head) :]


def _special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a single text."""
    plain = tokenizer("x", add_special_tokens=False)["input_ids"]
    full = tokenizer("x")["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return list(full[:start]), list(full[start + len(plain) :])
    return [], []  # pragma: no cover - a tokenizer that changes text when adding specials


def _read_labels(model: str, threshold: float | None) -> _Labels:
    """Labels, positive label, threshold and version from adverse_events.json or config.json."""
    path = Path(model)
    if (path / MODEL_INFO_FILE).exists():
        info = read_model_info(path)
        version = f"{path.name}@{info.created_at}"
        chosen = info.threshold if threshold is None else threshold
        return _Labels(tuple(info.labels), info.positive_label, chosen, version,
                       info.preprocess)
    config = _load_config(model)
    id2label = {int(k): v for k, v in (config.id2label or {}).items()}
    labels = tuple(id2label[i] for i in sorted(id2label))
    if len(labels) < 2:
        raise ConfigError(f"model {model!r} has {len(labels)} label(s); a classifier needs 2+")
    return _Labels(labels, labels[-1], 0.5 if threshold is None else threshold, path.name or model)


def _load_config(model: str) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load model config from {model!r}: {exc}") from exc


def _load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load tokenizer from {model!r}: {exc}") from exc


def _load_model(model: str, torch: Any, eager: bool = False) -> Any:
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
    from adverse_events.classifiers.pooling import wrap

    return wrap(loaded.eval()).eval()  # mean pooling when config.json records it
