"""Pipeline configuration read from TOML: one table per stage, ``type`` names the backend.

```toml
[source]
type = "jsonl"                 # a registry name (adverse-events backends lists them)
path = "examples/posts.jsonl"  # every other key is an option of that backend

[classifier]
type = "tfidf"
model_dir = "models/tfidf"

[sink]
type = "duckdb"
path = "out/adverse_events.duckdb"

[pipeline]
batch_size = 64
resume = true
```

Tables: ``source``, ``classifier``, ``sink`` (required), ``extractor``, ``dead_letter`` (a sink),
``pipeline`` and ``engine`` (optional; ``[engine] type = "ray"`` runs it on a Ray cluster).
Relative paths are relative to the working directory. A string ``"${NAME}"`` is replaced by the
environment variable NAME, so secrets stay out of the file; the `repr`, `str` and dumps of a
loaded config show ``${NAME}`` unexpanded and the values of secret-named options
(``bearer_token``, ``pseudonym_key``, ``*_secret*``, ...) as ``<redacted>``, so a config can be
logged.
Unknown tables, keys and backend names raise a `ConfigError` that lists what is valid.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import pluggy
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_serializer

from adverse_events.errors import ConfigError, PluginError
from adverse_events.pipeline import Pipeline
from adverse_events.registry import Registry, get_registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "EngineOptions",
    "PipelineConfig",
    "PipelineOptions",
    "StageConfig",
    "build_backend",
    "load_config",
    "parse_config",
    "read_config_file",
]

#: config table -> registry role
STAGES = {
    "source": "source",
    "classifier": "classifier",
    "extractor": "extractor",
    "sink": "sink",
    "dead_letter": "sink",
}
OptionsT = TypeVar("OptionsT", bound=BaseModel)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PipelineOptions(BaseModel):
    """The ``[pipeline]`` table: options of `adverse_events.Pipeline`.

    Strict: TOML has types, so ``batch_size = true`` or ``"10"`` is a mistake to name, not to
    coerce (pydantic would make ``true`` a batch of 1).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    batch_size: int = Field(default=64, ge=1)
    resume: bool = False
    max_retries: int = Field(default=5, ge=0)
    backoff_initial: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    progress: bool | None = None


