"""A module whose import fails like a backend whose optional dependency is not installed."""

import boto3_not_installed_for_tests  # noqa: F401
