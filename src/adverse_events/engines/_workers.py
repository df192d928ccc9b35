"""What the Ray engine runs on the workers: the read task and the shard actor.

`read_batch` turns one input file into one row per shard (its items pickled); `ShardActor`
builds a `ShardProcessor` once (one model load, one plugin manager) and runs shard after shard.
Kept apart from `adverse_events.engines.ray` (the driver: plan, execute, report) because these
are what Ray ships to other processes.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from typing import Any

from adverse_events.config import PipelineConfig
from adverse_events.engines._shards import Layout, ShardProcessor, read_shards, store_for

__all__ = ["ShardActor", "read_batch"]


def read_batch(
    batch: Any,
    *,
    source: Any,
    shard_rows: int,
    endpoint: tuple[str | None, str | None],
    options: Any,
) -> Iterator[Any]:
    """Read task: one input file in, one row per shard out (its items pickled)."""
    import pyarrow as pa

    for row in batch.to_pylist():
        store, key = store_for(row["uri"], *endpoint)
        shards = read_shards(row["uri"], source, shard_rows, store, key, options)
        for start, stop, last, items in shards:
            yield pa.table(
                {
                    "input_id": [row["input_id"]],
                    "dt": [row["dt"]],
                    "start": [start],
                    "stop": [stop],
                    "last": [last],
                    "items": pa.array([pickle.dumps(items, protocol=5)], type=pa.binary()),
                }
            )


class ShardActor:
    """Actor: one `ShardProcessor` (one model load), then shard after shard.

    `mode` ``"all"`` classifies, extracts and writes (one pool). With a second pool,
    ``"classify"`` passes each shard on with its records and dead letters (pickled), and
    ``"extract"`` extracts the adverse events among them and writes.
    """

    def __init__(
        self, config: PipelineConfig, layout: Layout, plugins: Sequence[object], mode: str = "all"
    ):
        roles = {
            "all": ("classifier", "extractor"),
            "classify": ("classifier",),
            "extract": ("extractor",),
        }[mode]
        self.mode = mode
        self.processor = ShardProcessor(config, layout, plugins, roles=roles)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        out = []
        for row in batch.to_pylist():
            where = (row["input_id"], row["dt"], row["start"], row["stop"])
            keep = {
                "input_id": row["input_id"],
                "dt": row["dt"],
                "start": row["start"],
                "stop": row["stop"],
                "last": row["last"],
            }
            if self.mode == "extract":
                records, letters, counts = pickle.loads(row["payload"])  # noqa: S301 - ours
                records, letters, counts = self.processor.extract(records, letters, counts)
                out.append({**keep, **self.processor.write(*where, records, letters, counts)})
                continue
            items = pickle.loads(row["items"])  # noqa: S301 - our own read task's output
            if self.mode == "all":
                out.append({**keep, **self.processor.process(*where, items)})
            else:
                payload = pickle.dumps(self.processor.run_pipeline(items), protocol=5)
                out.append({**keep, "payload": payload})
        return pa.Table.from_pylist(out)
