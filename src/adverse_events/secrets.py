"""Secret references: where a secret is, not the secret itself, in configs and options.

A backend option such as the X source's ``bearer_token_ref`` names where its secret is kept, so
a config file can be shared and logged without it:

* ``env:NAME``: the environment variable NAME;
* ``file:PATH``: the file's content (``~`` expanded), e.g. a mounted ``/run/secrets/...``;
* ``aws-secretsmanager:SECRET_ID[#json-key]``: an AWS Secrets Manager secret (the `aws`
  extra), or one key of a JSON secret.

`resolve_secret` returns the value, stripped of surrounding whitespace, to its caller only:
nothing here logs it, and an error names the reference, never the value. Keep the value in a
`pydantic.SecretStr` (or a closure) so it stays out of every repr.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from adverse_events.errors import ConfigError

__all__ = ["SCHEMES", "resolve_secret"]

#: The reference schemes `resolve_secret` understands.
SCHEMES = ("env", "file", "aws-secretsmanager")


def resolve_secret(reference: str, *, what: str = "secret", hint: str | None = None) -> str:
    """The secret a reference names: ``env:NAME``, ``file:PATH`` or ``aws-secretsmanager:ID``.

    `what` names the secret in error messages (``"bearer token"``); `hint` says, when an
    environment variable is unset, what to put in it. Raises `ConfigError` when the secret
    cannot be read.
    """
    scheme, colon, target = reference.partition(":")
    if scheme == "env":
        value = os.environ.get(target, "")
        if not value:
            raise ConfigError(
                f"{what}: environment variable {target} is not set; "
                f"export {target}=...{f' ({hint})' if hint else ''}"
            )
        return value.strip()
    if scheme == "file":
        try:
            return Path(target).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read file {target!r}: {exc}") from exc
    if scheme == "aws-secretsmanager":
        return _aws_secret(target, what)
    # never echo a reference without a scheme: it is most likely the secret itself
    shown = f"{scheme + colon!r}..." if colon else "without a scheme"
    raise ConfigError(
        f"{what} reference {shown} must start with env:, file: or aws-secretsmanager: "
        "(a reference names where the secret is, not the secret)"
    )


def _aws_secret(target: str, what: str) -> str:
    """``SECRET_ID[#json-key]`` read from AWS Secrets Manager (boto3's default credentials)."""
    secret_id, _, key = target.partition("#")
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:
        raise ConfigError(
            "aws-secretsmanager: references need: pip install 'adverse-events[aws]'"
        ) from exc
    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except (BotoCoreError, ClientError) as exc:
        raise ConfigError(f"{what}: cannot read secret {secret_id!r}: {exc}") from exc
    if key:
        try:
            return str(json.loads(value)[key])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{what}: secret {secret_id!r} has no JSON key {key!r}") from exc
    return value.strip()
