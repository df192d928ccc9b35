"""The Lambda handler's `PipelineConfig`: a default pipeline (or a TOML file) + the environment.

Without ``PIPELINE_CONFIG`` the function runs `DEFAULT_TABLES`: ``dynamodb-stream`` ->
``sagemaker`` -> ``comprehend-medical`` (adverse events only) -> ``s3``. ``PIPELINE_CONFIG``
names a pipeline TOML file packaged with the function (a path relative to the working
directory, ``/var/task`` on Lambda) that replaces those defaults; its ``${NAME}`` references are
expanded as in any pipeline file. Either way each variable of `ENVIRONMENT` that is set (not
blank) overrides its key(s):

| Variable | Config key | Default (no ``PIPELINE_CONFIG``) |
| --- | --- | --- |
| ``ENDPOINT_NAME`` | ``classifier.endpoint_name`` | required |
| ``THRESHOLD`` | ``classifier.threshold`` | ``0.6`` |
| ``BATCH_SIZE`` | ``pipeline.batch_size`` and ``classifier.batch_size`` | ``64`` |
| ``MAX_RETRIES`` | ``pipeline.max_retries`` | ``2`` |
| ``BACKOFF_SECONDS`` | ``pipeline.backoff_initial`` | ``0.5`` |
| ``ID_ATTRIBUTE`` | ``source.id_attribute`` | ``post_id`` |
| ``TEXT_ATTRIBUTE`` | ``source.text_attribute`` | ``text`` |
| ``BUCKET`` | ``sink.bucket`` | required |
| ``PREFIX`` | ``sink.prefix`` | ``lambda_predictions/`` |
| ``DEAD_LETTER_PREFIX`` | ``sink.dead_letter_prefix`` | ``lambda_dead_letters/`` |
| ``FORMAT`` | ``sink.format`` | ``parquet`` |
| ``EXTRACTOR`` | ``extractor.type`` (``none``: no ``[extractor]``) | ``comprehend-medical`` |
| ``COMPREHEND_MEDICAL_REGION`` | ``extractor.region`` | the function's region |
| ``CONDITION_THRESHOLD`` | ``extractor.condition_threshold`` | ``0.6`` |
| ``ICD10_THRESHOLD`` | ``extractor.icd10_threshold`` | ``0.7`` |
| ``INCLUDE_RXNORM`` | ``extractor.include_rxnorm`` | ``true`` |
| ``EXCLUDE_TRAITS`` | ``extractor.exclude_traits`` (``A,B``; ``none``: empty) | see below |
| ``KEEP_EXCLUDED`` | ``extractor.keep_excluded`` | ``false`` |

An override of a table the config does not have (``CONDITION_THRESHOLD`` with
``EXTRACTOR=none``) is ignored. ``TIME_MARGIN_SECONDS`` (``20``) is the handler's own
option, not a config key: when less time than this is left in the invocation it takes no new
posts. ``EXCLUDE_TRAITS`` defaults to ``NEGATION,HYPOTHETICAL,PERTAINS_TO_FAMILY``. `Settings`
is the same configuration as flat fields, kept for code that builds one.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adverse_events.config import PipelineConfig, parse_config, read_config_file
from adverse_events.errors import ConfigError
from adverse_events.records import EXCLUDING_TRAITS

__all__ = [
    "DEFAULT_TABLES",
    "ENVIRONMENT",
    "EnvOverride",
    "Settings",
    "lambda_config",
    "time_margin",
]

#: The extractors ``EXTRACTOR`` may name (``none`` removes the ``[extractor]`` table).
EXTRACTORS = ("comprehend-medical",)

#: The function's pipeline without ``PIPELINE_CONFIG``; the environment fills in the rest.
DEFAULT_TABLES: dict[str, dict[str, Any]] = {
    "source": {"type": "dynamodb-stream", "id_attribute": "post_id", "text_attribute": "text"},
    "classifier": {"type": "sagemaker", "threshold": 0.6, "batch_size": 64},
    "extractor": {
        "type": "comprehend-medical",
        "condition_threshold": 0.6,
        "icd10_threshold": 0.7,
        "include_rxnorm": True,
        "exclude_traits": list(EXCLUDING_TRAITS),
        "keep_excluded": False,
    },
    "sink": {
        "type": "s3",
        "prefix": "lambda_predictions/",
        "format": "parquet",
        "dead_letter_prefix": "lambda_dead_letters/",
    },
    "pipeline": {"batch_size": 64, "max_retries": 2, "backoff_initial": 0.5, "progress": False},
}


def _number(kind: type[int] | type[float]) -> Callable[[str, str], Any]:
    def parse(name: str, value: str) -> Any:
        try:
            return kind(value)
        except ValueError as exc:
            raise ConfigError(f"bad number in the Lambda environment: {name}: {exc}") from exc

    return parse


def _text(name: str, value: str) -> str:
    return value


def _flag(name: str, value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _traits(name: str, value: str) -> list[str]:
    if value.lower() == "none":
        return []
    return [t.strip().upper() for t in value.split(",") if t.strip()]


@dataclass(frozen=True)
class EnvOverride:
    """One environment variable and the config key(s) (table, key) its parsed value sets."""

    variable: str
    keys: tuple[tuple[str, str], ...]
    parse: Callable[[str, str], Any] = _text


#: Every variable the handler reads into its config (see the module docstring's table).
ENVIRONMENT: tuple[EnvOverride, ...] = (
    EnvOverride("ENDPOINT_NAME", (("classifier", "endpoint_name"),)),
    EnvOverride("THRESHOLD", (("classifier", "threshold"),), _number(float)),
    EnvOverride(
        "BATCH_SIZE", (("pipeline", "batch_size"), ("classifier", "batch_size")), _number(int)
    ),
    EnvOverride("MAX_RETRIES", (("pipeline", "max_retries"),), _number(int)),
    EnvOverride("BACKOFF_SECONDS", (("pipeline", "backoff_initial"),), _number(float)),
    EnvOverride("ID_ATTRIBUTE", (("source", "id_attribute"),)),
    EnvOverride("TEXT_ATTRIBUTE", (("source", "text_attribute"),)),
    EnvOverride("BUCKET", (("sink", "bucket"),)),
    EnvOverride("PREFIX", (("sink", "prefix"),)),
    EnvOverride("DEAD_LETTER_PREFIX", (("sink", "dead_letter_prefix"),)),
    EnvOverride("FORMAT", (("sink", "format"),)),
    EnvOverride("COMPREHEND_MEDICAL_REGION", (("extractor", "region"),)),
    EnvOverride("CONDITION_THRESHOLD", (("extractor", "condition_threshold"),), _number(float)),
    EnvOverride("ICD10_THRESHOLD", (("extractor", "icd10_threshold"),), _number(float)),
    EnvOverride("INCLUDE_RXNORM", (("extractor", "include_rxnorm"),), _flag),
    EnvOverride("EXCLUDE_TRAITS", (("extractor", "exclude_traits"),), _traits),
    EnvOverride("KEEP_EXCLUDED", (("extractor", "keep_excluded"),), _flag),
)

#: Keys the default backends cannot do without, and the variable that sets each.
_REQUIRED = (
    ("classifier", "sagemaker", "endpoint_name", "ENDPOINT_NAME"),
    ("sink", "s3", "bucket", "BUCKET"),
)


def _env(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value; blank counts as not set."""
    value = env.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def lambda_config(env: Mapping[str, str] | None = None) -> PipelineConfig:
    """The handler's pipeline: ``PIPELINE_CONFIG`` (or `DEFAULT_TABLES`) + the overrides set
    in `env` (default: ``os.environ``). Every problem is a `ConfigError` naming the variable."""
    env = os.environ if env is None else env
    path = _env(env, "PIPELINE_CONFIG")
    tables = read_config_file(path) if path else copy.deepcopy(DEFAULT_TABLES)
    _choose_extractor(tables, _env(env, "EXTRACTOR"))
    for override in ENVIRONMENT:
        value = _env(env, override.variable)
        if value is None:
            continue
        parsed = override.parse(override.variable, value)
        for table, key in override.keys:
            if table == "pipeline":
                tables.setdefault("pipeline", {})
            if isinstance(tables.get(table), dict):
                tables[table][key] = copy.copy(parsed)
    _check(tables, path)
    return parse_config(tables, Path(path) if path else None)


