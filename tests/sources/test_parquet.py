"""ParquetSource: the JSONL/CSV field rules over Parquet rows."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from adverse_events.records import DeadLetter, Post  # noqa: E402
from adverse_events.registry import get_registry  # noqa: E402
from adverse_events.sources.parquet import ParquetSource  # noqa: E402
from adverse_events.testing import SourceConformance  # noqa: E402

pytestmark = pytest.mark.unit


@pytest.fixture
def parquet_path(tmp_path):
    table = pa.table(
        {
            "post_id": ["a", "b", None, "d"],
            "text": ["prozac gave me headaches", "", "no id", "fine"],
            "created_at": [datetime(2024, 3, 1, 10, tzinfo=timezone.utc)] * 4,
            "drug_mentions": [["prozac"], [], [], None],
            "rating": [2, 5, 3, 4],
        }
    )
    path = tmp_path / "posts.parquet"
    pq.write_table(table, path)
    return path


class TestParquetConformance(SourceConformance):
    @pytest.fixture
    def source(self, parquet_path):
        return ParquetSource(parquet_path, batch_rows=2)


def test_rows_map_like_jsonl_lines(parquet_path):
    items = list(ParquetSource(parquet_path, batch_rows=3).read())
    assert [type(i) for i in items] == [Post, DeadLetter, DeadLetter, Post]
    post = items[0]
    assert isinstance(post, Post)
    assert post.drug_mentions == ("prozac",) and post.metadata == {"rating": 2}
    assert post.created_at == datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    letter = items[2]
    assert isinstance(letter, DeadLetter)
    assert letter.line == 3 and "posts.parquet line 3: missing id field" in letter.reason


def test_registered_as_parquet():
    assert get_registry().resolve("source", "parquet") is ParquetSource
