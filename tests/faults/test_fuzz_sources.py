"""Fuzzed source input: any line gives a `Post` or a `DeadLetter`, never an exception, with the
right line number, and everything that comes out can be stored (UTF-8, bounded payload).

Covers the JSONL, CSV and replay file sources and the DynamoDB stream record mapping (which the
Lambda handler uses).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adverse_events import DeadLetter, Post
from adverse_events.records import MAX_PAYLOAD_BYTES
from adverse_events.sources import CsvSource, JsonlSource
from adverse_events.sources.dynamodb_stream import DynamoDBStreamSource
from adverse_events.sources.replay import ReplaySource

pytestmark = pytest.mark.unit

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text with the characters that break parsers: lone surrogates, control characters, CR, NUL.
_chars = st.characters(categories=["Lu", "Ll", "Nd", "Zs", "Cc", "Cs", "So", "Po"])
_text = st.text(_chars, max_size=20)
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | _text
_json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_FIELDS = ("post_id", "text", "created_at", "author_id", "lang", "url", "drug_mentions")
_rows = st.dictionaries(st.sampled_from(_FIELDS) | _text, _json_values, max_size=8)


@st.composite
def _deep(draw: st.DrawFn) -> str:
    depth = draw(st.integers(1, 3000))
    return '{"post_id": "d", "text": "x", "m": ' + "[" * depth + "]" * depth + "}"


_json_lines = st.one_of(
    _rows.map(json.dumps),  # ASCII JSON; lone surrogates arrive as \\udXXX escapes
    _rows.map(lambda row: json.dumps(row, ensure_ascii=False).replace("\n", "\\n")),
    _deep(),
    st.text(_chars, max_size=40).map(lambda t: t.replace("\n", "")),  # not JSON at all
)


def _encode(line: str) -> bytes:
    return line.encode("utf-8", errors="surrogatepass")  # lone surrogates as invalid bytes


def _check_storable(item: Post | DeadLetter) -> None:
    item.model_dump_json().encode("utf-8")
    if isinstance(item, DeadLetter):
        assert len(item.payload.encode("utf-8")) <= MAX_PAYLOAD_BYTES
        assert item.dead_letter_id


def _derived_id(source: str, line: int) -> str:
    return f"{source}:{hashlib.sha1(f'{source}:{line}'.encode()).hexdigest()[:16]}"


def _check_lines(items: list[Post | DeadLetter], lines: list[int], source: str) -> None:
    """One item per record, in order, each naming the line its record starts on."""
    assert len(items) == len(lines)
    for item, line in zip(items, lines, strict=True):
        assert isinstance(item, (Post, DeadLetter))
        _check_storable(item)
        if isinstance(item, DeadLetter):
            assert item.line == line
        else:
            assert item.post_id == _derived_id(source, line)


def _non_blank(data: bytes) -> list[int]:
    """1-based numbers of the lines a JSONL reader should turn into items."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    text = [line.decode("utf-8", errors="replace") for line in lines]
    return [n for n, line in enumerate(text, start=1) if (line + "\n").strip()]


@FUZZ
@given(lines=st.lists(_json_lines | st.just("") | st.just("\r"), max_size=12), crlf=st.booleans())
def test_jsonl_any_line_is_a_post_or_a_dead_letter(tmp_path_factory, lines, crlf):
    path = Path(tmp_path_factory.mktemp("jsonl")) / "fuzz.jsonl"
    data = b"".join(_encode(line) + (b"\r\n" if crlf else b"\n") for line in lines)
    path.write_bytes(data)
    items = list(JsonlSource(path, id_field="").read())
    _check_lines(items, _non_blank(data), "jsonl")


@FUZZ
@given(lines=st.lists(_json_lines, min_size=1, max_size=8))
def test_replay_any_line_is_a_post_or_a_dead_letter(tmp_path_factory, lines):
    path = Path(tmp_path_factory.mktemp("replay")) / "fuzz.jsonl"
    data = b"".join(_encode(line) + b"\n" for line in lines)
    path.write_bytes(data)
    items = list(ReplaySource(path, id_field="").read())
    assert len(items) == len(_non_blank(data))
    for item in items:
        _check_storable(item)


