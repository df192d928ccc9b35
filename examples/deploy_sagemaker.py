#!/usr/bin/env python3
"""Train the adverse-event classifier on SageMaker, deploy it to an endpoint, smoke-test it.

Needs an AWS account, the SageMaker Python SDK v3 (``pip install 'adverse-events[sagemaker]'``),
this library installed from its source tree, and a SageMaker execution role. It costs money:
see docs/aws.md (costs, quotas, teardown). ``--dry-run`` prints what would be created and
sends nothing; tests/aws/test_deploy_rehearsal.py runs every command against moto.

    python examples/deploy_sagemaker.py train-and-deploy \\
        --role arn:aws:iam::123456789012:role/SageMakerExecution \\
        --data s3://my-bucket/adverse-events/train/ --endpoint-name adverse-events-classifier

    python examples/deploy_sagemaker.py deploy --role ROLE --model-dir path/to/model
    python examples/deploy_sagemaker.py smoke-test --endpoint-name adverse-events-classifier
    python examples/deploy_sagemaker.py delete --endpoint-name adverse-events-classifier

``train-and-deploy`` runs a training job (``ModelTrainer``, SDK v3) on a Hugging Face PyTorch
training image: its entry point is ``adverse_events.aws.sagemaker_entry`` (split, fine-tune,
choose the threshold on validation data, measure on test data), and the model archive it
writes carries ``code/inference.py``, the same handlers the endpoint serves. ``deploy`` serves
a model directory that already exists (``--model-dir``: packed here into such an archive and
uploaded) or an archive in S3 (``--model-data``), with no training job. The model, endpoint
configuration and endpoint are created with ``sagemaker-core`` (the endpoint configuration
through boto3, see `API_SPELLING`): real-time by default, serverless with
``--serverless-memory``, asynchronous with ``--async-output``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from adverse_events.aws.sagemaker_entry import DEFAULTS as ENTRY_DEFAULTS
from adverse_events.aws.sagemaker_entry import write_inference_code

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The hyperparameters of the reference design (passed to the entry point as --name value):
#: the entry point's own defaults, so the two cannot drift apart.
HYPERPARAMETERS: dict[str, Any] = dict(ENTRY_DEFAULTS)

#: Metrics the training job prints as ``name=value;`` (see sagemaker_entry.train).
METRICS = ("test_f1", "test_precision", "test_recall", "test_pr_auc", "validation_f1")

SDK_HINT = "pip install 'adverse-events[sagemaker]' (the SageMaker Python SDK v3)"
BASE_NAME = "adverse-events"
VARIANT = "AllTraffic"
#: Most characters in a model or endpoint configuration name.
NAME_LIMIT = 63
#: The default images hold transformers 5.3 (training) and 5.5 (inference): the library's
#: TransformersClassifier loads models with ``dtype=``, which transformers before 4.56 rejects.
#: Where the serving toolkit finds the handlers (the archive's code/ folder).
SERVING_ENV = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
}

_TRAIN_PY = """\
import sys
from adverse_events.aws.sagemaker_entry import main
sys.exit(main())
"""
SMOKE_TEXTS = [
    "Started lexapro last week and the headaches and nausea are unbearable",
    "Zoloft has really helped my mood, no complaints",
]


#: Help for the hyperparameters (what `adverse_events.aws.sagemaker_entry` does with them).
HYPERPARAMETER_HELP = {
    "model_name": "Hugging Face model id (or path in the training image) to fine-tune.",
    "text_column": "Column of the training files holding the post text.",
    "label_column": "Column of the training files holding the label.",
    "epochs": "Training epochs (the best epoch on validation F1 is kept).",
    "train_batch_size": "Texts per training step.",
    "max_seq_length": "Most tokens per text; longer texts are truncated.",
    "learning_rate": "Peak learning rate (linear warm-up and decay).",
}


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, unless it has none (its help then says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


# -- command line --------------------------------------------------------------------------------
def _serving_options(command: argparse.ArgumentParser) -> None:
    """Options of the model, endpoint configuration and endpoint (train-and-deploy, deploy)."""
    command.add_argument("--role", required=True, help="SageMaker execution role ARN.")
    command.add_argument(
        "--endpoint-name",
        default="adverse-events-classifier",
        help="Name of the endpoint to create.",
    )
    command.add_argument(
        "--endpoint-instance-type",
        default="ml.m5.xlarge",
        help="Instance type of a real-time or asynchronous endpoint.",
    )
    command.add_argument(
        "--inference-transformers-version",
        default="5.5",
        help="Hugging Face inference image: transformers version.",
    )
    command.add_argument(
        "--inference-pytorch-version",
        default="2.6",
        help="Hugging Face inference image: PyTorch version.",
    )
    command.add_argument(
        "--inference-py-version",
        default="py312",
        help="Hugging Face inference image: Python version.",
    )
    command.add_argument(
        "--inference-image",
        default=None,
        help="Serve with this image URI instead (default: the Hugging Face "
        "PyTorch inference image of the versions above).",
    )
    command.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Environment variable of the model container, e.g. "
        "AE_THRESHOLD=0.7 (repeat the option for more).",
    )
    kind = command.add_mutually_exclusive_group()
    kind.add_argument(
        "--serverless-memory",
        type=int,
        default=None,
        metavar="MB",
        help="Deploy a serverless endpoint with this much memory (1024-6144 MB) "
        "instead of an instance.",
    )
    kind.add_argument(
        "--async-output",
        default=None,
        metavar="S3_URI",
        help="Deploy an asynchronous endpoint writing its answers here.",
    )
    command.add_argument(
        "--serverless-max-concurrency",
        type=int,
        default=5,
        help="Serverless endpoint: most concurrent invocations.",
    )
    command.add_argument(
        "--wheel",
        default=None,
        help="This library as a built wheel (default: built from the source tree with pip wheel).",
    )
    command.add_argument(
        "--wait-minutes",
        type=float,
        default=30.0,
        help="How long to wait for the endpoint to be InService.",
    )
    command.add_argument(
        "--dry-run",
        action="store_true",
        help="Build the local artifacts and print the requests; send nothing.",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    formatter = _Defaults
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Run '%(prog)s COMMAND --help' for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train-and-deploy", help="Train, deploy, then smoke-test.", formatter_class=formatter
    )
    train.add_argument(
        "--data",
        required=True,
        help="S3 URI of the training data channel (CSV or JSON Lines files).",
    )
    train.add_argument(
        "--output-path",
        default=None,
        help="S3 URI for model artifacts (default: the session bucket).",
    )
    train.add_argument(
        "--train-instance-type", default="ml.g5.xlarge", help="Instance type of the training job."
    )
    train.add_argument(
        "--transformers-version",
        default="5.3",
        help="Hugging Face training image: transformers version.",
    )
    train.add_argument(
        "--pytorch-version", default="2.9", help="Hugging Face training image: PyTorch version."
    )
    train.add_argument(
        "--py-version", default="py312", help="Hugging Face training image: Python version."
    )
    train.add_argument(
        "--training-image",
        default=None,
        help="Train with this image URI instead (default: the Hugging Face "
        "PyTorch training image of the versions above).",
    )
    train.add_argument(
        "--max-run-hours",
        type=float,
        default=4.0,
        help="Stop the training job after this long (a cost guard).",
    )
    for name, default in HYPERPARAMETERS.items():
        train.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            default=default,
            type=type(default),
            help=HYPERPARAMETER_HELP[name],
        )
    _serving_options(train)

    deploy = sub.add_parser(
        "deploy",
        help="Deploy a model directory or archive, then smoke-test (no training job).",
        formatter_class=formatter,
    )
    source = deploy.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model-dir",
        default=None,
        help="A model directory (written by `adverse-events train` or shipped "
        "with the library): packed with code/ and uploaded.",
    )
    source.add_argument(
        "--model-data",
        default=None,
        help="S3 URI of a model.tar.gz that already carries code/ (a training job's artifact).",
    )
    deploy.add_argument(
        "--upload-to",
        default=None,
        metavar="S3_URI",
        help="Where to upload the packed --model-dir (default: "
        "s3://<session bucket>/adverse-events/models/<endpoint>-<time>/).",
    )
    _serving_options(deploy)

    smoke = sub.add_parser(
        "smoke-test",
        help="Invoke a deployed endpoint and check its answer.",
        formatter_class=formatter,
    )
    smoke.add_argument(
        "--endpoint-name", default="adverse-events-classifier", help="The endpoint to invoke."
    )
    for command in (train, deploy, smoke):
        command.add_argument(
            "--threshold",
            type=float,
            default=0.6,
            help="Smoke test: label a text an adverse event at this score "
            "(SageMakerClassifier's and the Lambda's default).",
        )
        command.add_argument(
            "--timeout-minutes",
            type=float,
            default=10.0,
            help="Smoke test of an asynchronous endpoint: how long to wait for the answer.",
        )

    delete = sub.add_parser(
        "delete", help="Delete the endpoint, its config and model.", formatter_class=formatter
    )
    delete.add_argument(
        "--endpoint-name", default="adverse-events-classifier", help="The endpoint to delete."
    )
    for command in (train, deploy, smoke, delete):
        command.add_argument(
            "--region", default=None, help="AWS region (default: the AWS configuration's)."
        )
    args = parser.parse_args(argv)
    if getattr(args, "serverless_memory", None) is not None and not (
        1024 <= args.serverless_memory <= 6144
    ):
        parser.error("--serverless-memory must be between 1024 and 6144 (MB)")
    return args


# -- the SDK, the region, the images -------------------------------------------------------------
def _sdk() -> Any:
    """The SageMaker Python SDK v3 (``sagemaker.core``), or a clear exit."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("sagemaker")
        import sagemaker.core  # noqa: F401 - v3 only
    except (ImportError, PackageNotFoundError) as exc:
        raise SystemExit(
            f"this script needs the SageMaker Python SDK v3: {SDK_HINT} ({exc})"
        ) from exc
    if int(found.split(".")[0]) < 3:
        raise SystemExit(
            f"this script needs the SageMaker Python SDK v3, found {found}: {SDK_HINT}"
        )
    return sagemaker


