"""The application: posts table + stream -> Lambda -> SageMaker endpoint (+ Comprehend Medical)
-> S3 (Parquet, dt= partitions) -> Glue table (partition projection) -> Athena.

Least privilege throughout: every role gets the actions it calls on the resources it touches;
no ``*FullAccess`` managed policy and no ``Action: *`` on ``Resource: *``. The few actions that
support no resource scoping (Comprehend Medical, ECR auth token) are granted alone, by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from adverse_events.aws.athena import RECORD_COLUMNS, projection_properties

REPO_ROOT = Path(__file__).resolve().parents[3]
#: What the Lambda image build needs from the repository (everything else is excluded).
_IMAGE_EXCLUDE = [
    ".*",
    "*.egg-info",
    "benchmarks",
    "docs",
    "examples/*",
    "!examples/aws_cdk",
    "examples/aws_cdk/cdk.out",
    "tests",
    "site",
    "build",
    "dist",
    "models",
    "out",
]


@dataclass(frozen=True)
class AppStackProps:
    """Deployment choices (from CDK context; see cdk.json and docs/aws.md)."""

    model_data_url: str
    inference_image_uri: str
    endpoint_name: str = "adverse-events-classifier"
    endpoint_instance_type: str = "ml.m5.xlarge"
    threshold: str = "0.6"
    prefix: str = "lambda_predictions/"
    dead_letter_prefix: str = "lambda_dead_letters/"
    extractor: str = "comprehend-medical"
    glue_database: str = "adverse_events"
    glue_table: str = "predictions"
    partitions_from: str = "2024-01-01"
    stream_batch_size: int = 500
    stream_retry_attempts: int = 3


def _s3_object_arn(uri: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"arn:{Aws.PARTITION}:s3:::{bucket}/{key}"


def _key_prefix(prefix: str) -> str:
    """A key prefix as `S3Sink` writes it: no leading ``/``, one trailing ``/`` (or empty)."""
    prefix = prefix.strip().strip("/")
    return f"{prefix}/" if prefix else ""


def _ecr_repository_arn(image_uri: str) -> str:
    """``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`` -> the repository's ARN."""
    host, _, path = image_uri.partition("/")
    account, repository = host.split(".")[0], path.split(":")[0].split("@")[0]
    if not account.isdigit() or not repository:
        raise ValueError(f"inference_image_uri must be an ECR image URI, got {image_uri!r}")
    return f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{account}:repository/{repository}"


