"""The reference AWS deployment of adverse_events, as CDK v2 stacks."""

from adverse_events_cdk.app_stack import AppStack, AppStackProps
from adverse_events_cdk.storage_stack import StorageStack

__all__ = ["AppStack", "AppStackProps", "StorageStack"]