def region_of(args: argparse.Namespace) -> str:
    """The region to use: --region, else the AWS configuration's."""
    import boto3

    region = args.region or boto3.session.Session().region_name
    if not region:
        raise SystemExit("no AWS region: pass --region or set AWS_DEFAULT_REGION")
    return str(region)


def image_uri(
    scope: str, region: str, transformers: str, pytorch: str, python: str, instance_type: str
) -> str:
    """The Hugging Face PyTorch image (``training`` or ``inference``) from the SDK's table."""
    _sdk()
    from sagemaker.core import image_uris

    return str(
        image_uris.retrieve(
            "huggingface",
            region,
            version=transformers,
            base_framework_version=f"pytorch{pytorch}",
            py_version=python,
            instance_type=instance_type,
            image_scope=scope,
        )
    )


def serving_image(args: argparse.Namespace, region: str) -> str:
    """--inference-image, or the CPU/GPU inference image of the endpoint's instance type
    (a serverless endpoint runs on CPU)."""
    if args.inference_image:
        return str(args.inference_image)
    instance = "ml.m5.xlarge" if args.serverless_memory else args.endpoint_instance_type
    return image_uri(
        "inference",
        region,
        args.inference_transformers_version,
        args.inference_pytorch_version,
        args.inference_py_version,
        instance,
    )


