"""The Lambda handler's config: a default pipeline or a TOML file, the environment overriding it;
its backends and plugin manager built once per container."""

from __future__ import annotations

import pluggy
import pytest

pytest.importorskip("boto3")

from adverse_events import ConfigError, registry  # noqa: E402
from adverse_events.aws import lambda_handler  # noqa: E402
from adverse_events.aws.lambda_config import (  # noqa: E402
    DEFAULT_TABLES,
    ENVIRONMENT,
    Settings,
    lambda_config,
    time_margin,
)
from adverse_events.hooks import default_manager, hookimpl  # noqa: E402
from adverse_events.sinks.memory import MemorySink  # noqa: E402
from adverse_events.testing import MockClassifier  # noqa: E402

REQUIRED = {"ENDPOINT_NAME": "ep", "BUCKET": "bk"}
#: Every variable the handler read before it had a config; each must keep working.
OLD_VARIABLES = {
    "ENDPOINT_NAME",
    "BUCKET",
    "THRESHOLD",
    "PREFIX",
    "DEAD_LETTER_PREFIX",
    "FORMAT",
    "EXTRACTOR",
    "BATCH_SIZE",
    "MAX_RETRIES",
    "BACKOFF_SECONDS",
    "ID_ATTRIBUTE",
    "TEXT_ATTRIBUTE",
    "COMPREHEND_MEDICAL_REGION",
    "CONDITION_THRESHOLD",
    "ICD10_THRESHOLD",
    "INCLUDE_RXNORM",
    "EXCLUDE_TRAITS",
    "KEEP_EXCLUDED",
    "TIME_MARGIN_SECONDS",
}


def test_every_old_variable_is_read():
    handled = {o.variable for o in ENVIRONMENT} | {"EXTRACTOR", "TIME_MARGIN_SECONDS"}
    assert handled == OLD_VARIABLES
    every_field = Settings(endpoint_name="e", bucket="b", comprehend_region="r").environment()
    assert set(every_field) == OLD_VARIABLES  # each Settings field round-trips through one


def test_the_environment_overrides_the_default_pipeline():
    config = lambda_config(
        {**REQUIRED, "THRESHOLD": "0.8", "BATCH_SIZE": "16", "BACKOFF_SECONDS": "0", "PREFIX": "p/"}
    )
    assert (config.source.type, config.classifier.type, config.sink.type) == (
        "dynamodb-stream",
        "sagemaker",
        "s3",
    )
    assert config.classifier.options == {"endpoint_name": "ep", "threshold": 0.8, "batch_size": 16}
    assert (config.pipeline.batch_size, config.pipeline.max_retries) == (16, 2)
    assert config.pipeline.backoff_initial == 0 and config.sink.options["prefix"] == "p/"
    assert config.extractor is not None and config.extractor.type == "comprehend-medical"
    assert DEFAULT_TABLES["classifier"] == {"type": "sagemaker", "threshold": 0.6, "batch_size": 64}


def test_extractor_none_removes_the_table_and_its_overrides_are_ignored():
    config = lambda_config({**REQUIRED, "EXTRACTOR": "none", "ICD10_THRESHOLD": "0.9"})
    assert config.extractor is None


def test_settings_are_the_same_pipeline():
    env = {**REQUIRED, "EXTRACTOR": "none", "THRESHOLD": "0.7", "EXCLUDE_TRAITS": "none"}
    settings = Settings.from_env(env)
    assert settings.config().model_dump() == lambda_config(env).model_dump()
    assert Settings.from_env(settings.environment()) == settings


def test_a_packaged_toml_file_is_the_base_and_the_environment_overrides_it(tmp_path, monkeypatch):
    monkeypatch.setenv("AE_ENDPOINT", "from-the-file")
    path = tmp_path / "pipeline.toml"
    path.write_text(
        """
[source]
type = "dynamodb-stream"
id_attribute = "id"

[classifier]
type = "sagemaker"
endpoint_name = "${AE_ENDPOINT}"
threshold = 0.5

[sink]
type = "s3"
bucket = "file-bucket"

[pipeline]
max_retries = 4
""",
        encoding="utf-8",
    )
    config = lambda_config({"PIPELINE_CONFIG": str(path), "THRESHOLD": "0.9", "BATCH_SIZE": "8"})
    assert config.classifier.options == {
        "endpoint_name": "from-the-file",
        "threshold": 0.9,
        "batch_size": 8,
    }
    assert config.extractor is None and config.sink.options == {"bucket": "file-bucket"}
    assert (config.pipeline.max_retries, config.pipeline.batch_size) == (4, 8)
    assert config.source.options == {"id_attribute": "id"}


def test_what_the_handler_cannot_run_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="ENDPOINT_NAME, BUCKET"):
        lambda_config({})
    with pytest.raises(ConfigError, match="not found"):
        lambda_config({"PIPELINE_CONFIG": str(tmp_path / "missing.toml")})
    path = tmp_path / "local.toml"
    path.write_text("[source]\ntype = 'jsonl'\n[classifier]\ntype = 'tfidf'\n[sink]\ntype = 'm'")
    with pytest.raises(ConfigError, match="dynamodb-stream"):
        lambda_config({"PIPELINE_CONFIG": str(path)})
    with pytest.raises(ConfigError, match="bad number.*BATCH_SIZE"):
        lambda_config({**REQUIRED, "BATCH_SIZE": "many"})
    assert time_margin({}) == 20 and time_margin({"TIME_MARGIN_SECONDS": "5"}) == 5


def _event(n: int) -> dict:
    return {
        "Records": [
            {
                "eventID": f"e{i}",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "SequenceNumber": str(100 + i),
                    "NewImage": {"post_id": {"S": f"p{i}"}, "text": {"S": "a headache"}},
                },
            }
            for i in range(n)
        ]
    }


def test_backends_and_the_plugin_manager_are_built_once_per_container(monkeypatch):
    scans, built, runs = [], [], []

    class Installed:
        @hookimpl
        def after_run(self, report):
            runs.append(report.written)

    def scan(self: pluggy.PluginManager, group: str, name: str | None = None) -> int:
        scans.append(group)
        self.register(Installed())
        return 1

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", scan)
    monkeypatch.setattr(lambda_handler, "_WARM", {})
    default_manager.cache_clear()
    registry.get_registry.cache_clear()
    for name, value in {**REQUIRED, "EXTRACTOR": "none", "BATCH_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    real = lambda_handler._Backends

    def counting(config, clients=None):
        backends = real(config, clients)
        backends.classifier, backends.sink = MockClassifier(lambda t: 0.9), MemorySink()
        built.append(backends)
        return backends

    monkeypatch.setattr(lambda_handler, "_Backends", counting)
    try:
        for _ in range(3):
            assert lambda_handler.handler(_event(5)) == {"batchItemFailures": []}
    finally:
        default_manager.cache_clear()
        registry.get_registry.cache_clear()
    assert len(built) == 1 and scans == ["adverse_events"]
    assert runs == [2, 2, 1] * 3  # three chunks per invocation, the installed hook in each
    assert len(built[0].sink.records) == 5
