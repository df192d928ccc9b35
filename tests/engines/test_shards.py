"""The Ray engine's Ray-free parts: shards, layout, manifests, stores, the [engine] table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

from adverse_events.config import EngineOptions, parse_config  # noqa: E402
from adverse_events.engines._shards import (  # noqa: E402
    Layout,
    Manifest,
    ShardProcessor,
    input_id,
    read_shards,
    store_for,
)
from adverse_events.engines._store import LocalStore  # noqa: E402
from adverse_events.errors import ConfigError  # noqa: E402
from adverse_events.sinks.parquet import ParquetSink  # noqa: E402
from adverse_events.sources.files import CsvSource, JsonlSource  # noqa: E402
from tests.engines.conftest import write_posts  # noqa: E402
from tests.engines.ray_backends import RayTestBackends  # noqa: E402

pytestmark = pytest.mark.unit


def _config(tmp_path: Path, source: str, classifier: str = 'type = "keyword"', **engine: object):
    text = (
        f'[source]\n{source}\n[classifier]\n{classifier}\n[sink]\ntype = "parquet"\n'
        f'path = "{tmp_path / "out"}"\n[pipeline]\nbatch_size = 8\n'
    )
    if engine:
        text += "[engine]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in engine.items())
    import tomllib

    return parse_config(tomllib.loads(text))


def test_shards_are_the_local_sources_items_in_order(tmp_path):
    posts = tmp_path / "posts.jsonl"
    write_posts(posts, 95)
    cfg = _config(tmp_path, f'type = "jsonl"\npath = "{posts}"')
    store, key = store_for(str(posts))
    shards = list(read_shards(str(posts), cfg.source, 20, store, key))
    assert [(start, stop) for start, stop, _, _ in shards] == [
        (0, 20),
        (20, 40),
        (40, 60),
        (60, 80),
        (80, 96),
    ]  # 95 lines + the repeated id
    assert [last for _, _, last, _ in shards] == [False, False, False, False, True]
    items = [item for *_, chunk in shards for item in chunk]
    assert _items(items) == _items(JsonlSource(posts).read())


def test_an_empty_input_is_one_empty_last_shard(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("post_id,text\n")
    cfg = _config(tmp_path, f'type = "csv"\npath = "{empty}"')
    store, key = store_for(str(empty))
    assert list(read_shards(str(empty), cfg.source, 10, store, key)) == [(0, 0, True, [])]


def test_csv_shards_keep_the_csv_sources_dead_letters(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text("post_id,text\np1,a headache\np2,fine\np3,too,many\np4,\n")
    cfg = _config(tmp_path, f'type = "csv"\npath = "{path}"')
    store, key = store_for(str(path))
    [(_, _, _, items)] = read_shards(str(path), cfg.source, 10, store, key)
    assert _items(items) == _items(CsvSource(path).read())


def test_a_processed_shard_is_what_the_local_runner_stores(tmp_path):
    posts = tmp_path / "posts.jsonl"
    write_posts(posts, 60)
    cfg = _config(tmp_path, f'type = "jsonl"\npath = "{posts}"')
    local = ParquetSink(tmp_path / "local")
    from adverse_events.pipeline import Pipeline
    from tests.helpers import KeywordClassifier

    Pipeline(
        JsonlSource(posts), KeywordClassifier(), sink=local, batch_size=8, progress=False
    ).run()
    layout = Layout.for_sink(cfg.sink)
    processor = ShardProcessor(cfg, layout, [RayTestBackends()])
    store, key = store_for(str(posts))
    for start, stop, _, items in read_shards(str(posts), cfg.source, 25, store, key):
        processor.process(input_id(str(posts)), "2024-05-01", start, stop, items)
    processor.close()
    mine = ParquetSink(tmp_path / "out")
    assert _rows(mine.read_records()) == _rows(local.read_records())
    assert _letters(mine.read_dead_letters()) == _letters(local.read_dead_letters())
    assert len(list((tmp_path / "out" / "adverse_events" / "dt=2024-05-01").iterdir())) == 3


def test_a_shard_that_no_longer_has_dead_letters_removes_its_old_object(tmp_path):
    cfg = _config(tmp_path, 'type = "jsonl"\npath = "unused.jsonl"')
    from adverse_events.testing import make_dead_letter, make_post

    processor = ShardProcessor(cfg, Layout.for_sink(cfg.sink), [RayTestBackends()])
    processor.process("abc", "2024-05-01", 0, 2, [make_post("p1"), make_dead_letter()])
    letters = tmp_path / "out" / "dead_letters" / "part-abc-0000000000-0000000002.parquet"
    assert letters.is_file()
    processor.process("abc", "2024-05-01", 0, 2, [make_post("p1"), make_post("p2")])
    assert not letters.exists()  # a retried shard stores what it has now, nothing older


def test_layout_of_an_s3_sink_is_the_s3_sinks_own():
    from adverse_events.config import StageConfig

    layout = Layout.for_sink(StageConfig(type="s3", options={"bucket": "b", "prefix": "t"}))
    assert layout.records_key("2024-05-01", "abc", 0, 10) == (
        "t/dt=2024-05-01/part-abc-0000000000-0000000010.parquet"
    )
    assert layout.letters_key("2024-05-01", "abc", 0, 10).startswith(
        "lambda_dead_letters/dt=2024-05-01/part-abc-"
    )
    assert layout.manifest_key("abc") == "_ray_manifests/t/abc.json"  # outside the table


@pytest.mark.parametrize(
    "sink, message",
    [
        ({"type": "duckdb", "options": {"path": "x.duckdb"}}, 'use type = "s3"'),
        ({"type": "s3", "options": {"bucket": "b", "format": "jsonl"}}, "writes Parquet"),
    ],
)
def test_sinks_the_engine_cannot_write_are_config_errors(sink, message):
    from adverse_events.config import StageConfig

    with pytest.raises(ConfigError, match=message):
        Layout.for_sink(StageConfig(**sink))


def test_manifest_round_trip_and_matching():
    manifest = Manifest("s3://b/k", 10, "etag", "2024-05-01", 100)
    loaded = Manifest.load(manifest.dump())
    assert loaded is not None and loaded.matches(10, "etag") and not loaded.matches(11, "etag")
    assert Manifest.load(None) is None


def test_local_store_lists_by_key_prefix_and_writes_atomically(tmp_path):
    store = LocalStore(tmp_path)
    store.put("a/dt=1/part-x-1.parquet", b"1")
    store.put("a/dt=1/part-y-1.parquet", b"2")
    assert [o.key for o in store.list_objects("a/dt=1/part-x-")] == ["a/dt=1/part-x-1.parquet"]
    assert store.get("missing") is None
    store.delete(["a/dt=1/part-x-1.parquet", "never-there"])
    assert [o.key for o in store.list_objects("a/")] == ["a/dt=1/part-y-1.parquet"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_engine_table_is_strict():
    assert EngineOptions().type == "local"
    with pytest.raises(ConfigError, match=r"\[engine\] concurrency"):
        parse_config(
            {
                "source": {"type": "jsonl"},
                "classifier": {"type": "keyword"},
                "sink": {"type": "memory"},
                "engine": {"concurrency": "2"},
            }
        )
    with pytest.raises(ConfigError, match=r"\[engine\] type"):
        parse_config(
            {
                "source": {"type": "jsonl"},
                "classifier": {"type": "keyword"},
                "sink": {"type": "memory"},
                "engine": {"type": "spark"},
            }
        )
    with pytest.raises(ConfigError, match=r"\[engine\] shards"):
        parse_config(
            {
                "source": {"type": "jsonl"},
                "classifier": {"type": "keyword"},
                "sink": {"type": "memory"},
                "engine": {"shards": 2},
            }
        )


def test_engine_rejects_what_it_cannot_run(tmp_path):
    pytest.importorskip("ray")
    from adverse_events.engines.ray import RayEngine

    with pytest.raises(ConfigError, match="reads files"):
        RayEngine(_config(tmp_path, 'type = "memory"'))
    cfg = _config(tmp_path, f'type = "jsonl"\npath = "{tmp_path}"\nid_field = ""')
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text('{"text": "hi"}\n')
    report = RayEngine(cfg, progress=False).run()  # fails while planning, before Ray starts
    assert report.failed and "repeat across files" in (report.error or "")


def _items(items):
    """Posts and dead letters as comparable dicts (a dead letter's time is when it was made)."""
    return [(type(i).__name__, i.model_dump(exclude={"failed_at"})) for i in items]


def _rows(records):
    return {
        r.post_id: {k: v for k, v in r.to_row().items() if k != "processed_at"} for r in records
    }


def _letters(letters):
    return {
        d.dead_letter_id: {k: v for k, v in d.to_row().items() if k != "failed_at"} for d in letters
    }


@pytest.mark.slow
def test_two_pools_store_what_one_pool_stores(tmp_path, tiny_models):
    posts = tmp_path / "posts.jsonl"
    write_posts(posts, 80)
    lexicon = tiny_models["lexicon"]
    cfg = _config(tmp_path, f'type = "jsonl"\npath = "{posts}"')
    cfg = cfg.model_copy(
        update={
            "extractor": parse_config(
                {
                    "source": {"type": "jsonl"},
                    "classifier": {"type": "keyword"},
                    "sink": {"type": "memory"},
                    "extractor": {"type": "lexicon", "model_dir": str(lexicon)},
                }
            ).extractor
        }
    )
    layout = Layout.for_sink(cfg.sink)
    plugins = [RayTestBackends()]
    one = ShardProcessor(cfg, layout, plugins)
    classify = ShardProcessor(cfg, layout, plugins, roles=("classifier",))
    extract = ShardProcessor(cfg, layout, plugins, roles=("extractor",))
    assert classify.extractor is None and extract.classifier is None
    store, key = store_for(str(posts))
    [(_, _, _, items)] = read_shards(str(posts), cfg.source, 100, store, key)
    together = one.run_pipeline(items)
    apart = extract.extract(*classify.run_pipeline(items))
    assert any(r.mentions for r in together[0])  # the extractor found something
    assert _rows(apart[0]) == _rows(together[0])
    assert _letters(apart[1]) == _letters(together[1])
    assert apart[2]["extracted"] == together[2]["extracted"] > 0
