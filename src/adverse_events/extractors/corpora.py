"""Span-annotated corpora for training and evaluating extractors, and their held-out splits.

* PsyTAR (`psytar/sentences.csv` + `psytar/adr_mentions.csv`): patient reviews; each ADR mention
  is located in its sentence (case-insensitive; a mention the annotators extended with a time
  phrase, "nausea, went away after a month", is located by its longest part). Grouped by review.
* ADE corpus (`ade_corpus_v2/DRUG-AE.rel`): PubMed case-report sentences with drug and
  adverse-effect spans. Offsets there are document-level, so spans are found by their text
  inside the sentence (every occurrence). Grouped by PMID (article).
* Your own spans: JSON lines ``{"text": ..., "spans": [{"start": 0, "end": 4, "label":
  "DRUG" | "ADVERSE_EVENT"}], "group": "optional id"}``.

Splits are by group (review, article) and deterministic: a group is held out when the SHA-1 of
its id falls in the first `test_fraction` of the hash range, so no sentence of a held-out
review or article is ever seen in training.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adverse_events.errors import ConfigError, InputError

__all__ = [
    "CATEGORIES",
    "SpanExample",
    "data_dir",
    "load_ade",
    "load_corpus",
    "load_psytar",
    "load_spans_jsonl",
    "split",
]

CATEGORIES = ("ADVERSE_EVENT", "DRUG")
_LABELS = {
    "ADVERSE_EVENT": "ADVERSE_EVENT",
    "AE": "ADVERSE_EVENT",
    "ADR": "ADVERSE_EVENT",
    "EFFECT": "ADVERSE_EVENT",
    "DRUG": "DRUG",
    "MEDICATION": "DRUG",
}


@dataclass(frozen=True)
class SpanExample:
    """A text with its gold spans ``(start, end, category)`` and the group it belongs to."""

    text: str
    spans: tuple[tuple[int, int, str], ...]
    group: str
    corpus: str = "user"
    annotated: tuple[str, ...] = field(default=CATEGORIES)


def data_dir() -> Path:
    """The shared data folder: ``$ADVERSE_EVENTS_DATA`` or ``<repo root>/../shared/data``."""
    env = os.environ.get("ADVERSE_EVENTS_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def _is_test(group: str, test_fraction: float, seed: str) -> bool:
    digest = hashlib.sha1(f"{seed}:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < test_fraction


def split(
    examples: Iterable[SpanExample], test_fraction: float = 0.2, seed: str = "adverse-events"
) -> tuple[list[SpanExample], list[SpanExample]]:
    """(train, test) by group: every example of a group lands on the same side."""
    train: list[SpanExample] = []
    test: list[SpanExample] = []
    for example in examples:
        (test if _is_test(example.group, test_fraction, seed) else train).append(example)
    return train, test


def _find_all(text: str, needle: str) -> list[int]:
    lowered, needle = text.lower(), needle.lower().strip()
    found, start = [], lowered.find(needle)
    while needle and start >= 0:
        found.append(start)
        start = lowered.find(needle, start + 1)
    return found


def _locate_mention(sentence: str, mention: str) -> tuple[int, int] | None:
    """Where `mention` is in `sentence`: whole, else its longest comma/semicolon part."""
    for candidate in sorted(
        {mention, *mention.replace(";", ",").split(",")}, key=len, reverse=True
    ):
        candidate = candidate.strip()
        if len(candidate) < 3:
            continue
        hits = _find_all(sentence, candidate)
        if hits:
            return hits[0], hits[0] + len(candidate)
    return None


def load_psytar(root: Path | None = None) -> list[SpanExample]:
    """PsyTAR sentences with their ADR mentions as ADVERSE_EVENT spans (drugs not annotated)."""
    folder = (root or data_dir()) / "psytar"
    sentences_file, mentions_file = folder / "sentences.csv", folder / "adr_mentions.csv"
    if not sentences_file.is_file() or not mentions_file.is_file():
        raise ConfigError(
            f"PsyTAR files not found under {folder} (sentences.csv, adr_mentions.csv)"
        )
    mentions: dict[tuple[str, str], list[str]] = defaultdict(list)
    with mentions_file.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            mentions[(row["post_id"], row["sentence_index"])].append(row["mention"])
    examples = []
    with sentences_file.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = row["text"]
            spans = set()
            for mention in mentions.get((row["post_id"], row["sentence_index"]), []):
                where = _locate_mention(text, mention)
                if where:
                    spans.add((*where, "ADVERSE_EVENT"))
            examples.append(
                SpanExample(text, _clean(spans), row["post_id"], "psytar", ("ADVERSE_EVENT",))
            )
    return examples


def load_ade(root: Path | None = None) -> list[SpanExample]:
    """ADE corpus sentences (DRUG-AE.rel) with DRUG and ADVERSE_EVENT spans, one per sentence."""
    path = (root or data_dir()) / "ade_corpus_v2" / "DRUG-AE.rel"
    if not path.is_file():
        raise ConfigError(f"ADE corpus file not found: {path}")
    by_sentence: dict[tuple[str, str], set[tuple[int, int, str]]] = defaultdict(set)
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("|")
            if len(parts) < 8:
                continue
            pmid, sentence, effect, drug = parts[0], parts[1], parts[2], parts[5]
            spans = by_sentence[(pmid, sentence)]
            for needle, label in ((effect, "ADVERSE_EVENT"), (drug, "DRUG")):
                for start in _find_all(sentence, needle):
                    spans.add((start, start + len(needle.strip()), label))
    return [
        SpanExample(sentence, _clean(spans), pmid, "ade")
        for (pmid, sentence), spans in by_sentence.items()
    ]


def load_spans_jsonl(path: str | os.PathLike[str]) -> list[SpanExample]:
    """Your own annotated spans, one JSON object per line (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"spans file not found: {path}")
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                examples.append(_user_example(line, number, path))
    return examples


def _user_example(line: str, number: int, path: Path) -> SpanExample:
    try:
        row = json.loads(line)
        text = row["text"]
        spans = set()
        for span in row.get("spans", []):
            start, end = int(span["start"]), int(span["end"])
            label = _LABELS[str(span["label"]).upper()]
            if not 0 <= start < end <= len(text):
                raise ValueError(f"span {start}:{end} outside the text")
            spans.add((start, end, label))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{path}:{number}: bad span line ({exc}); expected "
            '{"text": ..., "spans": [{"start", "end", "label"}]}',
            payload=line,
        ) from exc
    return SpanExample(text, _clean(spans), str(row.get("group", f"{path.name}:{number}")))


def _clean(spans: Iterable[tuple[int, int, str]]) -> tuple[tuple[int, int, str], ...]:
    """Sorted spans, dropping any that overlaps a longer one already kept."""
    kept: list[tuple[int, int, str]] = []
    for span in sorted(set(spans), key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
            kept.append(span)
    return tuple(sorted(kept))


def load_corpus(name: str, root: Path | None = None) -> list[SpanExample]:
    """``"psytar"``, ``"ade"`` or a path to a spans JSONL file."""
    if name == "psytar":
        return load_psytar(root)
    if name == "ade":
        return load_ade(root)
    return load_spans_jsonl(name)


def iter_texts(examples: Sequence[SpanExample]) -> Iterator[str]:
    for example in examples:
        yield example.text