# -- local artifacts -----------------------------------------------------------------------------
def build_wheel(directory: Path, wheel: str | None = None) -> Path:
    """This library as a wheel in `directory`: `wheel` copied, or built from the source tree."""
    directory.mkdir(parents=True, exist_ok=True)
    if wheel:
        return Path(shutil.copy2(wheel, directory / Path(wheel).name))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(directory),
            str(REPO_ROOT),
        ],
        check=True,
    )
    [built] = directory.glob("adverse_events-*.whl")
    return built


def stage_source(directory: Path, wheel: str | None = None) -> Path:
    """A training source dir: this library as a wheel, train.py, requirements.txt."""
    built = build_wheel(directory, wheel)
    (directory / "train.py").write_text(_TRAIN_PY)
    # The Hugging Face images already hold torch and transformers: add only what they lack
    # (the `train` extra: scikit-learn, matplotlib, pyarrow, ...). The job installs it from
    # the source directory, its working directory.
    (directory / "requirements.txt").write_text(f"./{built.name}[train]\n")
    return directory


def build_model_archive(model_dir: Path, out: Path, wheel: str | None = None) -> Path:
    """``model.tar.gz`` for an endpoint: the model files at its root, ``code/`` beside them.

    ``code/`` (inference.py, requirements.txt naming the wheel by its path on the endpoint,
    the wheel) is written fresh from this library; a ``code/`` folder in `model_dir` is left
    out, and `model_dir` itself is not changed.
    """
    from adverse_events.model_dir import read_model_info

    read_model_info(model_dir)  # a model directory, or a ConfigError saying what is missing
    staging = out.parent / "code-staging"
    wheels = build_wheel(staging / "wheel", wheel).parent
    write_inference_code(staging / "model", wheel_dir=wheels)
    with tarfile.open(out, "w:gz") as archive:
        for path in sorted(model_dir.iterdir()):
            if path.name != "code":
                archive.add(path, arcname=path.name)
        archive.add(staging / "model" / "code", arcname="code")
    return out


