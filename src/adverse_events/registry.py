"""The backend table: registry name -> "module:Class" + the extra it needs; lazy imports.

Built-in backends are one sorted table (`adverse_events.builtin_backends`), imported only on
first use. Plugins add entries through the pluggy hook `adverse_events_backends`, shipped via the
``adverse_events`` entry-point group; the built-ins are registered the same way. A name is never
silently overridden: two plugins claiming the same role and name is a `PluginError`. The
process-wide registry reads the process-wide plugin manager
(`adverse_events.hooks.default_manager`), so the entry points are scanned once for both.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pluggy

from adverse_events.builtin_backends import BUILTIN_BACKENDS
from adverse_events.errors import PluginError
from adverse_events.hooks import BackendTable, default_manager, new_manager

__all__ = [
    "BUILTIN_BACKENDS",
    "ROLES",
    "BackendInfo",
    "Registry",
    "get_registry",
    "lazy_backends",
]

ROLES = ("source", "classifier", "extractor", "sink")

#: extra -> the top-level modules it installs (to say whether a backend is usable).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "aws": ("boto3", "pyarrow"),
    "dashboard": ("plotly",),
    "duckdb": ("duckdb", "pyarrow"),
    "extract": ("pycrfsuite", "rapidfuzz", "simple_icd_10_cm", "sklearn"),
    "parquet": ("pyarrow",),
    "torch": ("torch", "transformers"),
    "train": ("sklearn", "scipy", "numpy"),
    "twitter": ("tweepy",),
}


@dataclass(frozen=True)
class BackendInfo:
    """One row of the registry."""

    role: str
    name: str
    target: str
    extra: str | None
    plugin: str

    @property
    def installed(self) -> bool:
        """True when the optional dependencies this backend needs can be imported."""
        modules = EXTRA_MODULES.get(self.extra or "", ())
        return all(importlib.util.find_spec(m) is not None for m in modules)

    @property
    def install_hint(self) -> str:
        return f"pip install 'adverse-events[{self.extra}]'" if self.extra else ""


class Registry:
    """All known backends, from the built-ins and every registered plugin.

    `plugin_manager` defaults to the process-wide one (`adverse_events.hooks.default_manager`).
    """

    def __init__(self, plugin_manager: pluggy.PluginManager | None = None):
        self.pm = plugin_manager or default_manager()
        self._table: dict[tuple[str, str], BackendInfo] | None = None

    def _build(self) -> dict[tuple[str, str], BackendInfo]:
        table: dict[tuple[str, str], BackendInfo] = {}
        for impl in self.pm.hook.adverse_events_backends.get_hookimpls():
            plugin = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            provided: BackendTable = impl.function() or {}  # type: ignore[assignment]
            for role, entries in provided.items():
                self._add_entries(table, plugin, role, entries)
        return table

    @staticmethod
    def _add_entries(
        table: dict[tuple[str, str], BackendInfo],
        plugin: str,
        role: str,
        entries: Mapping[str, tuple[str, str | None]],
    ) -> None:
        if role not in ROLES:
            raise PluginError(f"plugin {plugin!r} registers role {role!r}; roles are {ROLES}")
        for name, (target, extra) in entries.items():
            if (role, name) in table:
                other = table[(role, name)].plugin
                raise PluginError(
                    f"{role} {name!r} is registered by both {other!r} and {plugin!r}; "
                    "rename one of them"
                )
            table[(role, name)] = BackendInfo(role, name, target, extra, plugin)

    @property
    def table(self) -> dict[tuple[str, str], BackendInfo]:
        if self._table is None:
            self._table = self._build()
        return self._table

    def entries(self, role: str | None = None) -> list[BackendInfo]:
        """Registered backends, sorted by role then name."""
        rows = [info for (r, _), info in self.table.items() if role in (None, r)]
        return sorted(rows, key=lambda info: (info.role, info.name))

    def names(self, role: str) -> list[str]:
        return [info.name for info in self.entries(role)]

    def info(self, role: str, name: str) -> BackendInfo:
        if role not in ROLES:
            raise PluginError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        try:
            return self.table[(role, name)]
        except KeyError:
            valid = ", ".join(self.names(role)) or "none"
            raise PluginError(f"unknown {role} {name!r}; valid {role}s: {valid}") from None

    def resolve(self, role: str, name: str) -> type[Any]:
        """Import and return the class registered as `name` for `role`."""
        info = self.info(role, name)
        module_name, _, attr = info.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").split(".")[0]
            if info.extra and missing and missing != module_name.split(".")[0]:
                raise PluginError(f"{role} {name!r} needs: {info.install_hint}") from exc
            raise PluginError(f"{role} {name!r}: cannot import {module_name}: {exc}") from exc
        try:
            return getattr(module, attr)  # type: ignore[no-any-return]
        except AttributeError as exc:
            raise PluginError(f"{role} {name!r}: {module_name} has no {attr!r}") from exc


def make_plugin_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    """A new plugin manager with the hook specs, the built-ins and (optionally) the installed
    plugins: `adverse_events.hooks.new_manager` under its old name. Each call with
    ``load_entry_points=True`` scans the entry points again; share `default_manager` instead."""
    return new_manager(entry_points=load_entry_points)


@lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The process-wide registry: built-ins + the plugins of `default_manager`."""
    return Registry(default_manager())


def lazy_backends(package: str, role: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A role package's module ``__getattr__``: its backends imported on first use.

    `names` maps a public class name to its registry name, so ``from adverse_events.sources
    import XSource`` imports the backend only then and, when its extra is missing, raises the
    registry's `PluginError` with the install hint.
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            return get_registry().resolve(role, names[name])
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
