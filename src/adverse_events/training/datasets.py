"""Labelled data for training and evaluation, from the ADE corpus, the Hugging Face hub or files.

Every loader returns `Example`s (text, label name, group, source, id) and a `LoadReport` that
counts the rows it could not use and why: bad rows are reported, never silently dropped.
`group` is the document a text came from (PubMed id, post id, review id): the grouped split keeps
a group on one side so sentences of one document never sit in both train and test.

Labels: a loader maps raw label values to label names. Binary data needs no mapping when its
values are the usual ones (1/0, true/false, yes/no, Related/Not-Related, ...): they become
``adverse_event`` / ``not_adverse_event``. Anything else (multi-class data, other names) takes
``label_names={raw: name}`` or ``labels=[allowed names]`` plus ``positive_label``.

This module is the one import for all of it; the code lives by concept in
`adverse_events.training.labels` (label names and mapping), `adverse_events.training.examples`
(`Example`, `LoadReport`, `Dataset`, `combine`) and `adverse_events.training.loaders` (reading
the ADE corpus, files and the hub).
"""

from __future__ import annotations

from adverse_events.training.examples import Dataset, Example, LoadReport, combine
from adverse_events.training.labels import NEGATIVE, POSITIVE, LabelMap
from adverse_events.training.loaders import (
    GROUP_COLUMNS,
    examples_from_rows,
    load,
    load_ade_corpus,
    load_file,
    load_hub,
)

__all__ = [
    "GROUP_COLUMNS",
    "NEGATIVE",
    "POSITIVE",
    "Dataset",
    "Example",
    "LabelMap",
    "LoadReport",
    "combine",
    "examples_from_rows",
    "load",
    "load_ade_corpus",
    "load_file",
    "load_hub",
]