class AppStack(Stack):
    """Everything but the bucket (kept in its own stack so data outlives a redeploy)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        props: AppStackProps,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.props = props
        self.table = self._table()
        self.endpoint = self._endpoint()
        self.dead_letter_queue = sqs.Queue(
            self,
            "StreamFailures",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.function = self._function(bucket)
        self._catalog(bucket)
        CfnOutput(self, "TableName", value=self.table.table_name)
        CfnOutput(self, "EndpointName", value=self.endpoint.attr_endpoint_name)
        CfnOutput(self, "FunctionName", value=self.function.function_name)

    # -- posts table and its stream ------------------------------------------------------------
    def _table(self) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            "Posts",
            partition_key=dynamodb.Attribute(name="post_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )

    # -- SageMaker model, endpoint config, endpoint --------------------------------------------
    def _endpoint(self) -> sagemaker.CfnEndpoint:
        props = self.props
        role = iam.Role(
            self,
            "SageMakerExecution",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Hosts the adverse-event classifier endpoint",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[_s3_object_arn(props.model_data_url)]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[_ecr_repository_arn(props.inference_image_uri)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(  # supports no resource scoping
                actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:"
                    "/aws/sagemaker/Endpoints/*"
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(  # metrics: no resource scoping exists
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
            )
        )
        model = sagemaker.CfnModel(
            self,
            "ClassifierModel",
            execution_role_arn=role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=props.inference_image_uri,
                model_data_url=props.model_data_url,
                environment={
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                },
            ),
        )
        model.node.add_dependency(role)
        config = sagemaker.CfnEndpointConfig(
            self,
            "ClassifierEndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name="AllTraffic",
                    model_name=model.attr_model_name,
                    initial_instance_count=1,
                    instance_type=props.endpoint_instance_type,
                    initial_variant_weight=1.0,
                )
            ],
        )
        return sagemaker.CfnEndpoint(
            self,
            "ClassifierEndpoint",
            endpoint_name=props.endpoint_name,
            endpoint_config_name=config.attr_endpoint_config_name,
        )

    def _endpoint_arn(self) -> str:  # SageMaker ARNs hold the name in lower case
        return (
            f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:endpoint/"
            f"{self.props.endpoint_name.lower()}"
        )

    # -- the stream processor --------------------------------------------------------------------
    def _function(self, bucket: s3.IBucket) -> lambda_.Function:
        props = self.props
        log_group = logs.LogGroup(
            self,
            "StreamProcessorLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        fn = lambda_.DockerImageFunction(
            self,
            "StreamProcessor",
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file="examples/aws_cdk/lambda.Dockerfile",
                exclude=_IMAGE_EXCLUDE,
                # the function's architecture, whatever machine runs `cdk deploy`
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=1024,
            timeout=Duration.minutes(5),
            log_group=log_group,
            environment={
                "ENDPOINT_NAME": self.endpoint.attr_endpoint_name,
                "THRESHOLD": props.threshold,
                "BUCKET": bucket.bucket_name,
                "PREFIX": props.prefix,
                "DEAD_LETTER_PREFIX": props.dead_letter_prefix,
                "EXTRACTOR": props.extractor,
            },
        )
        fn.add_event_source(
            sources.DynamoEventSource(
                self.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=props.stream_batch_size,
                max_batching_window=Duration.seconds(30),
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                retry_attempts=props.stream_retry_attempts,
                max_record_age=Duration.days(1),
                on_failure=sources.SqsDlq(self.dead_letter_queue),
            )
        )
        # Least privilege: write only under the two prefixes, call only this endpoint. The S3
        # sink only ever calls PutObject (one object per partition per flush), so that is the
        # one S3 action granted (bucket.grant_put would add Abort*, legal hold, retention and
        # tagging); the bucket is S3-managed encrypted, so no KMS grant is needed.
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[
                    bucket.arn_for_objects(f"{_key_prefix(prefix)}*")
                    for prefix in (props.prefix, props.dead_letter_prefix)
                ],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"], resources=[self._endpoint_arn()]
            )
        )
        if props.extractor == "comprehend-medical":
            fn.add_to_role_policy(
                iam.PolicyStatement(  # supports no resource scoping
                    actions=[
                        "comprehendmedical:DetectEntitiesV2",
                        "comprehendmedical:InferICD10CM",
                        "comprehendmedical:InferRxNorm",
                    ],
                    resources=["*"],
                )
            )
        return fn

    # -- Glue table (partition projection) and an Athena workgroup -------------------------------
    def _catalog(self, bucket: s3.IBucket) -> None:
        props = self.props
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(name=props.glue_database),
        )
        location = f"s3://{bucket.bucket_name}/{_key_prefix(props.prefix)}"
        from datetime import date

        parameters = {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            **projection_properties(location, date.fromisoformat(props.partitions_from)),
        }
        table = glue.CfnTable(
            self,
            "PredictionsTable",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=props.glue_database,
            table_input=glue.CfnTable.TableInputProperty(
                name=props.glue_table,
                table_type="EXTERNAL_TABLE",
                parameters=parameters,
                partition_keys=[glue.CfnTable.ColumnProperty(name="dt", type="string")],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[
                        glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in RECORD_COLUMNS
                    ],
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format=(
                        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
                    ),
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=(
                            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        )
                    ),
                ),
            ),
        )
        table.node.add_dependency(database)
        athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=f"{props.glue_database}-{Aws.STACK_NAME}",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                bytes_scanned_cutoff_per_query=10 * 1024**3,  # a cost guard: 10 GiB a query
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{bucket.bucket_name}/athena-results/"
                ),
            ),
        )
