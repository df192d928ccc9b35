"""One script for SageMaker: the training entry point and the inference handlers.

Training (``python sagemaker_entry.py --epochs 3 ...``, what a SageMaker training job runs):
reads every ``SM_CHANNEL_*`` directory as training data (but the SDK's own ``code`` and
``sm_drivers`` channels), the hyperparameters as command-line arguments, trains with
`adverse_events.training` (split, fine-tune, choose the threshold on validation data, measure
on test data), saves the model to ``SM_MODEL_DIR`` together with ``code/inference.py`` so the
model archive deploys as it is, and writes the metrics to ``SM_OUTPUT_DATA_DIR/metrics.json``
and to the log as ``name=value;`` (for metric definitions).

Inference (what the SageMaker Hugging Face / PyTorch inference toolkit calls):
`model_fn` loads the model directory with the classifier its ``adverse_events.json`` names: the
fast `TransformersClassifier` for a fine-tuned transformer (options from the container's
``AE_*`` environment variables, see `model_options`; fp32 by default), `TfidfClassifier` for a
TF-IDF model; `input_fn` takes a JSON string or a JSON list of strings (or
``{"inputs": ...}``); `predict_fn` classifies the whole batch; `output_fn` answers a JSON list
of ``{"label", "score", "probabilities"}``, one per input, in order. ``score`` is the
probability of the adverse-event class; the model's threshold decides ``label``. Tensors never
reach this module, so it runs the same on CPU and GPU instances.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "data_files",
    "input_fn",
    "main",
    "model_fn",
    "model_options",
    "output_fn",
    "parse_args",
    "predict_fn",
    "train",
]

log = logging.getLogger("adverse_events.aws.sagemaker_entry")

JSON = "application/json"
#: Hyperparameters and their defaults (the SageMaker estimator passes them as --name value).
DEFAULTS: dict[str, Any] = {
    "model_name": "distilbert-base-uncased",
    "text_column": "text",
    "label_column": "label",
    "epochs": 3,
    "train_batch_size": 32,
    "max_seq_length": 128,
    "learning_rate": 5e-5,
}

#: Where SageMaker unpacks the model archive's ``code/`` folder on an endpoint.
SERVING_CODE_DIR = "/opt/ml/model/code"

_INFERENCE_PY = '''\
"""SageMaker inference handlers (written by adverse_events.aws.sagemaker_entry)."""
from adverse_events.aws.sagemaker_entry import input_fn, model_fn, output_fn, predict_fn  # noqa
'''


#: Channels the SageMaker Python SDK v3 (``ModelTrainer``) adds to every job with source code:
#: the source itself and its driver scripts. They are never training data.
SDK_CHANNELS = frozenset({"SM_CHANNEL_CODE", "SM_CHANNEL_SM_DRIVERS"})


# -- training ------------------------------------------------------------------------------------
def _env_path(name: str, default: str) -> str:
    return os.environ.get(name, default)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The hyperparameters (as SageMaker passes them) and the SageMaker directories."""
    p = argparse.ArgumentParser(description="Train an adverse-event classifier (SageMaker).")
    p.add_argument(
        "--model_name",
        default=DEFAULTS["model_name"],
        help="Hugging Face model id or local path to fine-tune, or tfidf (the "
        "TF-IDF model with its default settings: no GPU needed).",
    )
    p.add_argument("--text_column", default=DEFAULTS["text_column"])
    p.add_argument("--label_column", default=DEFAULTS["label_column"])
    p.add_argument(
        "--positive_label",
        default=None,
        help="The adverse-event label (default: inferred from the data).",
    )
    p.add_argument("--epochs", type=float, default=DEFAULTS["epochs"])
    p.add_argument("--train_batch_size", type=int, default=DEFAULTS["train_batch_size"])
    p.add_argument("--max_seq_length", type=int, default=DEFAULTS["max_seq_length"])
    p.add_argument("--learning_rate", type=float, default=DEFAULTS["learning_rate"])
    p.add_argument("--split", default="grouped", help="grouped (default) or random.")
    p.add_argument(
        "--test_size",
        type=float,
        default=0.2,
        help="Fraction held out for the reported test metrics.",
    )
    p.add_argument(
        "--validation_size", type=float, default=0.1, help="Fraction the threshold is chosen on."
    )
    p.add_argument(
        "--target_recall",
        type=float,
        default=None,
        help="Choose the threshold for this recall (default: best F1).",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="Where to train (auto: the GPU when the instance has one).",
    )
    p.add_argument("--model_dir", default=_env_path("SM_MODEL_DIR", "model"))
    p.add_argument("--output_data_dir", default=_env_path("SM_OUTPUT_DATA_DIR", "output"))
    p.add_argument(
        "--data",
        nargs="*",
        default=None,
        help="Training data (default: every SM_CHANNEL_* directory but the SDK's "
        "own code and sm_drivers channels).",
    )
    args, unknown = p.parse_known_args(argv)
    if unknown:
        log.warning("ignoring unknown arguments: %s", " ".join(unknown))
    if not args.data:
        args.data = [
            path
            for name, path in sorted(os.environ.items())
            if name.startswith("SM_CHANNEL_") and name not in SDK_CHANNELS
        ]
    if not args.data:
        p.error("no training data: pass --data or run as a SageMaker job with a channel")
    return args