def archive_members(path: Path) -> list[str]:
    """The files of an archive, sorted (what the dry run shows)."""
    with tarfile.open(path) as archive:
        return sorted(m.name for m in archive.getmembers() if m.isfile())


def archive_uri(uri: str) -> str:
    """The archive's S3 URI: `uri`, or ``model.tar.gz`` under it when it ends in ``/``."""
    return uri + "model.tar.gz" if uri.endswith("/") else uri


def upload(path: Path, uri: str, region: str) -> str:
    """Upload `path` to the S3 object `uri`; return `uri`."""
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise SystemExit(f"{uri!r} is not an S3 object URI (s3://bucket/key)")
    boto3.session.Session(region_name=region).client("s3").upload_file(str(path), bucket, key)
    return uri


# -- the requests --------------------------------------------------------------------------------
def container_environment(args: argparse.Namespace, region: str) -> dict[str, str]:
    """The model container's environment: the serving toolkit's settings, then --env."""
    env = {**SERVING_ENV, "SAGEMAKER_REGION": region}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"--env {item!r}: expected NAME=VALUE")
        env[name.strip()] = value
    return env


def endpoint_resources(
    args: argparse.Namespace, model_data: str, image: str, region: str, stamp: str
) -> dict[str, dict[str, Any]]:
    """The keyword arguments of ``Model.create``, ``EndpointConfig.create`` and
    ``Endpoint.create`` (sagemaker-core): one model, one variant, one endpoint."""
    _sdk()
    from sagemaker.core.shapes import (
        AsyncInferenceConfig,
        AsyncInferenceOutputConfig,
        ContainerDefinition,
        ProductionVariant,
        ProductionVariantServerlessConfig,
    )

    name = f"{args.endpoint_name[: NAME_LIMIT - len(stamp) - 1]}-{stamp}"
    model = {
        "model_name": name,
        "execution_role_arn": args.role,
        "primary_container": ContainerDefinition(
            image=image, model_data_url=model_data, environment=container_environment(args, region)
        ),
    }
    if args.serverless_memory:
        variant = ProductionVariant(
            variant_name=VARIANT,
            model_name=name,
            serverless_config=ProductionVariantServerlessConfig(
                memory_size_in_mb=args.serverless_memory,
                max_concurrency=args.serverless_max_concurrency,
            ),
        )
    else:
        variant = ProductionVariant(
            variant_name=VARIANT,
            model_name=name,
            initial_instance_count=1,
            instance_type=args.endpoint_instance_type,
        )
    config: dict[str, Any] = {"endpoint_config_name": name, "production_variants": [variant]}
    if args.async_output:
        config["async_inference_config"] = AsyncInferenceConfig(
            output_config=AsyncInferenceOutputConfig(s3_output_path=args.async_output)
        )
    endpoint = {"endpoint_name": args.endpoint_name, "endpoint_config_name": name}
    return {"model": model, "endpoint_config": config, "endpoint": endpoint}


