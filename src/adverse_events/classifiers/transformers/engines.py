"""Engines: one forward pass on a padded numpy batch -> probabilities, and how `auto` resolves.

`TorchEngine` runs a torch model (fp32, bf16/fp16, dynamic int8) on CPU or CUDA; `OrtEngine` runs
an ONNX Runtime session (fp32 or int8, CPU). `resolve_mode` says which precision and runtime
``"auto"`` stands for on this hardware; the choices are measured in
``benchmarks/classifier_throughput.py``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from adverse_events.errors import (
    BackendError,
    ConfigError,
    PermanentBackendError,
    TransientBackendError,
)

__all__ = [
    "Engine",
    "OrtEngine",
    "TorchEngine",
    "available_cpus",
    "cpu_flags",
    "has_module",
    "has_onnxruntime",
    "prepare_torch_model",
    "resolve_device",
    "resolve_mode",
]


class Engine:
    device: str
    precision: str
    runtime: str

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract


class TorchEngine(Engine):
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


class OrtEngine(Engine):
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


def resolve_device(option: str, torch: Any) -> str:
    if option == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if option.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {option!r} asked for but CUDA is not available; use 'cpu'")
    return option


def resolve_mode(precision: str, runtime: str, device: str, torch: Any) -> tuple[str, str]:
    """The (precision, runtime) that `auto` stands for on this hardware."""
    on_cuda = device.startswith("cuda")
    if precision == "auto":
        if on_cuda:
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        elif runtime == "torch" or (runtime == "auto" and not has_onnxruntime()):
            # measured: bf16 autocast as fast as dynamic int8 with AVX512-BF16, and exact labels
            precision = "bf16" if cpu_flags() & {"avx512_bf16", "amx_bf16"} else "int8"
        else:
            precision = "int8"
    if precision == "int8" and on_cuda:
        raise ConfigError("precision 'int8' is CPU only; use bf16 or fp16 on CUDA")
    if runtime == "auto":
        use_ort = not on_cuda and precision in ("fp32", "int8") and has_onnxruntime()
        runtime = "onnxruntime" if use_ort else "torch"
    if runtime == "onnxruntime":
        if precision not in ("fp32", "int8"):
            raise ConfigError(f"runtime 'onnxruntime' supports fp32 and int8, not {precision!r}")
        if not has_onnxruntime():
            raise ConfigError("runtime 'onnxruntime' needs: pip install 'adverse-events[onnx]'")
    return precision, runtime


def prepare_torch_model(model: Any, torch: Any, device: str, precision: str, compile: bool) -> Any:
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


# -- hardware ---------------------------------------------------------------------------------


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def cpu_flags() -> set[str]:
    """The CPU feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # pragma: no cover - not Linux
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()  # pragma: no cover


def has_module(name: str) -> bool:
    """True when `name` can be imported (without importing it); a broken or half-installed
    package counts as absent."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def has_onnxruntime() -> bool:
    """True when ONNX Runtime and the onnx package (needed to export) are both installed."""
    return has_module("onnxruntime") and has_module("onnx")
