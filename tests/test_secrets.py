"""`adverse_events.secrets`: a reference names where a secret is; errors never show the value."""

from __future__ import annotations

import json

import pytest

from adverse_events.errors import ConfigError
from adverse_events.secrets import resolve_secret


def test_env_reference(monkeypatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "  s3cret-value\n")
    assert resolve_secret("env:MY_TOKEN") == "s3cret-value"


def test_unset_env_names_the_variable_and_the_hint(monkeypatch) -> None:
    monkeypatch.delenv("MY_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"^api key: environment variable MY_TOKEN is not set; "):
        resolve_secret("env:MY_TOKEN", what="api key", hint="the service's key")
    with pytest.raises(ConfigError, match=r"export MY_TOKEN=\.\.\. \(the service's key\)$"):
        resolve_secret("env:MY_TOKEN", what="api key", hint="the service's key")


def test_file_reference(tmp_path) -> None:
    path = tmp_path / "token"
    path.write_text("from-a-file\n", encoding="utf-8")
    assert resolve_secret(f"file:{path}") == "from-a-file"
    with pytest.raises(ConfigError, match="secret: cannot read file"):
        resolve_secret(f"file:{tmp_path / 'missing'}")


@pytest.mark.parametrize("reference", ["vault:x/y", "", "AAAAbearer-token-pasted-here"])
def test_unknown_scheme_is_refused_without_echoing_the_value(reference) -> None:
    with pytest.raises(
        ConfigError, match="must start with env:, file: or aws-secretsmanager:"
    ) as e:
        resolve_secret(reference)
    assert "bearer-token" not in str(e.value) and "x/y" not in str(e.value)


def test_aws_secrets_manager_reference(monkeypatch) -> None:
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        client = boto3.client("secretsmanager")
        client.create_secret(Name="plain", SecretString="plain-value\n")
        client.create_secret(Name="json", SecretString=json.dumps({"bearer_token": "from-json"}))
        assert resolve_secret("aws-secretsmanager:plain") == "plain-value"
        assert resolve_secret("aws-secretsmanager:json#bearer_token") == "from-json"
        with pytest.raises(ConfigError, match="has no JSON key 'nope'"):
            resolve_secret("aws-secretsmanager:json#nope")
        with pytest.raises(ConfigError, match="token: cannot read secret 'missing'"):
            resolve_secret("aws-secretsmanager:missing", what="token")
