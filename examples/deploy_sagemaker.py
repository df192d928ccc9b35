#!/usr/bin/env python3
"""Train the adverse-event classifier as a SageMaker job, deploy it to an endpoint, smoke-test it.

Needs an AWS account, the SageMaker Python SDK v2 (``pip install 'sagemaker>=2.200,<3'``: v3
has no ``sagemaker.huggingface`` estimator), this library installed from its source tree, and
a SageMaker execution role. It costs money: see
docs/aws.md (costs, quotas, teardown). Nothing here runs in the test suite.

    python examples/deploy_sagemaker.py train-and-deploy \\
        --role arn:aws:iam::123456789012:role/SageMakerExecution \\
        --data s3://my-bucket/adverse-events/train/ --endpoint-name adverse-events-classifier

    python examples/deploy_sagemaker.py smoke-test --endpoint-name adverse-events-classifier
    python examples/deploy_sagemaker.py delete --endpoint-name adverse-events-classifier

The training data channel holds CSV or JSON Lines files with a text and a label column (see
``--text-column`` / ``--label-column``). Training runs ``adverse_events.aws.sagemaker_entry``
(split, fine-tune, choose the threshold on validation data, measure on test data); the model
archive it produces carries ``code/inference.py``, so the endpoint serves the same handlers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from adverse_events.aws.sagemaker_entry import DEFAULTS as ENTRY_DEFAULTS

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The hyperparameters of the reference design (passed to the entry point as --name value):
#: the entry point's own defaults, so the two cannot drift apart.
HYPERPARAMETERS: dict[str, Any] = dict(ENTRY_DEFAULTS)

#: Metrics the training job prints as ``name=value;`` (see sagemaker_entry.train).
METRICS = ("test_f1", "test_precision", "test_recall", "test_pr_auc", "validation_f1")

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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    formatter = _Defaults
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Run '%(prog)s COMMAND --help' for the options of a command.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    deploy = sub.add_parser("train-and-deploy", help="Train, deploy, then smoke-test.",
                            formatter_class=formatter)
    deploy.add_argument("--role", required=True, help="SageMaker execution role ARN.")
    deploy.add_argument("--data", required=True,
                        help="S3 URI of the training data channel (CSV or JSON Lines files).")
    deploy.add_argument("--endpoint-name", default="adverse-events-classifier",
                        help="Name of the endpoint to create.")
    deploy.add_argument("--output-path", default=None,
                        help="S3 URI for model artifacts (default: the session bucket).")
    deploy.add_argument("--train-instance-type", default="ml.g5.xlarge",
                        help="Instance type of the training job.")
    deploy.add_argument("--endpoint-instance-type", default="ml.m5.xlarge",
                        help="Instance type of the endpoint.")
    deploy.add_argument("--transformers-version", default="4.49",
                        help="Hugging Face images (training and inference): transformers version.")
    deploy.add_argument("--pytorch-version", default="2.5",
                        help="Hugging Face training image: PyTorch version.")
    deploy.add_argument("--py-version", default="py311",
                        help="Hugging Face training image: Python version.")
    deploy.add_argument("--inference-pytorch-version", default="2.6",
                        help="Hugging Face inference image: PyTorch version.")
    deploy.add_argument("--inference-py-version", default="py312",
                        help="Hugging Face inference image: Python version.")
    deploy.add_argument("--max-run-hours", type=float, default=4.0,
                        help="Stop the training job after this long (a cost guard).")
    for name, default in HYPERPARAMETERS.items():
        deploy.add_argument(f"--{name.replace('_', '-')}", dest=name, default=default,
                            type=type(default), help=HYPERPARAMETER_HELP[name])

    smoke = sub.add_parser("smoke-test", help="Invoke a deployed endpoint and check its answer.",
                           formatter_class=formatter)
    smoke.add_argument("--endpoint-name", default="adverse-events-classifier",
                       help="The endpoint to invoke.")

    delete = sub.add_parser("delete", help="Delete the endpoint, its config and model.",
                            formatter_class=formatter)
    delete.add_argument("--endpoint-name", default="adverse-events-classifier",
                        help="The endpoint to delete.")
    for command in (deploy, smoke, delete):
        command.add_argument("--region", default=None,
                             help="AWS region (default: the AWS configuration's).")
    return parser.parse_args(argv)


def metric_definitions() -> list[dict[str, str]]:
    """SageMaker metric definitions: regexes over the training job's log."""
    return [{"Name": n, "Regex": f"{n}=([0-9.]+);"} for n in METRICS]


