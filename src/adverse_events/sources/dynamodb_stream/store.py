"""`DynamoDBPostStore`: posts into the reference design's table, whose stream the source reads.

The table has partition key ``id`` and a stream (view type NEW_IMAGE or NEW_AND_OLD_IMAGES);
each post is one item, in the layout `DynamoDBStreamSource` reads with its default attribute
names. AWS errors go through the one AWS error map (`adverse_events.aws.errors.translate`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from adverse_events.aws.errors import translate
from adverse_events.errors import AdverseEventsError, ConfigError
from adverse_events.protocols import Backend
from adverse_events.records import Post

__all__ = ["DynamoDBPostStore"]


class DynamoDBPostStore(Backend):
    """Writes posts to the reference design's table (partition key ``id``, stream enabled).

    Idempotent: a post is one item keyed by its id, so writing it again leaves one item (and, on
    DynamoDB, an unchanged item produces no new stream record). The item layout is what
    `DynamoDBStreamSource` reads with its default attribute names.
    """

    name = "dynamodb-posts"

    def __init__(
        self,
        table_name: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        create_table: bool = False,
        stream_view_type: str = "NEW_IMAGE",
        id_attribute: str = "id",
    ):
        if not table_name:
            raise ConfigError("dynamodb post store: table_name is required")
        if stream_view_type not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            raise ConfigError(
                "stream_view_type must be NEW_IMAGE or NEW_AND_OLD_IMAGES (the "
                f"stream source reads new images), got {stream_view_type!r}"
            )
        self.table_name, self.region_name, self.endpoint_url = table_name, region_name, endpoint_url
        self.create_table, self.stream_view_type = create_table, stream_view_type
        self.id_attribute = id_attribute
        self._resource: Any = None
        self._ready = False

    def _table(self) -> Any:
        if self._resource is None:
            self._resource = boto3.resource(
                "dynamodb", region_name=self.region_name, endpoint_url=self.endpoint_url
            )
        if not self._ready and self.create_table:
            self.ensure_table()
        self._ready = True
        return self._resource.Table(self.table_name)

    def ensure_table(self) -> str:
        """Create the table (on-demand, stream on) unless it exists; return its stream ARN."""
        if self._resource is None:
            self._resource = boto3.resource(
                "dynamodb", region_name=self.region_name, endpoint_url=self.endpoint_url
            )
        client = self._resource.meta.client
        try:
            client.create_table(
                TableName=self.table_name,
                KeySchema=[{"AttributeName": self.id_attribute, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": self.id_attribute, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={
                    "StreamEnabled": True,
                    "StreamViewType": self.stream_view_type,
                },
            )
            client.get_waiter("table_exists").wait(
                TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise self._error(exc, f"create table {self.table_name}") from exc
        except BotoCoreError as exc:
            raise self._error(exc, f"create table {self.table_name}") from exc
        try:
            table = client.describe_table(TableName=self.table_name)["Table"]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, f"describe table {self.table_name}") from exc
        self._ready = True
        return str(table.get("LatestStreamArn", ""))

    def item(self, post: Post) -> dict[str, Any]:
        """The DynamoDB item of a post (floats become Decimals; empty values are left out)."""
        data = post.model_dump(mode="json", exclude={"post_id"})
        data[self.id_attribute] = post.post_id
        data["drug_mentions"] = list(post.drug_mentions)
        data = {k: v for k, v in data.items() if v not in (None, {}, "")}
        return json.loads(json.dumps(data), parse_float=Decimal)

    def put_posts(self, posts: Iterable[Post]) -> int:
        """Write posts (batched, last one wins per id); returns how many were written."""
        latest = {post.post_id: post for post in posts}
        if not latest:
            return 0
        table = self._table()
        try:
            with table.batch_writer(overwrite_by_pkeys=[self.id_attribute]) as batch:
                for post in latest.values():
                    batch.put_item(Item=self.item(post))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, f"write to {self.table_name}") from exc
        return len(latest)

    def _error(self, exc: Exception, what: str) -> AdverseEventsError:
        """botocore's exceptions -> the library's, through the one AWS error map."""
        return translate(exc, backend=self.name, action=what)

    def close(self) -> None:
        self._resource = None
        self._ready = False

    def __repr__(self) -> str:
        return f"DynamoDBPostStore(table_name={self.table_name!r})"
