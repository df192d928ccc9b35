import pytest

from adverse_events import errors


@pytest.mark.parametrize(
    "cls, parent",
    [
        (errors.ConfigError, errors.AdverseEventsError),
        (errors.PluginError, errors.AdverseEventsError),
        (errors.InputError, errors.AdverseEventsError),
        (errors.BackendError, errors.AdverseEventsError),
        (errors.TransientBackendError, errors.BackendError),
        (errors.PermanentBackendError, errors.BackendError),
    ],
)
def test_tree(cls, parent):
    assert issubclass(cls, parent)


def test_backend_error_names_backend():
    exc = errors.TransientBackendError("throttled", backend="sagemaker")
    assert exc.backend == "sagemaker" and "[sagemaker] throttled" in str(exc)


def test_input_error_keeps_payload():
    exc = errors.InputError("empty text", payload={"x": 1}, post_id="p")
    assert exc.reason == "empty text" and exc.payload == {"x": 1} and exc.post_id == "p"
