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
"""

from adverse_events.hooks.specs import PROJECT_NAME, AdverseEventsSpec, hookimpl, hookspec

__all__ = ["PROJECT_NAME", "AdverseEventsSpec", "hookimpl", "hookspec"]
