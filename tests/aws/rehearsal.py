"""A stand-in AWS for examples/deploy_sagemaker.py: moto in server mode plus what moto lacks.

moto (over HTTP on 127.0.0.1) answers every call the script and the SageMaker SDK make: S3
(the SDK's default bucket, the source and driver channels, the model archive, asynchronous
inputs and answers), STS, SageMaker CreateTrainingJob / DescribeTrainingJob, CreateModel /
DescribeModel, CreateEndpointConfig / DescribeEndpointConfig, CreateEndpoint /
DescribeEndpoint, the deletes, and SageMaker Runtime InvokeEndpoint / InvokeEndpointAsync.

(The SDK creates its STS client with an explicit regional endpoint URL, past
``AWS_ENDPOINT_URL``: the test points that URL at moto.) moto runs no container and has no
policy simulator, so `Rehearsal` records every boto3
call (service, operation, parameters: the requests' shape the tests check) and fills four
gaps:

* **IAM SimulatePrincipalPolicy** (the SDK checks the execution role's permissions before a
  training job): every action asked about is answered ``allowed``. The role itself, and its
  trust policy the SDK also checks, are real moto IAM resources the test creates.

* **SageMaker Describe* answers**: moto answers ``"VpcConfig": {}`` (DescribeModel) and
  ``"DataCaptureConfig": {}`` (DescribeEndpointConfig) where AWS leaves the field out, which
  sagemaker-core rejects; the stand-in drops such empty top-level fields.
* **the training container**: after ``CreateTrainingJob`` it does what the SDK's driver
  script does in the job: downloads the job's channels from moto's S3, runs the entry script
  named in ``sm_drivers/sourcecode.json`` from the ``code`` channel with the hyperparameters as
  ``--name value`` arguments (the SDK's own conversion) and the ``SM_*`` variables, then
  uploads the model directory as ``model.tar.gz`` where moto says the job's artifact is. It
  does not pip-install the requirements: the test's environment already holds the library.
* **the serving container**: before each ``InvokeEndpoint`` / ``InvokeEndpointAsync`` it
  downloads the endpoint's model archive from moto's S3, imports the archive's
  ``code/inference.py``, loads the model with its ``model_fn`` under the model's container
  environment, answers the request body through ``input_fn`` / ``predict_fn`` / ``output_fn``
  and queues that answer in moto, which returns it.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adverse_events.testing.aws import MotoServer

SRC = Path(__file__).resolve().parents[2] / "src"


def s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class Rehearsal:
    """Records the boto3 calls made while installed, and stands in for the containers."""

    def __init__(self, moto: MotoServer, workdir: Path):
        self.moto, self.workdir = moto, workdir
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.training_logs: list[str] = []
        self._quiet = False
        self._served: dict[str, tuple[Any, Any, Path]] = {}

    # -- recording -------------------------------------------------------------------------------
    def install(self, monkeypatch: Any) -> Rehearsal:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        rehearsal = self

        def spy(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            if rehearsal._quiet:
                return original(client, operation, params)
            rehearsal.calls.append((service, operation, _snapshot(params)))
            if (service, operation) == ("iam", "SimulatePrincipalPolicy"):
                return _simulate_allowed(params)
            if service == "sagemaker-runtime":
                with rehearsal._muted():
                    rehearsal._serve(operation, params)
            response = original(client, operation, params)
            if service == "sagemaker" and operation.startswith("Describe"):
                for key in [k for k, v in response.items() if v == {}]:
                    del response[key]  # moto's placeholders; AWS leaves absent fields out
            if (service, operation) == ("sagemaker", "CreateTrainingJob"):
                with rehearsal._muted():
                    rehearsal._run_training_job(params)
            return response

        monkeypatch.setattr(BaseClient, "_make_api_call", spy)
        return self

    @contextmanager
    def _muted(self) -> Any:
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def requests(self, service: str, operation: str) -> list[dict[str, Any]]:
        """The parameters of every recorded `operation` call, in order."""
        return [params for s, op, params in self.calls if (s, op) == (service, operation)]

    def operations(self, service: str) -> list[str]:
        return [op for s, op, _ in self.calls if s == service]

    # -- S3 helpers ------------------------------------------------------------------------------
    def download_prefix(self, uri: str, target: Path) -> Path:
        """Every object under an S3 prefix, into `target` (relative paths kept)."""
        s3 = self.moto.client("s3")
        bucket, prefix = s3_parts(uri)
        target.mkdir(parents=True, exist_ok=True)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                relative = item["Key"][len(prefix) :].lstrip("/") or Path(item["Key"]).name
                path = target / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, item["Key"], str(path))
        return target

    def read_object(self, uri: str) -> bytes:
        bucket, key = s3_parts(uri)
        return bytes(self.moto.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())

    def extract_archive(self, uri: str) -> Path:
        """A model archive from S3, unpacked into its own folder."""
        target = self.workdir / "archives" / hashlib.sha1(uri.encode()).hexdigest()[:12]
        if not target.exists():
            archive = target.with_suffix(".tar.gz")
            archive.parent.mkdir(parents=True, exist_ok=True)
            archive.write_bytes(self.read_object(uri))
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
        return target

    # -- the training container ------------------------------------------------------------------
    def _run_training_job(self, params: dict[str, Any]) -> None:
        from sagemaker.train.container_drivers.common.utils import hyperparameters_to_cli_args

        job = params["TrainingJobName"]
        root = self.workdir / "jobs" / job
        channels = {
            channel["ChannelName"]: self.download_prefix(
                channel["DataSource"]["S3DataSource"]["S3Uri"],
                root / "input" / "data" / channel["ChannelName"],
            )
            for channel in params["InputDataConfig"]
        }
        source = json.loads((channels["sm_drivers"] / "sourcecode.json").read_text())
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "SM_MODEL_DIR": str(root / "model"),
            "SM_OUTPUT_DATA_DIR": str(root / "output"),
            **{f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()},
        }
        args = hyperparameters_to_cli_args(params.get("HyperParameters") or {})
        done = subprocess.run(
            [sys.executable, source["entry_script"], *args],
            cwd=channels["code"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.training_logs.append(done.stdout + done.stderr)
        if done.returncode != 0:
            raise AssertionError(f"the training job's entry script failed:\n{done.stderr}")
        archive = root / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted((root / "model").iterdir()):
                tar.add(path, arcname=path.name)
        artifact = self.moto.client("sagemaker").describe_training_job(TrainingJobName=job)[
            "ModelArtifacts"
        ]["S3ModelArtifacts"]
        bucket, key = s3_parts(artifact)
        self.moto.client("s3").upload_file(str(archive), bucket, key)

    # -- the serving container -------------------------------------------------------------------
    def _endpoint_model(self, endpoint: str) -> tuple[Any, Any, Path]:
        """(handlers module, loaded model, model dir) of what the endpoint serves."""
        sm = self.moto.client("sagemaker")
        config = sm.describe_endpoint_config(
            EndpointConfigName=sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        )
        container = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])[
            "PrimaryContainer"
        ]
        uri = container["ModelDataUrl"]
        if uri not in self._served:
            model_dir = self.extract_archive(uri)
            spec = importlib.util.spec_from_file_location(
                f"inference_{model_dir.name}", model_dir / "code" / "inference.py"
            )
            assert spec is not None and spec.loader is not None
            handlers = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(handlers)
            saved = dict(os.environ)
            os.environ.update(container.get("Environment", {}))
            try:
                model = handlers.model_fn(str(model_dir))
            finally:
                os.environ.clear()
                os.environ.update(saved)
            self._served[uri] = (handlers, model, model_dir)
        return self._served[uri]

    def answer(
        self, endpoint: str, body: bytes | str, content_type: str | None, accept: str | None
    ) -> str:
        handlers, model, _ = self._endpoint_model(endpoint)
        return str(
            handlers.output_fn(
                handlers.predict_fn(handlers.input_fn(body, content_type), model), accept
            )
        )

    def _serve(self, operation: str, params: dict[str, Any]) -> None:
        endpoint = params["EndpointName"]
        if operation == "InvokeEndpoint":
            self.moto.queue_sagemaker_results(
                [
                    self.answer(
                        endpoint, params["Body"], params.get("ContentType"), params.get("Accept")
                    )
                ]
            )
        elif operation == "InvokeEndpointAsync":
            body = self.read_object(params["InputLocation"])
            self.moto.queue_sagemaker_async_results(
                [self.answer(endpoint, body, params.get("ContentType"), params.get("Accept"))]
            )


def _snapshot(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of a call's parameters; file-like bodies become ``"<stream>"``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if hasattr(value, "read"):
            out[key] = "<stream>"
        else:
            try:
                out[key] = copy.deepcopy(value)
            except TypeError:
                out[key] = repr(value)
    return out


def _simulate_allowed(params: dict[str, Any]) -> dict[str, Any]:
    """``iam:SimulatePrincipalPolicy`` (moto has none): every action asked about is allowed."""
    return {
        "IsTruncated": False,
        "EvaluationResults": [
            {"EvalActionName": action, "EvalResourceName": "*", "EvalDecision": "allowed"}
            for action in params["ActionNames"]
        ],
    }
