"""`ParquetSource`: posts from a local Parquet file, one row per post.

Rows are mapped with the same field rules as the JSONL and CSV sources (`FieldMap`); a row that
is not a valid post becomes a `DeadLetter` carrying its 1-based row number and the reason.
Read in record batches, so a large file never sits in memory whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from adverse_events.records import DeadLetter, Post
from adverse_events.sources.files import _FileSource

__all__ = ["ParquetSource"]


class ParquetSource(_FileSource):
    """Posts from a Parquet file (``pip install 'adverse-events[parquet]'``)."""

    name = "parquet"

    def __init__(self, path: str | os.PathLike[str], batch_rows: int = 10_000, **options: Any):
        super().__init__(path, **options)
        self.batch_rows = batch_rows

    def read(self) -> Iterator[Post | DeadLetter]:
        import pyarrow.parquet as pq

        row_no = 0
        with pq.ParquetFile(self.path) as handle:
            for batch in handle.iter_batches(batch_size=self.batch_rows):
                for row in batch.to_pylist():
                    row_no += 1
                    raw = json.dumps(row, ensure_ascii=False, default=str)
                    yield self._post_or_letter(row, raw, row_no)