def stage_source(directory: Path) -> Path:
    """A training source dir for SageMaker: this library as a wheel, train.py, requirements.txt."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(directory), str(REPO_ROOT)], check=True)
    [wheel] = directory.glob("adverse_events-*.whl")
    (directory / "train.py").write_text(_TRAIN_PY)
    # The Hugging Face images already hold torch and transformers: add only what they lack
    # (the `train` extra: scikit-learn, matplotlib, pyarrow, ...).
    (directory / "requirements.txt").write_text(f"./{wheel.name}[train]\n")
    return directory


def _sagemaker_sdk() -> Any:
    """The SageMaker Python SDK v2 module, or a clear exit."""
    try:
        import sagemaker
        from sagemaker.huggingface import HuggingFace  # noqa: F401 - v2 only
    except ImportError as exc:
        raise SystemExit("train-and-deploy needs the SageMaker Python SDK v2: "
                         f"pip install 'sagemaker>=2.200,<3' ({exc})") from exc
    return sagemaker


def train_and_deploy(args: argparse.Namespace) -> None:
    import boto3

    sagemaker = _sagemaker_sdk()
    from sagemaker.huggingface import HuggingFace, HuggingFaceModel

    session = sagemaker.Session(boto3.session.Session(region_name=args.region))
    hyperparameters = {name: getattr(args, name) for name in HYPERPARAMETERS}
    versions = {"transformers_version": args.transformers_version,
                "pytorch_version": args.pytorch_version, "py_version": args.py_version}
    serving = {"transformers_version": args.transformers_version,
               "pytorch_version": args.inference_pytorch_version,
               "py_version": args.inference_py_version}
    with tempfile.TemporaryDirectory() as tmp:
        source = stage_source(Path(tmp))
        estimator = HuggingFace(
            entry_point="train.py", source_dir=str(source), role=args.role,
            instance_type=args.train_instance_type, instance_count=1,
            hyperparameters=hyperparameters, output_path=args.output_path,
            max_run=int(args.max_run_hours * 3600), sagemaker_session=session,
            metric_definitions=metric_definitions(),
            **versions,
        )
        estimator.fit({"train": args.data})
        print(f"model artifact: {estimator.model_data}")  # for the CDK app's model_data_url
        # The archive's own code/ (inference.py, the wheel, requirements.txt naming it by its
        # path on the endpoint) serves it: no repack with the training source, whose relative
        # wheel path pip would read from the serving container's working directory.
        model = HuggingFaceModel(model_data=estimator.model_data, role=args.role,
                                 sagemaker_session=session, **serving)
        model.deploy(initial_instance_count=1, instance_type=args.endpoint_instance_type,
                     endpoint_name=args.endpoint_name)
    smoke_test(args)


def smoke_test(args: argparse.Namespace) -> None:
    """Classify a batch through the library's client: one result per text, in order."""
    from adverse_events.classifiers.sagemaker import SageMakerClassifier

    with SageMakerClassifier(args.endpoint_name, region=args.region) as classifier:
        predictions = classifier.classify(SMOKE_TEXTS)
    if len(predictions) != len(SMOKE_TEXTS):
        raise SystemExit(f"expected {len(SMOKE_TEXTS)} results, got {len(predictions)}")
    for text, prediction in zip(SMOKE_TEXTS, predictions, strict=True):
        print(json.dumps({"text": text, "label": prediction.label,
                          "score": round(prediction.score, 4)}))


def delete(args: argparse.Namespace) -> None:
    import boto3

    client = boto3.client("sagemaker", region_name=args.region)
    config = client.describe_endpoint(EndpointName=args.endpoint_name)["EndpointConfigName"]
    models = [v["ModelName"] for v in client.describe_endpoint_config(
        EndpointConfigName=config)["ProductionVariants"]]
    client.delete_endpoint(EndpointName=args.endpoint_name)
    client.delete_endpoint_config(EndpointConfigName=config)
    for model in models:
        client.delete_model(ModelName=model)
    print(f"deleted endpoint {args.endpoint_name}, config {config}, models {models}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    {"train-and-deploy": train_and_deploy, "smoke-test": smoke_test,
     "delete": delete}[args.command](args)


if __name__ == "__main__":
    main()
