"""pluggy markers and hook specifications for `adverse_events` plugins.

A plugin is a module or object with functions decorated by `hookimpl`. Third parties ship one
through the entry-point group ``adverse_events``::

    # pyproject.toml of a plugin package
    [project.entry-points.adverse_events]
    my_backends = "my_package.plugin"

    # my_package/plugin.py
    from adverse_events.hooks import hookimpl

    @hookimpl
    def adverse_events_backends():
        return {"sink": {"postgres": ("my_package.sink:PostgresSink", None)}}

The manager that calls the hooks is built once and handed to the runner: `default_manager` (the
installed plugins, scanned once per process) or `new_manager` (given plugin objects)::

    Pipeline(source, classifier, hooks=new_manager([AuditLog()]))
"""

from adverse_events.hooks.manager import BUILTINS_PLUGIN, default_manager, new_manager
from adverse_events.hooks.specs import (
    PROJECT_NAME,
    AdverseEventsSpec,
    BackendTable,
    hookimpl,
    hookspec,
)

__all__ = [
    "BUILTINS_PLUGIN",
    "PROJECT_NAME",
    "AdverseEventsSpec",
    "BackendTable",
    "default_manager",
    "hookimpl",
    "hookspec",
    "new_manager",
]
