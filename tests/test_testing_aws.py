"""adverse_events.testing.aws: the moto server helper."""

from __future__ import annotations

import pytest

pytest.importorskip("moto.server")
pytest.importorskip("boto3")

from adverse_events.testing.aws import MotoServer  # noqa: E402

pytestmark = pytest.mark.integration


def test_the_moto_api_is_reached_past_a_proxy_in_the_environment(monkeypatch):
    # A proxy set for the tests' sake (or the user's own, without NO_PROXY for 127.0.0.1)
    # must not stand between the helper and its local server.
    with MotoServer() as moto:
        moto.client("s3").create_bucket(Bucket="kept-until-reset")
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a closed port
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        moto.queue_sagemaker_results(["[]"])
        moto.queue_sagemaker_async_results(["[]"])
        moto.reset()
        monkeypatch.undo()
        assert moto.client("s3").list_buckets()["Buckets"] == []