#: File types `adverse_events.training.datasets` reads (a channel's other files are ignored).
DATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".ndjson", ".parquet")


def data_files(locations: Sequence[str]) -> list[str]:
    """Expand channel directories into the data files they hold (sorted, recursively).

    A SageMaker channel is a directory; the training code reads files, the original ADE corpus
    directory and Hugging Face ``save_to_disk`` directories, so those two pass unchanged.
    """
    found: list[str] = []
    for location in locations:
        path = Path(location)
        if not path.is_dir() or (path / "DRUG-AE.rel").is_file():
            found.append(str(location))
            continue
        files = sorted(
            str(f)
            for f in path.rglob("*")
            if f.is_file()
            and f.suffix.lower() in DATA_SUFFIXES
            and not any(part.startswith(".") for part in f.relative_to(path).parts)
        )
        found.extend(files or [str(location)])
    return found


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train with `adverse_events.training.workflow`, save the model with its inference code,
    write the metrics to ``output_data_dir/metrics.json`` and return them."""
    from adverse_events.training import workflow

    data = workflow.load_data(
        data_files(args.data),
        text_column=args.text_column,
        label_column=args.label_column,
        positive_label=args.positive_label,
    )
    options: dict[str, Any] = (
        {}
        if args.model_name == "tfidf"
        else {  # TF-IDF: its defaults
            "epochs": args.epochs,
            "batch_size": args.train_batch_size,
            "max_seq_length": args.max_seq_length,
            "learning_rate": args.learning_rate,
            "device": args.device,
            "progress": False,
        }
    )  # bars garble CloudWatch logs
    result = workflow.train(
        data,
        args.model_name,
        args.model_dir,
        split=args.split,
        seed=args.seed,
        target_recall=args.target_recall,
        test_size=args.test_size,
        validation_size=args.validation_size,
        options=options,
    )
    write_inference_code(args.model_dir)
    metrics = json.loads((result.output / "metrics.json").read_text())
    out = Path(args.output_data_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    for part in ("validation", "test"):
        for name, value in metrics.get(part, {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                print(f"{part}_{name}={value};")  # noqa: T201 - SageMaker metric definitions
    return metrics


def write_inference_code(
    model_dir: str | os.PathLike[str], wheel_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Write ``code/inference.py`` and ``code/requirements.txt`` into a model directory.

    A SageMaker training job runs from the staged source directory, which holds this
    library's wheel (see examples/deploy_sagemaker.py): the wheel is copied next to the code so
    the archive deploys anywhere (CDK, console) with no package index. Without a wheel, the
    requirement names this library's version.
    """
    import shutil

    code = Path(model_dir) / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "inference.py").write_text(_INFERENCE_PY)
    wheels = sorted(Path(wheel_dir or Path.cwd()).glob("adverse_events-*.whl"))
    if wheels:
        shutil.copy2(wheels[-1], code / wheels[-1].name)
        # pip reads a relative path from its working directory, which the serving toolkit
        # leaves as it is: name the wheel where SageMaker unpacks the model archive.
        requirement = f"{SERVING_CODE_DIR}/{wheels[-1].name}"
    else:
        from adverse_events.version import library_version

        requirement = f"adverse-events=={library_version()}"
    (code / "requirements.txt").write_text(f"{requirement}\nscikit-learn>=1.3\npyarrow>=15\n")
    return code / "inference.py"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point of a training job."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from adverse_events.errors import AdverseEventsError

    args = parse_args(argv)
    try:
        train(args)
    except AdverseEventsError as exc:
        log.error("training failed: %s", exc)
        return 2
    return 0


