"""examples/deploy_sagemaker.py rehearsed end to end on the SageMaker SDK v3, offline.

Every command runs against moto in server mode on 127.0.0.1, with `tests.aws.rehearsal`
recording each request and standing in for the training and serving containers (its docstring
says which calls moto answers and what the stand-in adds). The tests pin the requests' shape:
images, entry point, hyperparameters, role, instance types, environment, archive layout.
Real AWS is out of reach: fake credentials, the SDK's telemetry opted out, and HTTP(S)
proxies pointing at a closed local port for anything not sent to 127.0.0.1.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")
pytest.importorskip(
    "sagemaker.core",
    reason="the rehearsal needs the SageMaker Python SDK v3: "
    "pip install 'adverse-events[sagemaker]'",
)

from tests.aws.rehearsal import Rehearsal, s3_parts  # noqa: E402

from adverse_events.testing.aws import MotoServer  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # sagemaker-train 1.27 imports its own deprecated shim (sagemaker.train.configs)
    pytest.mark.filterwarnings("ignore:sagemaker.train.configs has been moved:DeprecationWarning"),
]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "deploy_sagemaker.py"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"
DATA = "s3://rehearsal-data/train/"
TRAINING_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:"
    "2.9-transformers5.3.0-gpu-py312-cu130-ubuntu22.04"
)
INFERENCE_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:"
    "2.6-transformers5.5.3-cpu-py312-ubuntu22.04"
)
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
SERVING_ENV = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    "SAGEMAKER_REGION": REGION,
}


def load_script():
    spec = importlib.util.spec_from_file_location("deploy_sagemaker_rehearsed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return load_script()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """This library as a wheel, built offline (no isolated build environment to download)."""
    pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("adverse_events-*.whl")
    return built


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    pytest.importorskip("sklearn")
    from tests.aws.tiny_model import write_tfidf_model

    return write_tfidf_model(tmp_path_factory.mktemp("tfidf-model"))


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    config = tmp_path_factory.mktemp("sagemaker-config") / "config.yaml"
    config.write_text(
        'SchemaVersion: "1.0"\nSageMaker:\n  PythonSDK:\n    Modules:\n'
        "      TelemetryOptOut: true\n"
    )
    with pytest.MonkeyPatch.context() as patch, MotoServer(region=REGION) as server:
        patch.setenv("AWS_ENDPOINT_URL", server.url)
        patch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            patch.setenv(proxy, "http://127.0.0.1:9")  # a closed port: nothing leaves
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        yield server


@pytest.fixture
def aws(moto, tmp_path, monkeypatch):
    """A fresh moto, a recording stand-in, the training data in S3, no telemetry."""
    from sagemaker.core.helper import session_helper
    from sagemaker.core.telemetry import telemetry_logging

    moto.reset()
    # The SDK names the regional STS endpoint explicitly, past AWS_ENDPOINT_URL: point it at moto.
    monkeypatch.setattr(session_helper, "sts_regional_endpoint", lambda region: moto.url)
    sent: list = []
    monkeypatch.setattr(
        telemetry_logging, "_send_telemetry_request", lambda *a, **k: sent.append(a)
    )
    rehearsal = Rehearsal(moto, tmp_path / "aws").install(monkeypatch)
    with rehearsal._muted():
        from adverse_events.testing.tiny_models import synthetic_texts

        bucket, key = s3_parts(DATA)
        moto.client("s3").create_bucket(Bucket=bucket)
        posts = tmp_path / "posts.csv"
        with posts.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(zip(*synthetic_texts(120), strict=True))
        moto.client("s3").upload_file(str(posts), bucket, key + "posts.csv")
        moto.client("iam").create_role(
            RoleName=ROLE.rpartition("/")[2], AssumeRolePolicyDocument=json.dumps(TRUST)
        )
    yield rehearsal
    assert sent == [], "the SageMaker SDK tried to send telemetry"


def smoke_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"text"')]


def check_smoke_test(script, output, model_dir, threshold=0.6):
    """The smoke test printed, per text, the model's own score, labelled at the threshold."""
    from adverse_events.classifiers.tfidf import TfidfClassifier

    with TfidfClassifier(model_dir) as model:
        expected = [p.score for p in model.classify(script.SMOKE_TEXTS)]
    lines = smoke_lines(output)
    assert [line["text"] for line in lines] == script.SMOKE_TEXTS
    assert [line["score"] for line in lines] == [round(score, 4) for score in expected]
    assert [line["label"] for line in lines] == [
        "adverse_event" if score >= threshold else "not_adverse_event" for score in expected
    ]


