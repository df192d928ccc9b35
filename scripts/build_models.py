"""Build every model the package ships, from the shared data and a pretrained encoder.

    python scripts/build_models.py                      # all three into src/adverse_events/models
    python scripts/build_models.py --only tfidf lexicon # just these
    python scripts/build_models.py --only               # refresh the manifest's transfer figures
    python scripts/build_models.py --data-dir DATA --encoder PATH_OR_HUB_ID --out DIR

What it builds (see ``adverse_events.models`` and ``docs/models.md``):

* ``encoder/``: the pretrained encoder fine-tuned with the default recipe
  (`adverse_events.training.recipes`) on every PsyTAR sentence, exported to ONNX int8, with its
  tokenizer and ``adverse_events.json``;
* ``tfidf/``: the TF-IDF classifier (grouped split of PsyTAR; the test part held out and measured);
* ``lexicon/``: the lexicon extractor's CRF on PsyTAR mention spans;
* ``manifest.json``: inputs with sha256, licences and attribution, recipe, metrics, versions.

Only PsyTAR (CC BY 4.0) goes into shipped weights: the ADE corpus states no licence, so it serves
evaluation and users' own training only. Seeded: the same inputs and library give the same models
(up to floating-point nondeterminism of multi-threaded training). ``--limit N`` trains on the
first N sentences with a few steps, so the test suite can run the whole script quickly.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adverse_events.training.recipes import EncoderRecipe

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "adverse_events" / "models"
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_ENCODER = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
#: The hub id users would pass for the encoder in ../shared/models (it is the same model).
ENCODER_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
TRANSFER_RESULTS = ROOT / "benchmarks" / "results" / "transfer.json"
#: shipped model -> the run of benchmarks/transfer.py that measured its recipe
TRANSFER_RUNS = {"encoder": "mean-mt", "tfidf": "tfidf"}

PSYTAR = {
    "name": "PsyTAR",
    "licence": "CC BY 4.0",
    "attribution": (
        "Zolnoori M. et al. A systematic approach for developing a corpus of patient reported "
        "adverse drug events: a case study for SSRI and SNRI medications. J Biomed Inform. 2019. "
        "Data in Brief 2019 (PsyTAR corpus), https://creativecommons.org/licenses/by/4.0/"
    ),
    "files": ["psytar/sentences.csv", "psytar/adr_mentions.csv"],
}
#: the transfer figures the manifest copies per direction (f1_at_0.5: the shipped rule)
TRANSFER_FIGURES = ("f1", "f1_at_0.5", "precision", "recall", "roc_auc")
ENCODER_LICENCE = "Apache-2.0"
ADE_NOTE = "the ADE corpus (Gurulingappa et al. 2012) states no licence: evaluation only"
TFIDF_FILES = ("adverse_events.json", "tfidf.json", "tfidf.npz", "metrics.json")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file of `folder` with its size and sha256 (what the manifest pins)."""
    return {
        str(p.relative_to(folder)): {"bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def encoder_recipe(data_dir: Path) -> EncoderRecipe:
    """The default recipe, with the auxiliary label columns the sentences file has (PsyTAR has
    all five; a user's own file may have none: the encoder then trains on ADR only)."""
    from adverse_events.training.recipes import DEFAULT_ENCODER_RECIPE as recipe

    with (data_dir / "psytar" / "sentences.csv").open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    present = tuple(c for c in recipe.auxiliary_columns if c in header)
    if present != recipe.auxiliary_columns:
        lacking = ", ".join(c for c in recipe.auxiliary_columns if c not in present)
        print(f"note: no {lacking} column(s): the encoder trains without those extra tasks")
    return dataclasses.replace(recipe, auxiliary_columns=present)


def load_sentences(data_dir: Path, limit: int | None, auxiliary: tuple[str, ...] = ()) -> Any:
    """The sentences labelled ADR, with the `auxiliary` label columns (multi-task training)."""
    from adverse_events.training.workflow import load_data

    data = load_data(
        [data_dir / "psytar" / "sentences.csv"], label_column="ADR", auxiliary_columns=auxiliary
    )
    if limit:
        data = data.subset(list(range(min(limit, len(data)))))
    return data


def build_tfidf(data: Any, out: Path, seed: int) -> dict[str, Any]:
    """The TF-IDF fallback: grouped split, threshold from cross-fitting, test part measured."""
    from adverse_events.training.workflow import train

    with tempfile.TemporaryDirectory() as tmp:
        result = train(
            data,
            "tfidf",
            Path(tmp) / "tfidf",
            split="grouped",
            seed=seed,
            cross_fit=5 if len(data) >= 500 else None,
        )
        _replace_dir(out, {name: Path(tmp) / "tfidf" / name for name in TFIDF_FILES})
    return {
        "recipe": {
            "model": "tfidf",
            "split": "grouped",
            "seed": seed,
            "threshold": result.info.threshold,
        },
        "metrics": {"grouped_test": result.info.metrics.get("test", {})},
    }


def build_lexicon(data_dir: Path, out: Path, limit: int | None) -> dict[str, Any]:
    """The lexicon extractor's CRF on every PsyTAR sentence's ADR mention spans."""
    from adverse_events.extractors.corpora import load_corpus
    from adverse_events.extractors.lexicon import train_lexicon

    examples = load_corpus("psytar", data_dir)
    if limit:
        examples = examples[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        model = train_lexicon(
            examples, Path(tmp) / "lexicon", meta={"corpora": ["psytar"], "holdout": False}
        )
        _replace_dir(out, {p.name: p for p in (Path(tmp) / "lexicon").iterdir()})
    return {
        "recipe": {
            "trainer": "adverse_events.extractors.lexicon.train_lexicon (defaults)",
            "corpora": ["psytar"],
            "examples": model.meta["examples"],
        },
        "metrics": {"see": "docs/extraction.md (evaluate-extractor on the PsyTAR held-out split)"},
    }


def build_encoder(
    data: Any,
    encoder: str,
    out: Path,
    seed: int,
    quick: bool,
    recipe: EncoderRecipe,
    keep_fp32: Path | None = None,
    fp32_from: Path | None = None,
) -> dict[str, Any]:
    """Fine-tune `encoder` with `recipe`, export ONNX int8, check agreement with fp32."""
    from adverse_events.classifiers.transformers import onnx as ort_export
    from adverse_events.model_dir import read_model_info
    from adverse_events.training import recipes

    if quick:  # a few steps: the smoke test of this script, not a model
        options = dataclasses.replace(recipe.options, epochs=1.0, max_steps=4)
        recipe = dataclasses.replace(recipe, options=options)
    with tempfile.TemporaryDirectory() as tmp:
        if fp32_from:  # re-export only: weights an earlier build of this recipe kept
            trained, info = fp32_from, read_model_info(fp32_from)
        else:
            trained = Path(tmp) / "fp32"
            info = recipes.train_default_encoder(
                data, trained, encoder, seed=seed, recipe=recipe
            ).info
        weights_sha256 = _weights_sha(trained)  # before the temporary folder goes
        staged = ort_export.prebuild(trained, Path(tmp) / "encoder")
        int8_vs_fp32 = _int8_vs_fp32(trained, staged, data.texts)
        _replace_dir(out, {p.name: p for p in staged.iterdir()})
        if keep_fp32 and not fp32_from:  # the torch weights, for benchmarks (not shipped)
            _replace_dir(keep_fp32, {p.name: p for p in trained.iterdir() if p.is_file()})
    return {
        "base_model": {
            "id": ENCODER_HUB_ID,
            "path": encoder,
            "licence": ENCODER_LICENCE,
            "sha256": _weights_sha(Path(encoder)),
        },
        "recipe": recipe.describe(),
        "runtime": {"format": "onnx", "precision": "int8", "needs": ["onnxruntime", "tokenizers"]},
        "metrics": {"training": info.metrics, "int8_vs_fp32": int8_vs_fp32},
        "fine_tuned": {
            "created_at": info.created_at,
            "weights_sha256": weights_sha256,
            "re_exported_from_kept_weights": bool(fp32_from),
        },
    }


def _int8_vs_fp32(fp32: Path, int8: Path, texts: list[str]) -> dict[str, float]:
    """How often the int8 export gives fp32's label, and the largest score difference."""
    from adverse_events.classifiers.transformers import TransformersClassifier
    from adverse_events.training.metrics import agreement

    reference = TransformersClassifier(str(fp32), precision="fp32", runtime="torch")
    candidate = TransformersClassifier(str(int8))
    with reference, candidate:
        ref = [p.score for p in reference.classify(texts)]
        got = [p.score for p in candidate.classify(texts)]
        threshold = candidate.threshold  # both read the same adverse_events.json
    return agreement(ref, got, threshold)


def _weights_sha(folder: Path) -> str | None:
    weights = folder / "model.safetensors"
    return sha256(weights) if weights.is_file() else None


def _replace_dir(out: Path, files: dict[str, Path]) -> None:
    """Swap `out` for a folder holding exactly `files` (name -> source)."""
    staged = out.with_name(out.name + ".new")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    for name, source in files.items():
        shutil.copy2(source, staged / name)
    shutil.rmtree(out, ignore_errors=True)
    staged.rename(out)


def _inputs(data_dir: Path) -> list[dict[str, Any]]:
    return [
        {
            "dataset": PSYTAR["name"],
            "file": name,
            "licence": PSYTAR["licence"],
            "sha256": sha256(data_dir / name),
            "bytes": (data_dir / name).stat().st_size,
        }
        for name in PSYTAR["files"]
    ]


def _transfer_results() -> dict[str, Any] | None:
    """The default recipe's (and TF-IDF's) transfer figures, measured by benchmarks/transfer.py:
    every seed of the runs named in TRANSFER_RUNS, F1 and ROC-AUC per direction."""
    if not TRANSFER_RESULTS.is_file():
        return None
    results = json.loads(TRANSFER_RESULTS.read_text(encoding="utf-8"))
    runs = {
        kind: [
            {
                "seed": run["seed"],
                "recipe": run["recipe"],
                "directions": {
                    d: {k: v[k] for k in TRANSFER_FIGURES if k in v}
                    for d, v in run["directions"].items()
                },
            }
            for run in results["runs"]
            if run["name"] == name
        ]
        for kind, name in TRANSFER_RUNS.items()
    }
    return {
        "source": str(TRANSFER_RESULTS.relative_to(ROOT)),
        "sha256": sha256(TRANSFER_RESULTS),
        "protocol": "benchmarks/transfer.py: train on one side, test once on the other; f1 at "
        "the threshold chosen on the training side's validation part, f1_at_0.5 at the fixed "
        "cut the shipped encoder's recipe uses",
        "runs": runs,
    }


def _default_classifier() -> dict[str, Any]:
    """What `DefaultClassifier` runs from these models (its transfer figures: the encoder's)."""
    from adverse_events.training.recipes import DEFAULT_ENCODER_RECIPE

    return {
        "classifier": "adverse_events.classifiers.DefaultClassifier",
        "runs": "encoder",
        "threshold": DEFAULT_ENCODER_RECIPE.threshold,
        "fallback": "tfidf",
        "fallback_when": "onnxruntime or tokenizers is not installed (a one-line notice)",
        "transfer_run": TRANSFER_RUNS["encoder"],
    }


def write_manifest(out: Path, models: dict[str, Any], args: argparse.Namespace) -> Path:
    import adverse_events

    old = out / "manifest.json"
    manifest = json.loads(old.read_text(encoding="utf-8")) if old.is_file() else {}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if not models:  # a bare --only: the models and their build facts stay as they were
        manifest["transfer_refreshed_at"] = now
    else:
        manifest.update(
            {
                "library_version": adverse_events.__version__,
                "built_at": now,
                "builder": "scripts/build_models.py",
                "arguments": {
                    "seed": args.seed,
                    "limit": args.limit,
                    "encoder": ENCODER_HUB_ID if not args.limit else str(args.encoder),
                },
                "python": platform.python_version(),
                "inputs": _inputs(args.data_dir),
                "licences": {
                    "shipped weights": f"derived from {PSYTAR['name']} ({PSYTAR['licence']}) and "
                    f"{ENCODER_HUB_ID} ({ENCODER_LICENCE})",
                    "attribution": PSYTAR["attribution"],
                    "not used in shipped weights": ADE_NOTE,
                },
            }
        )
    manifest.setdefault("models", {})
    for kind, entry in models.items():
        entry["files"] = describe_files(out / kind)
        manifest["models"][kind] = entry
    transfer = _transfer_results()
    if transfer and "encoder" in manifest["models"]:
        manifest["models"]["encoder"]["metrics"]["transfer"] = transfer
    manifest["default"] = _default_classifier()
    old.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return old


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--encoder",
        default=str(DEFAULT_ENCODER),
        help="pretrained encoder: a local folder or a hub id",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--only",
        nargs="*",
        choices=("encoder", "tfidf", "lexicon"),
        default=["encoder", "tfidf", "lexicon"],
        help="models to build; none (a bare --only) refreshes the manifest's transfer figures",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--keep-fp32",
        type=Path,
        default=ROOT / "benchmarks" / ".cache" / "default-encoder-fp32",
        help="also keep the fine-tuned torch weights here",
    )
    parser.add_argument(
        "--fp32-from",
        type=Path,
        default=None,
        help="skip fine-tuning: export the weights an earlier build of the recipe kept here",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="train on the first N sentences, a few steps (smoke test)",
    )
    args = parser.parse_args(argv)
    if not (args.data_dir / "psytar" / "sentences.csv").is_file():
        print(
            f"error: {args.data_dir} has no psytar/sentences.csv; pass --data-dir", file=sys.stderr
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    models: dict[str, Any] = {}
    recipe = encoder_recipe(args.data_dir)
    data = load_sentences(args.data_dir, args.limit, recipe.auxiliary_columns)
    for kind in args.only:
        started = time.perf_counter()
        print(f"building {kind} ...", flush=True)
        if kind == "tfidf":
            models[kind] = build_tfidf(data, args.out / kind, args.seed)
        elif kind == "lexicon":
            models[kind] = build_lexicon(args.data_dir, args.out / kind, args.limit)
        else:
            models[kind] = build_encoder(
                data,
                args.encoder,
                args.out / kind,
                args.seed,
                quick=bool(args.limit),
                recipe=recipe,
                keep_fp32=None if args.limit else args.keep_fp32,
                fp32_from=args.fp32_from,
            )
        models[kind]["build_seconds"] = round(time.perf_counter() - started, 1)
        print(f"built {kind} in {models[kind]['build_seconds']} s", flush=True)
    print(f"manifest: {write_manifest(args.out, models, args)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
