"""examples/deploy_sagemaker.py imports without the SageMaker SDK and answers --help.

The script's commands themselves are rehearsed against moto in tests/aws/test_deploy_rehearsal.py
(with the SDK v3 installed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "deploy_sagemaker.py"
pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["train-and-deploy", "--help"],
        ["deploy", "--help"],
        ["smoke-test", "--help"],
        ["delete", "--help"],
    ],
)
def test_help(args):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_hyperparameters_become_arguments():
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_sagemaker", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args(
        [
            "train-and-deploy",
            "--role",
            "r",
            "--data",
            "s3://b/d",
            "--epochs",
            "2",
            "--learning-rate",
            "3e-5",
        ]
    )
    assert (args.epochs, args.learning_rate, args.train_batch_size) == (2, 3e-5, 32)
    assert set(module.HYPERPARAMETERS) <= set(vars(args))
    from adverse_events.aws.sagemaker_entry import DEFAULTS

    assert module.HYPERPARAMETERS == DEFAULTS


def test_without_the_sdk_the_commands_say_what_to_install():
    import importlib.util

    if importlib.util.find_spec("sagemaker") is not None:
        pytest.skip("the SageMaker SDK is installed (tests/aws/test_deploy_rehearsal.py runs)")
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "deploy",
            "--role",
            "r",
            "--model-data",
            "s3://b/model.tar.gz",
            "--region",
            "us-east-1",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "pip install 'adverse-events[sagemaker]'" in result.stderr