#: API member names sagemaker-core (2.27) misspells when it serializes a shape: its
#: snake_to_pascal turns ``memory_size_in_mb`` into ``MemorySizeInMb``, which botocore rejects.
API_SPELLING = {"MemorySizeInMb": "MemorySizeInMB"}


def _respell(value: Any) -> Any:
    if isinstance(value, dict):
        return {API_SPELLING.get(k, k): _respell(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_respell(v) for v in value]
    return value


def as_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    """sagemaker-core keyword arguments as the API request they become (PascalCase JSON)."""
    from sagemaker.core.utils.utils import serialize, snake_to_pascal

    return _respell(
        {
            snake_to_pascal(key): serialize(value)
            for key, value in kwargs.items()
            if serialize(value) is not None
        }
    )


def trainer_settings(args: argparse.Namespace, region: str, source: Path) -> dict[str, Any]:
    """What the training job is made of (the ModelTrainer's inputs, as plain values)."""
    return {
        "training_image": args.training_image
        or image_uri(
            "training",
            region,
            args.transformers_version,
            args.pytorch_version,
            args.py_version,
            args.train_instance_type,
        ),
        "source_dir": str(source),
        "entry_script": "train.py",
        "requirements": "requirements.txt",
        "hyperparameters": {name: getattr(args, name) for name in HYPERPARAMETERS},
        "role": args.role,
        "instance_type": args.train_instance_type,
        "instance_count": 1,
        "max_runtime_in_seconds": int(args.max_run_hours * 3600),
        "channels": {"train": args.data},
        "output_path": args.output_path,
        "metric_definitions": metric_definitions(),
    }


def metric_definitions() -> list[dict[str, str]]:
    """SageMaker metric definitions: regexes over the training job's log."""
    return [{"Name": n, "Regex": f"{n}=([0-9.]+);"} for n in METRICS]


def _stamp() -> str:
    """A name suffix: UTC time to the second, then 4 random hex digits (names stay unique)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:4]


# -- commands ------------------------------------------------------------------------------------
def _session(region: str) -> Any:
    import boto3
    from sagemaker.core.helper.session_helper import Session

    return Session(boto_session=boto3.session.Session(region_name=region))


def run_training(settings: dict[str, Any], session: Any) -> str:
    """Run the training job (ModelTrainer), wait for it, return its model artifact's S3 URI."""
    from sagemaker.core.shapes import MetricDefinition, StoppingCondition
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, SourceCode
    from sagemaker.train import ModelTrainer

    output = (
        {"output_data_config": OutputDataConfig(s3_output_path=settings["output_path"])}
        if settings["output_path"]
        else {}
    )
    trainer = ModelTrainer(
        sagemaker_session=session,
        role=settings["role"],
        base_job_name=BASE_NAME,
        training_image=settings["training_image"],
        # The staged folder holds only what the job needs: no ignore patterns (with some, the
        # SDK uploads a temporary copy it never cleans up).
        source_code=SourceCode(
            source_dir=settings["source_dir"],
            entry_script=settings["entry_script"],
            requirements=settings["requirements"],
            ignore_patterns=[],
        ),
        compute=Compute(
            instance_type=settings["instance_type"], instance_count=settings["instance_count"]
        ),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=settings["max_runtime_in_seconds"]
        ),
        hyperparameters=settings["hyperparameters"],
        **output,
    ).with_metric_definitions(
        [MetricDefinition(name=d["Name"], regex=d["Regex"]) for d in settings["metric_definitions"]]
    )
    trainer.train(
        input_data_config=[
            InputData(channel_name=name, data_source=uri)
            for name, uri in settings["channels"].items()
        ],
        wait=True,
        logs=True,
    )
    job = trainer._latest_training_job  # the SDK's documented way to reach the job
    return str(job.model_artifacts.s3_model_artifacts)


