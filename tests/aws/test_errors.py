"""The one AWS error map: service error code -> transient / permanent / input, with the backend."""

from __future__ import annotations

import pytest

pytest.importorskip("botocore")
from botocore import exceptions as bce  # noqa: E402

from adverse_events.aws.errors import aws_errors, classify, translate  # noqa: E402
from adverse_events.errors import (  # noqa: E402
    ConfigError,
    InputError,
    PermanentBackendError,
    TransientBackendError,
)

pytestmark = pytest.mark.unit


def _client_error(code: str, status: int, **extra: object) -> bce.ClientError:
    response = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **extra,
    }
    return bce.ClientError(response, "Operation")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 400, "transient"),
        ("ProvisionedThroughputExceededException", 400, "transient"),
        ("LimitExceededException", 400, "transient"),  # DynamoDB Streams
        ("TooManyRequestsException", 400, "transient"),  # Comprehend Medical
        ("SomethingNew", 503, "transient"),  # any 5xx
        ("SomethingNew", 429, "transient"),
        ("TextSizeLimitExceededException", 400, "input"),
        ("InvalidEncodingException", 400, "input"),
        ("AccessDeniedException", 403, "permanent"),
        ("ValidationException", 400, "permanent"),
        ("ResourceNotFoundException", 400, "permanent"),
    ],
)
def test_codes_map_to_one_kind(code: str, status: int, kind: str) -> None:
    assert classify(_client_error(code, status)) == kind


@pytest.mark.parametrize(
    ("original", "kind"),
    [(503, "transient"), (429, "transient"), (500, "permanent"), (400, "permanent")],
)
def test_sagemaker_model_errors_follow_the_container_status(original: int, kind: str) -> None:
    error = _client_error("ModelError", 424, OriginalStatusCode=original)
    assert classify(error) == kind


def test_connection_problems_are_transient_and_credentials_permanent() -> None:
    assert classify(bce.EndpointConnectionError(endpoint_url="http://x")) == "transient"
    assert classify(bce.ReadTimeoutError(endpoint_url="http://x")) == "transient"
    error = translate(bce.NoCredentialsError(), backend="s3", action="PutObject")
    assert isinstance(error, PermanentBackendError) and "configure AWS credentials" in str(error)


def test_translate_names_the_backend_and_the_action() -> None:
    error = translate(_client_error("ThrottlingException", 400), backend="sagemaker", action="Go")
    assert isinstance(error, TransientBackendError) and error.backend == "sagemaker"
    assert "Go failed: ThrottlingException" in str(error)
    refused = translate(_client_error("InvalidEncodingException", 400), backend="cm", action="X")
    assert isinstance(refused, InputError) and "[cm]" in str(refused)


def test_aws_errors_translates_foreign_errors_and_passes_the_librarys_through() -> None:
    with pytest.raises(TransientBackendError) as info, aws_errors("dynamodb", "BatchWriteItem"):
        raise _client_error("ThrottlingException", 400)
    assert isinstance(info.value.__cause__, bce.ClientError)
    with pytest.raises(ConfigError), aws_errors("dynamodb", "BatchWriteItem"):
        raise ConfigError("bad option")
