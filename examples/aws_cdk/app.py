#!/usr/bin/env python3
"""The reference deployment: ``cdk synth`` / ``cdk deploy`` from this directory.

Context (``-c key=value`` or cdk.json): ``model_data_url`` (the trained model.tar.gz in S3,
from examples/deploy_sagemaker.py), ``inference_image_uri`` (a Hugging Face PyTorch inference
image for your region), ``endpoint_name``, ``endpoint_instance_type``, ``threshold``,
``prefix``, ``dead_letter_prefix``, ``extractor`` (``comprehend-medical`` or ``none``),
``destroy_on_teardown`` (``true`` lets ``cdk destroy`` delete the bucket and its objects).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adverse_events_cdk import AppStack, AppStackProps, StorageStack  # noqa: E402

#: The Hugging Face PyTorch inference image (CPU) that serves the model: the one
#: examples/deploy_sagemaker.py deploys with (transformers 4.49, PyTorch 2.6). Override per region.
DEFAULT_IMAGE = (
    "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-inference:"
    "2.6.0-transformers4.49.0-cpu-py312-ubuntu22.04"
)
PLACEHOLDER_MODEL = "s3://REPLACE-ME-model-bucket/adverse-events/model.tar.gz"


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """The app with both stacks (tests call this with their own context and outdir)."""
    app = cdk.App(context=context or {}, outdir=outdir)

    def ctx(key: str, default: str) -> str:
        value = app.node.try_get_context(key)
        return default if value is None else str(value)

    region = ctx("region", "") or cdk.Aws.REGION
    env = cdk.Environment(account=ctx("account", "") or None, region=ctx("region", "") or None)
    dead_letter_prefix = ctx("dead_letter_prefix", "lambda_dead_letters/")
    storage = StorageStack(
        app,
        "AdverseEventsStorage",
        env=env,
        dead_letter_prefix=dead_letter_prefix,
        destroy_on_teardown=ctx("destroy_on_teardown", "false") == "true",
    )
    props = AppStackProps(
        model_data_url=ctx("model_data_url", PLACEHOLDER_MODEL),
        inference_image_uri=ctx("inference_image_uri", DEFAULT_IMAGE.format(region=region)),
        endpoint_name=ctx("endpoint_name", "adverse-events-classifier"),
        endpoint_instance_type=ctx("endpoint_instance_type", "ml.m5.xlarge"),
        threshold=ctx("threshold", "0.6"),
        prefix=ctx("prefix", "lambda_predictions/"),
        dead_letter_prefix=dead_letter_prefix,
        extractor=ctx("extractor", "comprehend-medical"),
    )
    AppStack(app, "AdverseEventsApp", env=env, bucket=storage.bucket, props=props)
    return app


if __name__ == "__main__":
    build_app().synth()