# -- inference -----------------------------------------------------------------------------------
#: Environment variables of the endpoint's container -> `TransformersClassifier` options.
MODEL_ENV: dict[str, tuple[str, type]] = {
    "AE_DEVICE": ("device", str),
    "AE_PRECISION": ("precision", str),
    "AE_RUNTIME": ("runtime", str),
    "AE_BATCH_SIZE": ("batch_size", int),
    "AE_MAX_LENGTH": ("max_length", int),
    "AE_THRESHOLD": ("threshold", float),
}


def model_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`TransformersClassifier` options from the container's environment (see `MODEL_ENV`).

    Precision defaults to ``fp32``: the threshold in the model directory was chosen on fp32
    scores, and faster modes (``AE_PRECISION=auto``: int8 / bf16) move scores slightly, which
    can flip posts that sit at the threshold.
    """
    from adverse_events.errors import ConfigError

    env = os.environ if env is None else env
    options: dict[str, Any] = {"precision": "fp32"}
    for variable, (key, cast) in MODEL_ENV.items():
        value = env.get(variable, "").strip()
        if value:
            try:
                options[key] = cast(value)
            except ValueError as exc:
                raise ConfigError(f"{variable}={value!r} is not a valid {cast.__name__}") from exc
    return options


#: `MODEL_ENV` options a TF-IDF model takes (the others tune the transformers engine).
TFIDF_OPTIONS = ("threshold", "batch_size")


def model_fn(model_dir: str, context: Any = None) -> Any:
    """Load the model directory with the classifier its ``adverse_events.json`` names.

    A fine-tuned transformer loads with `TransformersClassifier` (GPU when there is one), a
    TF-IDF model (the shipped default where torch is absent) with `TfidfClassifier`, which
    takes only ``AE_THRESHOLD`` and ``AE_BATCH_SIZE`` of the `MODEL_ENV` variables.
    """
    from adverse_events.model_dir import read_model_info
    from adverse_events.registry import get_registry

    kind = read_model_info(model_dir).kind
    options = model_options()
    if kind == "tfidf":
        options = {key: value for key, value in options.items() if key in TFIDF_OPTIONS}
    classifier = get_registry().resolve("classifier", kind)(model_dir, **options)
    classifier.open()
    return classifier


def _decode(body: Any) -> str:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body).decode("utf-8")
    if isinstance(body, str):
        return body
    raise ValueError(f"request body must be bytes or text, got {type(body).__name__}")


def input_fn(request_body: Any, content_type: str | None = JSON, context: Any = None) -> list[str]:
    """A JSON string, a JSON list of strings, or ``{"inputs": ...}`` -> a list of texts.

    ``text/plain`` is one text. Anything else is a ValueError naming what was wrong (the
    toolkit answers it as a model error, and the client dead-letters that text).
    """
    kind = (content_type or JSON).split(";")[0].strip().lower()
    text = _decode(request_body)
    if kind == "text/plain":
        return [text]
    if kind not in (JSON, "application/x-json", "*/*"):
        raise ValueError(f"unsupported content type {content_type!r}: send {JSON}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"request body is not JSON: {exc}") from exc
    if isinstance(data, dict) and "inputs" in data:
        data = data["inputs"]
    if isinstance(data, str):
        return [data]
    if isinstance(data, list):
        bad = [i for i, item in enumerate(data) if not isinstance(item, str)]
        if bad:
            raise ValueError(f"items {bad[:10]} are not strings: send a list of texts")
        return data
    raise ValueError(f"expected a string or a list of strings, got {type(data).__name__}")


def predict_fn(texts: list[str], model: Any, context: Any = None) -> list[dict[str, Any]]:
    """Classify every text (the classifier batches internally): one result per text."""
    predictions = model.classify(texts)
    if len(predictions) != len(texts):  # a broken model must not shift results silently
        raise RuntimeError(f"model returned {len(predictions)} results for {len(texts)} texts")
    return [
        {
            "label": p.label,
            "score": float(p.score),
            "probabilities": {k: float(v) for k, v in p.probabilities.items()},
        }
        for p in predictions
    ]


def output_fn(
    prediction: list[dict[str, Any]], accept: str | None = JSON, context: Any = None
) -> str:
    """The results as a JSON list."""
    kind = (accept or JSON).split(";")[0].strip().lower()
    if kind not in (JSON, "*/*", ""):
        raise ValueError(f"unsupported accept type {accept!r}: ask for {JSON}")
    return json.dumps(prediction)


if __name__ == "__main__":  # pragma: no cover - run by SageMaker
    sys.exit(main())