def _choose_extractor(tables: dict[str, Any], extractor: str | None) -> None:
    """Apply ``EXTRACTOR``: ``none`` removes the table, ``comprehend-medical`` makes it one."""
    if extractor is None:
        return
    if extractor.lower() == "none":
        tables.pop("extractor", None)
    elif extractor not in EXTRACTORS:
        raise ConfigError(
            f"EXTRACTOR must be one of {', '.join(EXTRACTORS)} or none, got {extractor!r}"
        )
    elif tables.get("extractor", {}).get("type") != extractor:
        tables["extractor"] = copy.deepcopy(DEFAULT_TABLES["extractor"])


def _check(tables: Mapping[str, Any], path: str | None) -> None:
    """What the handler needs: a stream source, its dead letters in the sink, required keys."""
    where = path or "the Lambda configuration"
    if tables.get("source", {}).get("type") != "dynamodb-stream":
        raise ConfigError(f"{where}: [source] type must be 'dynamodb-stream' (the stream event)")
    if "dead_letter" in tables:
        raise ConfigError(
            f"{where}: remove [dead_letter]: the handler writes dead letters to the [sink] "
            "(its dead_letter_prefix)"
        )
    missing = [
        variable
        for table, type_, key, variable in _REQUIRED
        if tables.get(table, {}).get("type") == type_ and not tables[table].get(key)
    ]
    if missing:
        raise ConfigError(
            f"set the environment variable(s) {', '.join(missing)} on the Lambda function"
        )


