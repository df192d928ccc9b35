"""The AWS deployment path: the SageMaker entry point, the Lambda handler, Athena DDL.

Modules here import boto3 / torch lazily, so ``import adverse_events.aws`` costs nothing.
"""
