"""The plugin manager is built once: pipelines scan no entry points, configs share one scan."""

from __future__ import annotations

from collections.abc import Iterator

import pluggy
import pytest

from adverse_events import ConfigError, Pipeline, registry
from adverse_events.config import parse_config
from adverse_events.hooks import default_manager, hookimpl, new_manager
from adverse_events.sources import MemorySource
from adverse_events.testing import MockClassifier, make_post

FAST = {"backoff_initial": 0, "backoff_max": 0, "progress": False}


class Audit:
    """A lifecycle plugin: counts what the run shows it."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.runs = 0

    @hookimpl
    def before_batch(self, posts):
        self.batches.append(len(posts))

    @hookimpl
    def after_run(self, report):
        self.runs += 1


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Audit, list[str]]]:
    """An `Audit` "installed" through the entry points, and the list of scans made."""
    audit, scans = Audit(), []

    def scan(self: pluggy.PluginManager, group: str, name: str | None = None) -> int:
        scans.append(group)
        self.register(audit, name="installed-audit")
        return 1

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", scan)
    default_manager.cache_clear()
    registry.get_registry.cache_clear()
    yield audit, scans
    default_manager.cache_clear()
    registry.get_registry.cache_clear()


def _source(n: int = 3) -> MemorySource:
    return MemorySource([make_post(f"p{i}", "a headache") for i in range(n)])


def test_a_pipeline_built_twice_scans_no_entry_points(installed):
    audit, scans = installed
    for _ in range(2):
        Pipeline(_source(), MockClassifier(lambda t: 0.9), **FAST).run()
        Pipeline(_source(), MockClassifier(lambda t: 0.9), plugins=[Audit()], **FAST).run()
    assert scans == [] and audit.runs == 0  # no scan, so the installed plugin is not called


def test_plugins_are_called_on_a_manager_built_for_that_pipeline(installed):
    _, scans = installed
    mine = Audit()
    Pipeline(_source(3), MockClassifier(lambda t: 0.9), batch_size=2, plugins=[mine], **FAST).run()
    assert (mine.batches, mine.runs, scans) == ([2, 1], 1, [])


def test_a_shared_manager_is_scanned_once_and_its_hooks_fire(installed):
    audit, scans = installed
    hooks = default_manager()
    for _ in range(2):
        Pipeline(_source(), MockClassifier(lambda t: 0.9), hooks=hooks, **FAST).run()
    assert default_manager() is hooks and scans == ["adverse_events"]
    assert audit.runs == 2


def test_pipelines_from_a_config_share_one_scan_and_fire_installed_hooks(
    installed, tmp_path, keyword_registry
):
    audit, scans = installed
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"post_id": "1", "text": "a headache"}\n', encoding="utf-8")
    config = parse_config(
        {
            "source": {"type": "jsonl", "path": str(posts)},
            "classifier": {"type": "keyword"},
            "sink": {"type": "memory"},
            "pipeline": {"progress": False},
        }
    )
    for _ in range(2):
        assert config.build().run().written == 1
        assert config.build_runner().run().written == 1
    assert scans == ["adverse_events"]  # registry and hooks: one manager, one scan
    assert (audit.runs, audit.batches) == (4, [1, 1, 1, 1])


def test_hooks_and_plugins_together_is_a_config_error():
    with pytest.raises(ConfigError, match="not both"):
        Pipeline(_source(), MockClassifier(lambda t: 0.9), plugins=[Audit()], hooks=new_manager())


def test_new_manager_registers_the_builtins_and_the_plugins():
    mine = Audit()
    pm = new_manager([mine])
    assert pm.is_registered(mine) and pm.has_plugin("adverse_events.builtins")
    assert registry.Registry(pm).names("sink")[:2] == ["duckdb", "dynamodb"]
