"""The results bucket: encrypted, private, TLS only, old dead letters and query results expire."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct


class StorageStack(Stack):
    """One S3 bucket for predictions (Parquet, dt= partitions), dead letters, Athena results."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_prefix: str,
        destroy_on_teardown: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.bucket = s3.Bucket(
            self,
            "Results",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(prefix=dead_letter_prefix, expiration=Duration.days(90)),
                s3.LifecycleRule(prefix="athena-results/", expiration=Duration.days(7)),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            removal_policy=RemovalPolicy.DESTROY if destroy_on_teardown else RemovalPolicy.RETAIN,
            auto_delete_objects=destroy_on_teardown,
        )