#: Option names whose values are secrets wherever they come from (matched case-insensitively
#: as whole words of the name: ``bearer_token``, ``pseudonym_key``, ``aws_secret_access_key``).
_SECRET_NAME = re.compile(
    r"(^|_)(token|key|secret|password|passwd|credentials?|auth)(_|$)", re.IGNORECASE
)
REDACTED = "<redacted>"


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def _redacted(value: Any, name: str = "") -> Any:
    """`value` for display: secret-named options hidden; nested tables and lists walked."""
    if _is_secret_name(name) and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redacted(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


class EngineOptions(BaseModel):
    """The ``[engine]`` table: where the pipeline runs (``adverse-events run --engine``).

    ``type = "local"`` (the default) is the `Pipeline` runner in this process. ``type = "ray"``
    is `adverse_events.engines.ray.RayEngine`; the other keys are its options (see docs/ray.md).
    Strict like ``[pipeline]``.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["local", "ray"] = "local"
    address: str | None = None
    concurrency: int = Field(default=2, ge=1)
    num_cpus: float = Field(default=1.0, ge=0)
    num_gpus: float = Field(default=0.0, ge=0)
    extract_concurrency: int = Field(default=0, ge=0)
    extract_num_cpus: float = Field(default=1.0, ge=0)
    read_num_cpus: float = Field(default=0.0, ge=0)
    shard_rows: int = Field(default=10_000, ge=1)
    max_restarts: int = Field(default=3, ge=0)
    max_task_retries: int = Field(default=3, ge=0)
    s3_endpoint_url: str | None = None
    s3_region: str | None = None


class StageConfig(BaseModel):
    """One stage table: the backend's registry name and its options.

    `options` hold the values the backend gets (``${NAME}`` expanded); every display of a stage
    (`repr`, `str`, `model_dump`, `model_dump_json`) shows the options as written instead, with
    ``${NAME}`` references unexpanded and secret-named options (``*_token``, ``*_key``,
    ``*secret*``, ``password``, ...) as ``<redacted>``.
    """

    model_config = ConfigDict(frozen=True)

    type: str
    options: dict[str, Any] = Field(default_factory=dict)
    _written: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def from_table(cls, type_: str, written: dict[str, Any], where: str) -> StageConfig:
        """A stage from its table as written; ``${NAME}`` references are expanded here."""
        stage = cls(type=type_, options=_expand_env(written, where))
        stage._written = written
        return stage

    def display_options(self) -> dict[str, Any]:
        """The options as they may be shown (logs, dumps): no expanded value, no secret."""
        options = self._written if self._written is not None else self.options
        return {key: _redacted(value, key) for key, value in options.items()}

    @field_serializer("options")
    def _serialise_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return self.display_options()

    def __repr_args__(self) -> Any:
        yield "type", self.type
        yield "options", self.display_options()


class PipelineConfig(BaseModel):
    """A whole pipeline file, validated."""

    source: StageConfig
    classifier: StageConfig
    extractor: StageConfig | None = None
    sink: StageConfig
    dead_letter: StageConfig | None = None
    pipeline: PipelineOptions = Field(default_factory=PipelineOptions)
    engine: EngineOptions = Field(default_factory=EngineOptions)
    path: Path | None = None

    def build(
        self, registry: Registry | None = None, hooks: pluggy.PluginManager | None = None
    ) -> Pipeline:
        """Create every backend and return a ready `Pipeline`.

        Backends resolve through `registry` (default: the process-wide one) and the run calls
        the lifecycle hooks of `hooks` (default: the registry's plugin manager, i.e. the
        installed entry-point plugins, scanned once per process).
        """
        registry = registry or get_registry()
        hooks = hooks if hooks is not None else registry.pm
        stages = {
            table: build_backend(STAGES[table], stage, registry, table)
            for table in STAGES
            if (stage := getattr(self, table)) is not None
        }
        return Pipeline(
            stages["source"],
            stages["classifier"],
            stages.get("extractor"),
            stages["sink"],
            stages.get("dead_letter"),
            hooks=hooks,
            **self.pipeline.model_dump(),
        )

    def build_runner(self) -> Any:
        """The runner the ``[engine]`` table asks for, ready to ``run()``: the local `Pipeline`
        (`build`) or, with ``type = "ray"``, a `RayEngine` (which validates the config before
        Ray starts; a stage it cannot shard is a `ConfigError`)."""
        if self.engine.type == "local":
            return self.build()
        from adverse_events.engines.ray import RayEngine

        return RayEngine(self)


def _expand_env(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(
                    f"{where}: environment variable {name} is not set; "
                    f"export {name}=... before running"
                )
            return os.environ[name]

        return _ENV.sub(lookup, value)
    if isinstance(value, list):
        return [_expand_env(v, where) for v in value]
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{where}.{k}") for k, v in value.items()}
    return value


def load_config(path: str | os.PathLike[str]) -> PipelineConfig:
    """Read and validate a pipeline TOML file; every problem is a `ConfigError`."""
    return parse_config(read_config_file(path), Path(path))


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The tables of a pipeline TOML file, not yet validated (to change some before
    `parse_config`, as the Lambda handler's environment does); a `ConfigError` if unreadable."""
    path = Path(path)
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return data


def parse_config(data: Mapping[str, Any], path: Path | None = None) -> PipelineConfig:
    """Validate an already-parsed config mapping (what `load_config` does after reading)."""
    where = str(path) if path else "config"
    valid = [*STAGES, "pipeline", "engine"]
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {unknown}; valid tables: {valid}")
    for required in ("source", "classifier", "sink"):
        if required not in data:
            raise ConfigError(f"{where}: missing [{required}] table with a 'type' key")
    stages: dict[str, Any] = {}
    for table in STAGES:
        if table in data:
            stages[table] = _stage(table, data[table], where)
    options = _options("pipeline", PipelineOptions, data, where)
    engine = _options("engine", EngineOptions, data, where)
    return PipelineConfig(**stages, pipeline=options, engine=engine, path=path)


def _options(table: str, model: type[OptionsT], data: Mapping[str, Any], where: str) -> OptionsT:
    """Validate an options table (``[pipeline]``, ``[engine]``) with errors that name the key."""
    value = data.get(table, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{table}] must be a table")
    if table == "engine":
        value = _expand_env(value, "[engine]")  # a cluster address may come from the environment
    try:
        return model(**value)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        raise ConfigError(
            f"{where}: [{table}] {key}: {error['msg']}; valid keys: {sorted(model.model_fields)}"
        ) from exc


def _stage(table: str, value: Any, where: str) -> StageConfig:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{table}] must be a table")
    if "type" not in value:
        raise ConfigError(
            f"{where}: [{table}] needs a 'type' key naming the backend "
            "(run `adverse-events backends` to list them)"
        )
    if not isinstance(value["type"], str):
        raise ConfigError(
            f"{where}: [{table}] type must be a backend name (text), got {value['type']!r}"
        )
    written = {k: v for k, v in value.items() if k != "type"}
    return StageConfig.from_table(value["type"], written, f"[{table}]")


def accepted_options(cls: type[Any]) -> tuple[list[str], bool]:
    """Keyword options `cls` accepts (walking ``**kwargs`` up the MRO) and whether any goes."""
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        names += [
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names
        ]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names, False
    return names, True


def build_backend(
    role: str, stage: StageConfig, registry: Registry | None = None, table: str | None = None
) -> Any:
    """Instantiate the backend a stage table describes, with errors that name the fix."""
    registry = registry or get_registry()
    table = table or role
    try:
        cls = registry.resolve(role, stage.type)
    except PluginError as exc:
        raise ConfigError(f"[{table}] type = {stage.type!r}: {exc}") from exc
    names, open_ended = accepted_options(cls)
    unknown = sorted(set(stage.options) - set(names))
    if unknown and not open_ended:
        raise ConfigError(
            f"[{table}] unknown option(s) {unknown} for {role} {stage.type!r}; "
            f"valid options: {names}"
        )
    try:
        return cls(**stage.options)
    except ConfigError as exc:
        raise ConfigError(f"[{table}] {exc}") from exc
    except (AttributeError, TypeError, ValueError) as exc:  # an option of the wrong type
        raise ConfigError(
            f"[{table}] {role} {stage.type!r}: {exc}; valid options: {names}"
        ) from exc
