"""`cdk synth` of examples/aws_cdk: the resources exist and IAM is least privilege."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

CDK_DIR = Path(__file__).resolve().parents[2] / "examples" / "aws_cdk"

if importlib.util.find_spec("aws_cdk") is None:
    pytest.skip(
        "aws_cdk is not importable: pip install 'adverse-events[cdk]'", allow_module_level=True
    )
if shutil.which("node") is None:
    pytest.skip(
        "node is not installed (the CDK needs Node.js to synthesise)", allow_module_level=True
    )

pytestmark = [pytest.mark.integration, pytest.mark.slow]
MODEL = "s3://my-models/adverse-events/model.tar.gz"


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    sys.path.insert(0, str(CDK_DIR))
    try:
        from app import build_app
        from aws_cdk.assertions import Template

        app = build_app(
            {"model_data_url": MODEL, "region": "eu-west-1", "account": "123456789012"},
            outdir=str(tmp_path_factory.mktemp("cdk.out")),
        )
        assembly = app.synth()
        stacks = {
            name: Template.from_stack(app.node.find_child(name))
            for name in ("AdverseEventsStorage", "AdverseEventsApp")
        }
        yield stacks, assembly
    finally:
        sys.path.remove(str(CDK_DIR))
        sys.modules.pop("app", None)


def _resources(template, kind):
    return template.find_resources(kind)


def test_synth_writes_both_stacks(templates):
    _, assembly = templates
    assert {s.stack_name for s in assembly.stacks} == {"AdverseEventsStorage", "AdverseEventsApp"}


def test_bucket_is_private_and_encrypted(templates):
    storage = templates[0]["AdverseEventsStorage"]
    storage.resource_count_is("AWS::S3::Bucket", 1)
    [bucket] = _resources(storage, "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert "BucketEncryption" in props


def test_table_streams_new_and_old_images(templates):
    app = templates[0]["AdverseEventsApp"]
    app.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "KeySchema": [{"AttributeName": "post_id", "KeyType": "HASH"}],
        },
    )


def test_stream_mapping_is_safe(templates):
    app = templates[0]["AdverseEventsApp"]
    [mapping] = _resources(app, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert "OnFailure" in props["DestinationConfig"]
    app.resource_count_is("AWS::SQS::Queue", 1)


def test_lambda_is_configured_from_the_stack(templates):
    app = templates[0]["AdverseEventsApp"]
    functions = [
        f
        for f in _resources(app, "AWS::Lambda::Function").values()
        if "ENDPOINT_NAME" in json.dumps(f)
    ]
    [function] = functions
    env = function["Properties"]["Environment"]["Variables"]
    assert set(env) >= {"ENDPOINT_NAME", "THRESHOLD", "BUCKET", "PREFIX"}
    assert "Ref" in json.dumps(env["BUCKET"]) or "Fn::ImportValue" in json.dumps(env["BUCKET"])
    assert function["Properties"]["PackageType"] == "Image"


def test_sagemaker_model_endpoint_config_and_endpoint(templates):
    app = templates[0]["AdverseEventsApp"]
    for kind in (
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
    ):
        app.resource_count_is(kind, 1)
    [model] = _resources(app, "AWS::SageMaker::Model").values()
    container = model["Properties"]["PrimaryContainer"]
    assert container["ModelDataUrl"] == MODEL
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"


def test_glue_table_projects_dt_partitions(templates):
    app = templates[0]["AdverseEventsApp"]
    app.resource_count_is("AWS::Glue::Database", 1)
    [table] = _resources(app, "AWS::Glue::Table").values()
    table_input = table["Properties"]["TableInput"]
    assert table_input["Parameters"]["projection.enabled"] == "true"
    assert table_input["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    from adverse_events.aws.athena import RECORD_COLUMNS

    columns = table_input["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == list(RECORD_COLUMNS)


def _statements(template):
    for kind in (
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
    ):
        for resource in _resources(template, kind).values():
            props = resource["Properties"]
            documents = [props.get("PolicyDocument")] + [
                p["PolicyDocument"] for p in props.get("Policies", [])
            ]
            for document in filter(None, documents):
                yield from document["Statement"]


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stack", ["AdverseEventsStorage", "AdverseEventsApp"])
def test_least_privilege(templates, stack):
    template = templates[0][stack]
    statements = list(_statements(template))
    assert statements
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action", []))
        resources = _as_list(statement.get("Resource", []))
        assert "*" not in actions, statement
        assert not any(a.endswith(":*") for a in actions if isinstance(a, str)), statement
        if "*" in resources:  # only actions that support no resource scoping
            assert set(actions) <= {
                "ecr:GetAuthorizationToken",
                "cloudwatch:PutMetricData",
                "comprehendmedical:DetectEntitiesV2",
                "comprehendmedical:InferICD10CM",
                "comprehendmedical:InferRxNorm",
                "dynamodb:ListStreams",
            }, statement
    for role in _resources(template, "AWS::IAM::Role").values():
        managed = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
        assert "FullAccess" not in managed


def test_lambda_image_is_built_for_the_functions_architecture(templates):
    # Without a platform, `cdk deploy` on an arm64 machine (Apple silicon) builds an arm64
    # image for an x86_64 function, which then fails to start ("exec format error").
    app = templates[0]["AdverseEventsApp"]
    [function] = [
        f
        for f in _resources(app, "AWS::Lambda::Function").values()
        if f["Properties"].get("PackageType") == "Image"
    ]
    assert function["Properties"].get("Architectures", ["x86_64"]) == ["x86_64"]
    _, assembly = templates
    manifest = json.loads((Path(assembly.directory) / "AdverseEventsApp.assets.json").read_text())
    [image] = manifest["dockerImages"].values()
    assert image["source"].get("platform") == "linux/amd64"


def test_prefix_without_slash_still_locates_the_partitions(tmp_path):
    # The sink writes PREFIX/dt=.../ whether or not PREFIX ends in "/"; the Glue table must
    # look there too, not at PREFIXdt=.../.
    sys.path.insert(0, str(CDK_DIR))
    try:
        from app import build_app
        from aws_cdk.assertions import Template

        app = build_app(
            {
                "model_data_url": MODEL,
                "region": "eu-west-1",
                "account": "123456789012",
                "prefix": "predictions",
            },
            outdir=str(tmp_path),
        )
        app.synth()
        template = Template.from_stack(app.node.find_child("AdverseEventsApp"))
    finally:
        sys.path.remove(str(CDK_DIR))
        sys.modules.pop("app", None)
    [table] = _resources(template, "AWS::Glue::Table").values()
    text = json.dumps(table["Properties"]["TableInput"])
    assert "/predictions/dt=${dt}/" in text and "predictionsdt=" not in text
    location = json.dumps(table["Properties"]["TableInput"]["StorageDescriptor"]["Location"])
    assert location.rstrip('"]}').endswith("/predictions/")


def test_stream_processor_may_only_put_objects_under_its_two_prefixes(templates):
    # bucket.grant_put used to add s3:Abort*, legal hold, retention and tagging: the S3 sink
    # calls PutObject and nothing else.
    app = templates[0]["AdverseEventsApp"]
    prefixes = ("lambda_predictions/*", "lambda_dead_letters/*")
    on_output = [
        s for s in _statements(app) if any(p in json.dumps(s.get("Resource")) for p in prefixes)
    ]
    assert on_output
    for statement in on_output:
        assert _as_list(statement["Action"]) == ["s3:PutObject"], statement
    granted = json.dumps([s["Resource"] for s in on_output])
    assert all(p in granted for p in prefixes)