def create_endpoint(
    resources: dict[str, dict[str, Any]], session: Any, region: str, wait_minutes: float
) -> None:
    """Create the model, endpoint configuration and endpoint; wait until it is InService."""
    from sagemaker.core.resources import Endpoint, Model

    boto = session.boto_session
    Model.create(**resources["model"], session=boto, region=region)
    # EndpointConfig.create would send a serverless variant's memory as MemorySizeInMb (see
    # API_SPELLING): this one request goes through boto3, spelt as the API wants it.
    boto.client("sagemaker", region_name=region).create_endpoint_config(
        **as_request(resources["endpoint_config"])
    )
    endpoint = Endpoint.create(**resources["endpoint"], session=boto, region=region)
    endpoint.wait_for_status("InService", poll=15, timeout=int(wait_minutes * 60))


def _print_plan(plan: dict[str, Any]) -> None:
    print(json.dumps(plan, indent=2, default=str))


def _deployment_plan(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "CreateModel": as_request(resources["model"]),
        "CreateEndpointConfig": as_request(resources["endpoint_config"]),
        "CreateEndpoint": as_request(resources["endpoint"]),
    }


def train_and_deploy(args: argparse.Namespace) -> None:
    _sdk()
    region = region_of(args)
    stamp = _stamp()
    image = serving_image(args, region)
    with tempfile.TemporaryDirectory() as tmp:
        settings = trainer_settings(args, region, stage_source(Path(tmp) / "source", args.wheel))
        if args.dry_run:
            settings["source_dir"] = sorted(p.name for p in Path(settings["source_dir"]).iterdir())
            resources = endpoint_resources(
                args, "<the training job's model artifact>", image, region, stamp
            )
            _print_plan({"TrainingJob": settings, **_deployment_plan(resources)})
            return
        session = _session(region)
        model_data = run_training(settings, session)
    print(f"model artifact: {model_data}")  # for the CDK app's model_data_url
    # The archive's own code/ (inference.py, the wheel, requirements.txt naming it by its path
    # on the endpoint) serves it: nothing is repacked.
    create_endpoint(
        endpoint_resources(args, model_data, image, region, stamp),
        session,
        region,
        args.wait_minutes,
    )
    smoke_test(args)


def deploy(args: argparse.Namespace) -> None:
    _sdk()
    region = region_of(args)
    stamp = _stamp()
    image = serving_image(args, region)
    prefix = f"{BASE_NAME}/models/{args.endpoint_name}-{stamp}/"
    model_data = args.model_data
    with tempfile.TemporaryDirectory() as tmp:
        archive = (
            build_model_archive(Path(args.model_dir), Path(tmp) / "model.tar.gz", args.wheel)
            if args.model_dir
            else None
        )
        if args.dry_run:
            plan: dict[str, Any] = {}
            if archive:
                model_data = archive_uri(args.upload_to or f"s3://<session bucket>/{prefix}")
                plan["ModelArchive"] = {"upload_to": model_data, "files": archive_members(archive)}
            resources = endpoint_resources(args, model_data, image, region, stamp)
            _print_plan({**plan, **_deployment_plan(resources)})
            return
        session = _session(region)
        if archive:
            target = args.upload_to or f"s3://{session.default_bucket()}/{prefix}"
            model_data = upload(archive, archive_uri(target), region)
            print(f"model artifact: {model_data}")
    create_endpoint(
        endpoint_resources(args, model_data, image, region, stamp),
        session,
        region,
        args.wait_minutes,
    )
    smoke_test(args)


def _endpoint_config(client: Any, endpoint_name: str) -> dict[str, Any]:
    name = client.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    return dict(client.describe_endpoint_config(EndpointConfigName=name))