def time_margin(env: Mapping[str, str] | None = None) -> float:
    """``TIME_MARGIN_SECONDS`` (default 20): stop taking new posts when less time is left."""
    env = os.environ if env is None else env
    value = _env(env, "TIME_MARGIN_SECONDS")
    return 20.0 if value is None else float(_number(float)("TIME_MARGIN_SECONDS", value))


@dataclass(frozen=True)
class Settings:
    """The default pipeline's configuration as flat fields, one per environment variable.

    Kept for code that builds one (``Settings(endpoint_name=..., bucket=...)``) and hands it to
    `handle`; the handler itself reads `lambda_config`. `config` is the same pipeline as a
    `PipelineConfig` (through the same `ENVIRONMENT` mapping); `from_env` reads the variables
    (``PIPELINE_CONFIG`` is not read: a file may name other backends than these fields).
    """

    endpoint_name: str
    bucket: str
    threshold: float = 0.6
    prefix: str = "lambda_predictions/"
    dead_letter_prefix: str = "lambda_dead_letters/"
    format: str = "parquet"
    extractor: str | None = "comprehend-medical"
    batch_size: int = 64
    max_retries: int = 2
    backoff_seconds: float = 0.5
    id_attribute: str = "post_id"
    text_attribute: str = "text"
    comprehend_region: str | None = None
    condition_threshold: float = 0.60
    icd10_threshold: float = 0.70
    include_rxnorm: bool = True
    exclude_traits: tuple[str, ...] = EXCLUDING_TRAITS
    keep_excluded: bool = False
    time_margin_seconds: float = 20.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        config = lambda_config({k: v for k, v in env.items() if k != "PIPELINE_CONFIG"})
        values: dict[str, Any] = {"time_margin_seconds": time_margin(env)}
        values["extractor"] = config.extractor.type if config.extractor else None
        for name, (table, key) in _FIELDS.items():
            stage = getattr(config, table)
            if table == "pipeline":
                values[name] = getattr(stage, key)
            elif stage is not None and key in stage.options:
                values[name] = stage.options[key]
        values["exclude_traits"] = tuple(values.get("exclude_traits", EXCLUDING_TRAITS))
        return cls(**values)

    def environment(self) -> dict[str, str]:
        """These settings as the environment variables that configure them."""
        env = {_VARIABLES[name]: _render(getattr(self, name)) for name in _FIELDS}
        env["EXTRACTOR"] = self.extractor or "none"
        env["TIME_MARGIN_SECONDS"] = str(self.time_margin_seconds)
        return {name: value for name, value in env.items() if value}

    def config(self) -> PipelineConfig:
        """The pipeline these settings describe."""
        return lambda_config(self.environment())


#: `Settings` field -> its config key (table, key).
_VARIABLES = {
    "endpoint_name": "ENDPOINT_NAME",
    "bucket": "BUCKET",
    "threshold": "THRESHOLD",
    "prefix": "PREFIX",
    "dead_letter_prefix": "DEAD_LETTER_PREFIX",
    "format": "FORMAT",
    "batch_size": "BATCH_SIZE",
    "max_retries": "MAX_RETRIES",
    "backoff_seconds": "BACKOFF_SECONDS",
    "id_attribute": "ID_ATTRIBUTE",
    "text_attribute": "TEXT_ATTRIBUTE",
    "comprehend_region": "COMPREHEND_MEDICAL_REGION",
    "condition_threshold": "CONDITION_THRESHOLD",
    "icd10_threshold": "ICD10_THRESHOLD",
    "include_rxnorm": "INCLUDE_RXNORM",
    "exclude_traits": "EXCLUDE_TRAITS",
    "keep_excluded": "KEEP_EXCLUDED",
}
_KEYS = {override.variable: override.keys[0] for override in ENVIRONMENT}
_FIELDS = {name: _KEYS[variable] for name, variable in _VARIABLES.items()}


def _render(value: Any) -> str:
    """A field's value as its environment variable would hold it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value) if value else "none"
    return str(value)