def check_archive(aws, uri, wheel):
    """The model archive's layout: model files at its root, the handlers in code/."""
    root = aws.extract_archive(uri)
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert {
        "adverse_events.json",
        "code/inference.py",
        "code/requirements.txt",
        f"code/{wheel.name}",
    } <= files
    assert (
        "from adverse_events.aws.sagemaker_entry import input_fn, model_fn, output_fn, "
        "predict_fn" in (root / "code" / "inference.py").read_text()
    )
    requirements = (root / "code" / "requirements.txt").read_text().splitlines()
    assert requirements[0] == f"/opt/ml/model/code/{wheel.name}"
    return root


def check_endpoint_requests(aws, model_data, environment=None):
    """CreateModel / CreateEndpointConfig / CreateEndpoint, as the real-time default makes them."""
    [model] = aws.requests("sagemaker", "CreateModel")
    assert model["ExecutionRoleArn"] == ROLE
    assert model["PrimaryContainer"] == {
        "Image": INFERENCE_IMAGE,
        "ModelDataUrl": model_data,
        "Environment": {**SERVING_ENV, **(environment or {})},
    }
    [config] = aws.requests("sagemaker", "CreateEndpointConfig")
    assert config["EndpointConfigName"] == model["ModelName"]
    assert model["ModelName"].startswith("adverse-events-classifier-")
    [endpoint] = aws.requests("sagemaker", "CreateEndpoint")
    assert endpoint == {
        "EndpointName": "adverse-events-classifier",
        "EndpointConfigName": config["EndpointConfigName"],
    }
    return config


def check_invocations(aws, script):
    """The smoke test sent the texts as one JSON list, in the contract's content types."""
    [call] = aws.requests("sagemaker-runtime", "InvokeEndpoint")
    assert json.loads(call["Body"]) == script.SMOKE_TEXTS
    assert (call["ContentType"], call["Accept"]) == ("application/json", "application/json")