def smoke_test(args: argparse.Namespace) -> None:
    """Classify a batch: one result per text, in order, labelled at --threshold. A real-time
    or serverless endpoint is called through the library's client, an asynchronous one
    through S3."""
    import boto3

    region = getattr(args, "region", None)
    client = boto3.session.Session(region_name=region).client("sagemaker")
    config = _endpoint_config(client, args.endpoint_name)
    if "AsyncInferenceConfig" in config:
        results = _invoke_async(args, config["AsyncInferenceConfig"], region)
    else:
        results = _invoke_realtime(args)
    if len(results) != len(SMOKE_TEXTS):
        raise SystemExit(f"expected {len(SMOKE_TEXTS)} results, got {len(results)}")
    for text, result in zip(SMOKE_TEXTS, results, strict=True):
        print(json.dumps({"text": text, **result}))


def _invoke_realtime(args: argparse.Namespace) -> list[dict[str, Any]]:
    from adverse_events.classifiers.sagemaker import SageMakerClassifier

    with SageMakerClassifier(
        args.endpoint_name, region=args.region, threshold=args.threshold
    ) as classifier:
        predictions = classifier.classify(SMOKE_TEXTS)
    return [{"label": p.label, "score": round(p.score, 4)} for p in predictions]


def _invoke_async(
    args: argparse.Namespace, config: dict[str, Any], region: str | None
) -> list[dict[str, Any]]:
    """Put the texts next to the endpoint's output, invoke, wait for the answer object."""
    import boto3

    session = boto3.session.Session(region_name=region)
    s3 = session.client("s3")
    output = config["OutputConfig"]["S3OutputPath"].rstrip("/")
    bucket, _, prefix = output.removeprefix("s3://").partition("/")
    key = f"{prefix}/smoke-test-input/{uuid.uuid4().hex}.json".lstrip("/")
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(SMOKE_TEXTS).encode("utf-8"),
        ContentType="application/json",
    )
    answer = session.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=args.endpoint_name,
        InputLocation=f"s3://{bucket}/{key}",
        ContentType="application/json",
        Accept="application/json",
    )
    body = _wait_for_object(
        s3, answer["OutputLocation"], answer.get("FailureLocation"), args.timeout_minutes * 60
    )
    results = json.loads(body)
    if not isinstance(results, list) or not all(
        isinstance(r, dict) and 0.0 <= float(r["score"]) <= 1.0 for r in results
    ):
        raise SystemExit(f"the endpoint answered {body[:200]!r}: not a list of results")
    labels = ("not_adverse_event", "adverse_event")  # SageMakerClassifier's
    return [
        {"label": labels[float(r["score"]) >= args.threshold], "score": round(float(r["score"]), 4)}
        for r in results
    ]


def _wait_for_object(s3: Any, uri: str, failure: str | None, timeout: float) -> str:
    """The text of the S3 object at `uri` once it exists; exit if `failure` appears first."""
    from botocore.exceptions import ClientError

    deadline = time.monotonic() + timeout
    while True:
        for location, failed in ((uri, False), (failure, True)):
            if not location:
                continue
            bucket, _, key = location.removeprefix("s3://").partition("/")
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                    raise
                continue
            if failed:
                raise SystemExit(f"the asynchronous invocation failed: {body[:500]}")
            return str(body)
        if time.monotonic() > deadline:
            raise SystemExit(f"no answer at {uri} after {timeout:.0f} s")
        time.sleep(5)


def delete(args: argparse.Namespace) -> None:
    import boto3

    client = boto3.session.Session(region_name=args.region).client("sagemaker")
    config = _endpoint_config(client, args.endpoint_name)
    models = [v["ModelName"] for v in config["ProductionVariants"]]
    client.delete_endpoint(EndpointName=args.endpoint_name)
    client.delete_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
    for model in models:
        client.delete_model(ModelName=model)
    print(
        f"deleted endpoint {args.endpoint_name}, config {config['EndpointConfigName']}, "
        f"models {models}"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    {
        "train-and-deploy": train_and_deploy,
        "deploy": deploy,
        "smoke-test": smoke_test,
        "delete": delete,
    }[args.command](args)


if __name__ == "__main__":
    main()
