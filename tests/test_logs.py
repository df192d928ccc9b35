"""CLI logging: third-party loggers stay at WARNING under -v, and no line shows a secret."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from adverse_events.cli import app
from adverse_events.logs import RedactingFilter, configure_logging

pytestmark = pytest.mark.unit

ACCESS_KEY = "AKIAABCDEFGHIJKLMNOP"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue123"


@pytest.fixture(autouse=True)
def _restore_levels():
    names = ("", "adverse_events", "botocore", "urllib3")
    levels = {n: logging.getLogger(n).level for n in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    ("args", "library", "botocore", "urllib3"),
    [
        ([], logging.INFO, False, False),
        (["-v"], logging.DEBUG, False, False),
        (["-vv"], logging.DEBUG, True, True),
        (["-v", "--debug-logger", "botocore"], logging.DEBUG, True, False),
    ],
)
def test_verbosity_levels(args, library, botocore, urllib3):
    result = CliRunner().invoke(app, [*args, "backends"])
    assert result.exit_code == 0, result.output
    assert logging.getLogger("adverse_events").getEffectiveLevel() == library
    assert logging.getLogger("botocore.endpoint").isEnabledFor(logging.DEBUG) is botocore
    assert logging.getLogger("urllib3").isEnabledFor(logging.INFO) is urllib3


def _failing_aws_call() -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=0.5),
    )
    with pytest.raises(Exception):  # noqa: B017 - nothing listens on port 9
        client.list_buckets()


def test_botocore_debug_lines_carry_no_credentials(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION)
    configure_logging(2)  # as asked for with -vv: botocore at DEBUG
    _failing_aws_call()
    err = capsys.readouterr().err
    assert "botocore" in err and "Authorization" in err  # the request was logged...
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION):
        assert secret not in err  # ...without the credentials


def test_under_v_botocore_logs_nothing(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    configure_logging(1)
    logging.getLogger("adverse_events.test").debug("library debug line")
    _failing_aws_call()
    err = capsys.readouterr().err
    assert "library debug line" in err and "botocore" not in err


def test_filter_redacts_env_secrets_and_credential_shapes():
    redact = RedactingFilter(["my-bearer-token-123"]).redact
    line = (
        f"token my-bearer-token-123 key {ACCESS_KEY} 'Authorization': b'AWS4-HMAC-SHA256 "
        f"Credential={ACCESS_KEY}/20240101/us-east-1/s3/aws4_request, Signature=abc123'"
    )
    out = redact(line)
    assert "my-bearer-token-123" not in out and ACCESS_KEY not in out and "abc123" not in out
