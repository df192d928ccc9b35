"""Reading labelled corpora: the ADE corpus directory, CSV/TSV/JSONL/Parquet files, the Hugging
Face hub, and `load`, which picks one of them from a location.

Every loader returns `Example`s (text, label name, group, source, id) and a `LoadReport` that
counts the rows it could not use and why: bad rows are reported, never silently dropped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError, PluginError
from adverse_events.training.examples import Example, LoadReport
from adverse_events.training.labels import NEGATIVE, POSITIVE, LabelMap, label_text

__all__ = [
    "GROUP_COLUMNS",
    "examples_from_rows",
    "load",
    "load_ade_corpus",
    "load_file",
    "load_hub",
]

#: Columns taken as the document a text came from when ``group_column="auto"``.
GROUP_COLUMNS = ("group", "document_id", "doc_id", "post_id", "review_id", "pmid", "PMID")
_FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".ndjson", ".parquet")


def _text_id(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- ADE corpus


def load_ade_corpus(
    path: str | os.PathLike[str], *, relations: bool = False, source: str = "ade_corpus_v2"
) -> tuple[list[Example], LoadReport]:
    """The original ADE corpus directory (``DRUG-AE.rel`` + ``ADE-NEG.txt``).

    Positives are the distinct sentences of ``DRUG-AE.rel`` (grouped by PubMed id); with
    ``relations=True`` each sentence is repeated once per drug-effect relation, exactly as in the
    Hugging Face ``Ade_corpus_v2_classification`` rows (which is what makes a random split leak).
    Negatives are the ``ADE-NEG.txt`` sentences.
    """
    root = Path(path)
    rel, neg = root / "DRUG-AE.rel", root / "ADE-NEG.txt"
    for file in (rel, neg):
        if not file.is_file():
            raise ConfigError(f"{root} is not an ADE corpus directory: {file.name} is missing")
    report = LoadReport(source)
    examples: list[Example] = []
    seen: set[tuple[str, str]] = set()
    for line_no, line in enumerate(_lines(rel), 1):
        report.read += 1
        parts = line.split("|")
        if len(parts) < 2 or not parts[1].strip():
            report.reject("malformed DRUG-AE.rel line" if len(parts) < 2 else "empty text", line)
            continue
        pmid, text = parts[0].strip(), parts[1].strip()
        if not relations and (pmid, text) in seen:
            report.read -= 1  # a repeat of a sentence already read, not a new row
            continue
        seen.add((pmid, text))
        examples.append(Example(text, POSITIVE, f"pmid:{pmid}", source, f"ade:rel:{line_no}"))
    for line_no, line in enumerate(_lines(neg), 1):
        report.read += 1
        pmid, tag, text = (line.split(" ", 2) + ["", ""])[:3]
        if tag != "NEG":
            report.reject("malformed ADE-NEG.txt line", line)
            continue
        if not text.strip():
            report.reject("empty text", line)
            continue
        examples.append(
            Example(text.strip(), NEGATIVE, f"pmid:{pmid}", source, f"ade:neg:{line_no}")
        )
    report.kept = len(examples)
    return examples, report


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if line.strip():
                yield line


# --------------------------------------------------------------------------- rows -> examples


def examples_from_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    source: str,
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = "auto",
    id_column: str | None = None,
    label_map: LabelMap | None = None,
    auxiliary_columns: Sequence[str] = (),
) -> tuple[list[Example], LoadReport]:
    """Map rows (dicts) to examples.

    ``group_column="auto"`` takes the first of `GROUP_COLUMNS` the rows have; a row without a
    group is its own group (a hash of its text). `auxiliary_columns`: binary label columns kept
    as `Example.auxiliary` (multi-task training); a row whose value there is not a binary
    label is rejected ("bad auxiliary label").
    """
    label_map = label_map or LabelMap()
    report = LoadReport(source)
    examples: list[Example] = []
    for n, row in enumerate(rows, 1):
        report.read += 1
        if n == 1:
            if group_column == "auto":
                group_column = next((c for c in GROUP_COLUMNS if c in row), None)
            _check_columns(
                row, source, text_column, label_column, group_column, id_column, *auxiliary_columns
            )
        text = row.get(text_column)
        text = "" if text is None or isinstance(text, float) and text != text else str(text)
        if not text.strip():
            report.reject("empty text", row)
            continue
        label = label_map(row.get(label_column))
        if label is None:
            missing = label_text(row.get(label_column)) is None
            report.reject("missing label" if missing else "unknown label", row)
            continue
        auxiliary = _auxiliary(row, auxiliary_columns)
        if auxiliary is None:
            report.reject("bad auxiliary label", row)
            continue
        row_id = str(row[id_column]) if id_column and row.get(id_column) is not None else str(n)
        group = row.get(group_column) if group_column else None
        group = str(group) if group not in (None, "") else f"text:{_text_id(text.strip())}"
        examples.append(
            Example(text.strip(), label, group, source, f"{source}:{row_id}", auxiliary)
        )
    report.kept = len(examples)
    return examples, report


def _auxiliary(
    row: Mapping[str, Any], columns: Sequence[str]
) -> tuple[tuple[str, int], ...] | None:
    """(column, 0/1) for each auxiliary column; None when a value is not a binary label."""
    binary = LabelMap()
    values = []
    for column in columns:
        name = binary(row.get(column))
        if name is None:
            return None
        values.append((column, int(name == POSITIVE)))
    return tuple(values)


def _check_columns(row: Mapping[str, Any], source: str, *columns: str | None) -> None:
    missing = [c for c in columns if c and c not in row]
    if missing:
        raise ConfigError(
            f"{source}: column(s) {missing} not found; columns are {sorted(row)}; "
            "set --text-column / --label-column to the right names"
        )


# --------------------------------------------------------------------------- files


def load_file(
    path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = "auto",
    id_column: str | None = None,
    label_map: LabelMap | None = None,
    source: str | None = None,
    auxiliary_columns: Sequence[str] = (),
) -> tuple[list[Example], LoadReport]:
    """A CSV/TSV, JSON Lines or Parquet file with a text and a label column (and optionally
    `auxiliary_columns`, see `examples_from_rows`)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"data file {str(file)!r} not found")
    source = source or file.stem
    rows = _read_rows(file)
    return examples_from_rows(
        rows,
        source=source,
        text_column=text_column,
        label_column=label_column,
        group_column=group_column,
        id_column=id_column,
        label_map=label_map,
        auxiliary_columns=auxiliary_columns,
    )


