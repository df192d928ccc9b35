import pluggy
import pytest

from adverse_events import PluginError
from adverse_events.hooks import hookimpl
from adverse_events.registry import BUILTIN_BACKENDS, Registry, get_registry, make_plugin_manager


def test_builtin_table_is_sorted():
    assert list(BUILTIN_BACKENDS) == sorted(BUILTIN_BACKENDS)
    for entries in BUILTIN_BACKENDS.values():
        assert list(entries) == sorted(entries)


def test_every_builtin_resolves_or_names_its_extra():
    for info in get_registry().entries():
        if info.installed:
            cls = get_registry().resolve(info.role, info.name)
            names = (cls.name, *getattr(cls, "aliases", ()))
            assert info.name in names, f"{cls} has names {names!r}, registered as {info.name!r}"


def test_aliases_are_registered_as_the_same_class():
    registry = get_registry()
    for info in registry.entries():
        if not info.installed:
            continue
        cls = registry.resolve(info.role, info.name)
        for alias in getattr(cls, "aliases", ()):
            assert registry.resolve(info.role, alias) is cls


def test_x_source_keeps_its_old_name():
    pytest.importorskip("tweepy")
    from adverse_events.sources.twitter import TwitterSource
    from adverse_events.sources.x import XSource

    registry = get_registry()
    assert registry.resolve("source", "x") is registry.resolve("source", "twitter") is XSource
    assert TwitterSource is XSource and XSource.name == "x"


def test_unknown_name_lists_valid_ones():
    with pytest.raises(PluginError, match="unknown sink 'nope'; valid sinks: duckdb, .*jsonl"):
        get_registry().resolve("sink", "nope")


def registry_with(*plugins: object) -> Registry:
    pm = make_plugin_manager(load_entry_points=False)
    for plugin in plugins:
        pm.register(plugin)
    return Registry(pm)


class Extra:
    @hookimpl
    def adverse_events_backends(self):
        return {"sink": {"needs-missing": ("tests.missing_dependency:Sink", "aws")}}


def test_missing_extra_gives_the_install_command():
    registry = registry_with(Extra())
    with pytest.raises(PluginError, match=r"needs: pip install 'adverse-events\[aws\]'"):
        registry.resolve("sink", "needs-missing")


def test_plugins_cannot_silently_override():
    class Clash:
        @hookimpl
        def adverse_events_backends(self):
            return {"sink": {"duckdb": ("elsewhere:Sink", None)}}

    with pytest.raises(PluginError, match="registered by both"):
        registry_with(Clash()).entries()


def test_plugins_add_backends():
    class Mine:
        @hookimpl
        def adverse_events_backends(self):
            return {"classifier": {"keyword": ("tests.helpers:KeywordClassifier", None)}}

    registry = registry_with(Mine())
    assert registry.resolve("classifier", "keyword").name == "keyword"
    assert registry.info("classifier", "keyword").plugin != "adverse_events.builtins"


def test_entry_points_are_loaded(monkeypatch):
    loaded = []
    monkeypatch.setattr(
        pluggy.PluginManager,
        "load_setuptools_entrypoints",
        lambda self, group, name=None: loaded.append(group) or 0,
    )
    make_plugin_manager()
    assert loaded == ["adverse_events"]