# -- train-and-deploy ----------------------------------------------------------------------------
def test_train_and_deploy_smoke_test_delete(script, aws, wheel, capsys):
    output_path = "s3://rehearsal-artifacts/jobs/"
    aws.moto.client("s3").create_bucket(Bucket="rehearsal-artifacts")
    script.main(
        [
            "train-and-deploy",
            "--role",
            ROLE,
            "--data",
            DATA,
            "--region",
            REGION,
            "--output-path",
            output_path,
            "--model-name",
            "tfidf",
            "--epochs",
            "2",
            "--wheel",
            str(wheel),
            "--env",
            "AE_BATCH_SIZE=16",
            "--wait-minutes",
            "1",
        ]
    )
    out = capsys.readouterr().out

    # The training job: the Hugging Face image, the SDK's driver running train.py, the
    # entry point's hyperparameters as strings, the cost guard, the data channel.
    [job] = aws.requests("sagemaker", "CreateTrainingJob")
    spec = job["AlgorithmSpecification"]
    assert spec["TrainingImage"] == TRAINING_IMAGE
    assert spec["TrainingInputMode"] == "File"
    assert spec["ContainerEntrypoint"] == ["/bin/bash"]
    assert "sm_drivers/sm_train.sh" in " ".join(spec["ContainerArguments"])
    assert spec["MetricDefinitions"] == script.metric_definitions()
    assert job["HyperParameters"] == {
        "model_name": "tfidf",
        "text_column": "text",
        "label_column": "label",
        "epochs": "2",
        "train_batch_size": "32",
        "max_seq_length": "128",
        "learning_rate": "5e-05",
    }
    assert job["RoleArn"] == ROLE
    assert job["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"
    assert job["ResourceConfig"]["InstanceCount"] == 1
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 4 * 3600
    assert job["OutputDataConfig"]["S3OutputPath"] == output_path
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]
    }
    assert set(channels) == {"train", "code", "sm_drivers"} and channels["train"] == DATA
    assert job["TrainingJobName"].startswith("adverse-events-")

    # The source the job ran: the wheel, train.py, requirements installing the wheel's extra.
    code = aws.workdir / "jobs" / job["TrainingJobName"] / "input" / "data" / "code"
    assert sorted(p.name for p in code.iterdir()) == sorted(
        [wheel.name, "requirements.txt", "train.py"]
    )
    assert (code / "requirements.txt").read_text() == f"./{wheel.name}[train]\n"
    drivers = code.parent / "sm_drivers"
    assert json.loads((drivers / "sourcecode.json").read_text())["entry_script"] == "train.py"
    # What the job logged matches the metric definitions (SageMaker scrapes these).
    import re

    for definition in script.metric_definitions():
        assert re.search(definition["Regex"], aws.training_logs[0]), definition["Name"]

    # The endpoint serves the job's own archive (nothing repacked), whose code/ carries the
    # handlers and the wheel the job was given.
    artifact = aws.moto.client("sagemaker").describe_training_job(
        TrainingJobName=job["TrainingJobName"]
    )["ModelArtifacts"]["S3ModelArtifacts"]
    assert f"model artifact: {artifact}" in out
    model_dir = check_archive(aws, artifact, wheel)
    config = check_endpoint_requests(aws, artifact, {"AE_BATCH_SIZE": "16"})
    [variant] = config["ProductionVariants"]
    assert variant == {
        "VariantName": "AllTraffic",
        "ModelName": variant["ModelName"],
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
    }
    check_invocations(aws, script)
    check_smoke_test(script, out, model_dir)

    # What the job left in the SDK's default bucket (the source and driver channels) lies
    # under the job's base name, as the teardown docs say.
    with aws._muted():
        listed = aws.moto.client("s3").list_objects_v2(Bucket=f"sagemaker-{REGION}-{ACCOUNT}")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert keys and all(key.startswith("adverse-events/adverse-events-") for key in keys), keys

    # smoke-test on its own, then delete: the endpoint, its config and its model are gone.
    script.main(["smoke-test", "--region", REGION])
    check_smoke_test(script, capsys.readouterr().out, model_dir)
    script.main(["delete", "--region", REGION])
    assert "deleted endpoint adverse-events-classifier" in capsys.readouterr().out
    sm = aws.moto.client("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []


# -- deploy an existing model directory, without a training job ----------------------------------
def test_deploy_model_dir_serverless(script, aws, wheel, tfidf_model, capsys):
    script.main(
        [
            "deploy",
            "--role",
            ROLE,
            "--model-dir",
            str(tfidf_model),
            "--region",
            REGION,
            "--serverless-memory",
            "2048",
            "--wheel",
            str(wheel),
            "--wait-minutes",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert aws.requests("sagemaker", "CreateTrainingJob") == []
    uploads = aws.requests("s3", "PutObject") + aws.requests("s3", "CreateMultipartUpload")
    [put] = [p for p in uploads if p["Key"].endswith("model.tar.gz")]
    uri = f"s3://{put['Bucket']}/{put['Key']}"
    assert put["Bucket"] == f"sagemaker-{REGION}-{ACCOUNT}"  # the SDK session's bucket
    assert put["Key"].startswith("adverse-events/models/adverse-events-classifier-")
    assert f"model artifact: {uri}" in out
    root = check_archive(aws, uri, wheel)
    shipped = {p.relative_to(tfidf_model).as_posix() for p in tfidf_model.rglob("*") if p.is_file()}
    assert shipped <= {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert not (tfidf_model / "code").exists()  # the model directory itself is left alone
    [variant] = check_endpoint_requests(aws, uri)["ProductionVariants"]
    assert variant == {
        "VariantName": "AllTraffic",
        "ModelName": variant["ModelName"],
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }
    check_invocations(aws, script)
    check_smoke_test(script, out, tfidf_model)


def test_deploy_archive_async(script, aws, wheel, tfidf_model, tmp_path, capsys):
    archive = script.build_model_archive(tfidf_model, tmp_path / "model.tar.gz", str(wheel))
    with aws._muted():
        aws.moto.client("s3").create_bucket(Bucket="rehearsal-models")
        aws.moto.client("s3").upload_file(str(archive), "rehearsal-models", "m/model.tar.gz")
    script.main(
        [
            "deploy",
            "--role",
            ROLE,
            "--model-data",
            "s3://rehearsal-models/m/model.tar.gz",
            "--region",
            REGION,
            "--async-output",
            "s3://rehearsal-models/async/",
            "--wait-minutes",
            "1",
        ]
    )
    out = capsys.readouterr().out
    config = check_endpoint_requests(aws, "s3://rehearsal-models/m/model.tar.gz")
    assert config["AsyncInferenceConfig"] == {
        "OutputConfig": {"S3OutputPath": "s3://rehearsal-models/async/"}
    }
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
    [call] = aws.requests("sagemaker-runtime", "InvokeEndpointAsync")
    bucket, key = s3_parts(call["InputLocation"])
    assert bucket == "rehearsal-models" and key.startswith("async/smoke-test-input/")
    assert json.loads(aws.read_object(call["InputLocation"])) == script.SMOKE_TEXTS
    assert aws.requests("sagemaker-runtime", "InvokeEndpoint") == []
    check_smoke_test(script, out, tfidf_model)


# -- the dry run ---------------------------------------------------------------------------------
def test_dry_run_prints_the_requests_and_sends_nothing(script, aws, wheel, tfidf_model, capsys):
    script.main(
        [
            "deploy",
            "--role",
            ROLE,
            "--model-dir",
            str(tfidf_model),
            "--region",
            REGION,
            "--wheel",
            str(wheel),
            "--dry-run",
            "--env",
            "AE_THRESHOLD=0.7",
        ]
    )
    plan = json.loads(capsys.readouterr().out)
    script.main(
        [
            "train-and-deploy",
            "--role",
            ROLE,
            "--data",
            DATA,
            "--region",
            REGION,
            "--wheel",
            str(wheel),
            "--dry-run",
        ]
    )
    training = json.loads(capsys.readouterr().out)
    assert aws.calls == []  # not one request
    assert plan["ModelArchive"]["upload_to"].startswith(
        "s3://<session bucket>/adverse-events/models/adverse-events-classifier-"
    )
    assert {
        "adverse_events.json",
        "code/inference.py",
        "code/requirements.txt",
        f"code/{wheel.name}",
    } <= set(plan["ModelArchive"]["files"])
    assert plan["CreateModel"]["PrimaryContainer"] == {
        "Image": INFERENCE_IMAGE,
        "ModelDataUrl": plan["ModelArchive"]["upload_to"],
        "Environment": {**SERVING_ENV, "AE_THRESHOLD": "0.7"},
    }
    assert plan["CreateEndpointConfig"]["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
    assert plan["CreateEndpoint"]["EndpointName"] == "adverse-events-classifier"
    job = training["TrainingJob"]
    assert (job["training_image"], job["entry_script"], job["role"]) == (
        TRAINING_IMAGE,
        "train.py",
        ROLE,
    )
    assert job["source_dir"] == sorted([wheel.name, "requirements.txt", "train.py"])
    assert job["hyperparameters"] == script.HYPERPARAMETERS


def test_without_the_v3_sdk_the_script_says_what_to_install(script, monkeypatch):
    from importlib import metadata

    monkeypatch.setattr(metadata, "version", lambda name: "2.257.0")
    with pytest.raises(SystemExit, match=r"SDK v3, found 2\.257\.0.*adverse-events\[sagemaker\]"):
        script.main(
            [
                "deploy",
                "--role",
                ROLE,
                "--model-data",
                "s3://b/m.tar.gz",
                "--region",
                REGION,
                "--dry-run",
            ]
        )


def test_archive_of_a_directory_that_is_not_a_model(script, tmp_path, wheel):
    from adverse_events.errors import ConfigError

    with pytest.raises(ConfigError, match="adverse_events.json"):
        script.build_model_archive(tmp_path, tmp_path / "model.tar.gz", str(wheel))
    assert not (tmp_path / "model.tar.gz").exists()