def _read_rows(file: Path) -> Iterator[dict[str, Any]]:
    suffix = file.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with file.open(encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
    elif suffix in (".jsonl", ".ndjson", ".json"):
        yield from _json_rows(file)
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise PluginError("reading Parquet needs: pip install 'adverse-events[train]'") from exc
        yield from pq.read_table(file).to_pylist()
    else:
        raise ConfigError(f"{file}: unsupported file type; use one of {_FILE_SUFFIXES}")


def _json_rows(file: Path) -> Iterator[dict[str, Any]]:
    with file.open(encoding="utf-8") as handle:
        if file.suffix.lower() == ".json" and handle.read(1) == "[":
            handle.seek(0)
            yield from json.load(handle)
            return
        handle.seek(0)
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{file}:{line_no}: not valid JSON: {exc}") from exc
            yield row if isinstance(row, dict) else {"_value": row}


# --------------------------------------------------------------------------- Hugging Face


def load_hub(
    dataset: str,
    config: str | None = None,
    *,
    split: str = "train",
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = "auto",
    id_column: str | None = None,
    label_map: LabelMap | None = None,
    source: str | None = None,
    auxiliary_columns: Sequence[str] = (),
    **load_options: Any,
) -> tuple[list[Example], LoadReport]:
    """A dataset from the Hugging Face hub (``ade_corpus_v2``, ``Ade_corpus_v2_classification``)
    or a local copy: a directory written by ``Dataset.save_to_disk`` or anything
    ``datasets.load_dataset`` accepts (a loading script, data files).

    ``ClassLabel`` integers are turned into their names before label mapping, so
    ``ade_corpus_v2``'s ``Related`` / ``Not-Related`` map to the binary labels by default.
    Rows have no document id there, so each distinct text is its own group.
    """
    try:
        import datasets
    except ImportError as exc:
        raise PluginError(
            "loading from the hub needs: pip install 'adverse-events[train]'"
        ) from exc
    try:
        saved = ("dataset_info.json", "state.json", "dataset_dict.json")
        if any((Path(dataset) / name).is_file() for name in saved):
            loaded: Any = datasets.load_from_disk(dataset)
        else:
            loaded = datasets.load_dataset(dataset, config, **load_options)
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise ConfigError(f"{dataset}: no split {split!r}; splits are {list(loaded)}")
            loaded = loaded[split]
    except ConfigError:
        raise
    except Exception as exc:  # datasets raises many kinds (network, missing config, ...)
        raise ConfigError(f"cannot load dataset {dataset!r} (config {config!r}): {exc}") from exc
    names = _class_names(loaded, label_column)
    rows = ({**row, label_column: _class_name(row.get(label_column), names)} for row in loaded)
    name = source or (dataset if config is None else f"{dataset}/{config}")
    return examples_from_rows(
        rows,
        source=Path(name).name if Path(name).exists() else name,
        text_column=text_column,
        label_column=label_column,
        group_column=group_column,
        id_column=id_column,
        label_map=label_map,
        auxiliary_columns=auxiliary_columns,
    )


def _class_names(dataset: Any, column: str) -> list[str] | None:
    feature: Any = (getattr(dataset, "features", None) or {}).get(column)
    return list(feature.names) if hasattr(feature, "names") else None


def _class_name(value: Any, names: list[str] | None) -> Any:
    if names and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    return value


# --------------------------------------------------------------------------- dispatch


def load(
    location: str | os.PathLike[str],
    *,
    relations: bool = False,
    config: str | None = None,
    **options: Any,
) -> tuple[list[Example], LoadReport]:
    """Load one dataset from wherever `location` points.

    * a directory with ``DRUG-AE.rel`` and ``ADE-NEG.txt``: the original ADE corpus;
    * a ``.csv``/``.tsv``/``.jsonl``/``.json``/``.parquet`` file;
    * a directory written by ``save_to_disk``, a local dataset script/folder, or
      ``hf:NAME[:CONFIG]`` / any other string: a Hugging Face dataset.
    """
    text = str(location)
    path = Path(location)
    if text.startswith("hf:"):
        name, _, hub_config = text[3:].partition(":")
        return load_hub(name, hub_config or config, **options)
    if path.is_dir() and (path / "DRUG-AE.rel").is_file():
        return load_ade_corpus(
            path, relations=relations, source=options.get("source") or "ade_corpus_v2"
        )
    if path.suffix.lower() in _FILE_SUFFIXES:
        options.pop("split", None)  # a hub option
        return load_file(path, **options)  # a missing file is reported as such
    if path.exists() or "/" in text or not path.suffix:
        return load_hub(text, config, **options)
    raise ConfigError(f"data {text!r} not found (a file, an ADE corpus directory or hf:NAME)")