_cells = st.text(
    st.characters(categories=["Lu", "Ll", "Nd", "Zs", "Po", "Cc"], exclude_characters="\x00"),
    max_size=12,
)


@FUZZ
@given(rows=st.lists(st.lists(_cells, min_size=0, max_size=5), max_size=10))
def test_csv_quoted_rows_keep_their_line_numbers(tmp_path_factory, rows):
    """Cells with CR, LF, quotes and delimiters, written the way spreadsheets quote them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(["text", "lang", "extra"])
    starts, line = [], 2
    for row in rows:
        before = buffer.tell()
        writer.writerow(row)
        if row:  # csv writes an empty row as a blank line, which the reader skips
            starts.append(line)
        line += buffer.getvalue()[before:].count("\n")
    path = Path(tmp_path_factory.mktemp("csv")) / "fuzz.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    items = list(CsvSource(path, id_field="", time_field="").read())
    _check_lines(items, starts, "csv")


@FUZZ
@given(lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=10))
def test_csv_any_bytes_give_posts_or_dead_letters(tmp_path_factory, lines):
    path = Path(tmp_path_factory.mktemp("csvraw")) / "fuzz.csv"
    path.write_bytes(b"text,lang\n" + b"".join(line + b"\n" for line in lines))
    items = list(CsvSource(path, id_field="", time_field="").read())
    assert len(items) <= len(lines)
    numbers = [i.line for i in items if isinstance(i, DeadLetter)]
    assert numbers == sorted(numbers) and all(2 <= n <= len(lines) + 1 for n in numbers)
    for item in items:
        _check_storable(item)


def _maps_and_lists(inner: st.SearchStrategy) -> st.SearchStrategy:
    """DynamoDB's M and L values holding `inner` (a named function: hypothesis reads its
    source to check that the recursion uses its argument)."""
    maps = st.builds(lambda m: {"M": m}, st.dictionaries(_text, inner, max_size=3))
    return maps | st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3))


_typed = st.recursive(
    st.one_of(
        st.builds(lambda t: {"S": t}, _text),
        st.builds(lambda n: {"N": n}, _text),
        st.builds(lambda n: {"N": str(n)}, st.integers() | st.floats(allow_nan=False)),
        st.builds(lambda b: {"BOOL": b}, st.booleans() | _text),
        st.builds(lambda b: {"B": b}, _text),
        st.just({"NULL": True}),
        st.builds(lambda s: {"SS": s}, st.lists(_text, max_size=3)),
        _json_values,
    ),
    _maps_and_lists,
    max_leaves=8,
)
_images = (
    st.dictionaries(
        st.sampled_from(
            ["id", "text", "created_at", "author_id", "lang", "drug_mentions", "metadata", "url"]
        )
        | _text,
        _typed,
        max_size=8,
    )
    | _json_values
)
_records = (
    st.fixed_dictionaries(
        {"eventName": st.sampled_from(["INSERT", "MODIFY", "REMOVE"]) | _json_values},
        optional={
            "eventID": _json_values,
            "dynamodb": st.fixed_dictionaries(
                {}, optional={"SequenceNumber": _json_values, "NewImage": _images, "Keys": _images}
            ),
        },
    )
    | _json_values
)


@FUZZ
@given(records=st.lists(_records, max_size=8))
def test_stream_records_of_any_shape_map_to_posts_or_dead_letters(records):
    source = DynamoDBStreamSource({"Records": records})
    items = list(source.read())
    assert len(items) + source.stats["skipped"] == len(records)
    for item in items:
        assert isinstance(item, (Post, DeadLetter))
        _check_storable(item)
    numbers = [i.line for i in items if isinstance(i, DeadLetter)]
    assert numbers == sorted(numbers) and all(1 <= n <= len(records) for n in numbers)
