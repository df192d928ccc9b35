"""The plugin manager: built once, passed to the runner.

Scanning the ``adverse_events`` entry-point group imports every installed plugin, so it happens
once per process: `default_manager` is the cached manager with the installed plugins, used by
`adverse_events.get_registry`, `PipelineConfig.build` and the Lambda handler. A `Pipeline` made
in code gets a manager with no entry-point plugins unless it is given one (``hooks=``) or plugin
objects (``plugins=``, a manager built once for that pipeline).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import pluggy

from adverse_events.builtin_backends import BUILTIN_BACKENDS
from adverse_events.hooks.specs import PROJECT_NAME, AdverseEventsSpec, BackendTable, hookimpl

__all__ = ["BUILTINS_PLUGIN", "default_manager", "new_manager"]

#: The name the built-in backends are registered under (`BackendInfo.plugin` shows it).
BUILTINS_PLUGIN = "adverse_events.builtins"


class _Builtins:
    """The built-in backends, registered as a plugin like any other."""

    @hookimpl
    def adverse_events_backends(self) -> BackendTable:
        return BUILTIN_BACKENDS


def new_manager(
    plugins: Iterable[object] = (), *, entry_points: bool = False
) -> pluggy.PluginManager:
    """A manager with the hook specs, the built-in backends and `plugins`.

    ``entry_points=True`` also loads the installed plugins (the ``adverse_events`` entry-point
    group): that imports them, so do it once (`default_manager`), not per pipeline.
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(AdverseEventsSpec)
    pm.register(_Builtins(), name=BUILTINS_PLUGIN)
    for plugin in plugins:
        pm.register(plugin)
    if entry_points:
        pm.load_setuptools_entrypoints(PROJECT_NAME)
    return pm


@lru_cache(maxsize=1)
def default_manager() -> pluggy.PluginManager:
    """The process-wide manager: built-ins plus the installed entry-point plugins (scanned once).

    ``default_manager.cache_clear()`` makes the next call scan again (tests, a plugin
    installed while the process runs).
    """
    return new_manager(entry_points=True)
