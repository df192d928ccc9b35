"""examples/deploy_sagemaker.py imports without the SageMaker SDK and answers --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "deploy_sagemaker.py"
pytestmark = pytest.mark.integration


@pytest.mark.parametrize("args", [["--help"], ["train-and-deploy", "--help"],
                                  ["smoke-test", "--help"], ["delete", "--help"]])
def test_help(args):
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_hyperparameters_become_arguments():
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_sagemaker", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args(["train-and-deploy", "--role", "r", "--data", "s3://b/d",
                              "--epochs", "2", "--learning-rate", "3e-5"])
    assert (args.epochs, args.learning_rate, args.train_batch_size) == (2, 3e-5, 32)
    assert set(module.HYPERPARAMETERS) <= set(vars(args))
    from adverse_events.aws.sagemaker_entry import DEFAULTS

    assert module.HYPERPARAMETERS == DEFAULTS


def test_endpoint_serves_the_archive_code_not_the_training_requirements(monkeypatch, tmp_path):
    # The staged source's requirements.txt names the wheel relative to it (fine for training,
    # which runs pip from the source folder); repacked as the endpoint's code/, pip would read
    # it from the serving container's working directory and the endpoint would not start. The
    # training archive already holds code/ with an absolute wheel path (sagemaker_entry).
    import importlib.util
    import types

    spec = importlib.util.spec_from_file_location("deploy_sagemaker", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made: dict = {}

    class Estimator:
        model_data = "s3://b/model.tar.gz"

        def __init__(self, **kwargs):
            made["estimator"] = kwargs

        def fit(self, channels):
            made["fit"] = channels

    class Model:
        def __init__(self, **kwargs):
            made["model"] = kwargs

        def deploy(self, **kwargs):
            made["deploy"] = kwargs

    huggingface = types.SimpleNamespace(HuggingFace=Estimator, HuggingFaceModel=Model)
    sdk = types.SimpleNamespace(Session=lambda boto_session: "session", huggingface=huggingface)
    monkeypatch.setitem(sys.modules, "sagemaker", sdk)
    monkeypatch.setitem(sys.modules, "sagemaker.huggingface", huggingface)
    monkeypatch.setattr(module, "_sagemaker_sdk", lambda: sdk)
    monkeypatch.setattr(module, "stage_source", lambda directory: directory)
    monkeypatch.setattr(module, "smoke_test", lambda args: None)
    args = module.parse_args(["train-and-deploy", "--role", "r", "--data", "s3://b/d",
                              "--region", "us-east-1"])
    module.train_and_deploy(args)
    assert made["model"]["model_data"] == "s3://b/model.tar.gz"
    assert "source_dir" not in made["model"] and "entry_point" not in made["model"]
    assert made["estimator"]["entry_point"] == "train.py"
