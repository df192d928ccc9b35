"""`DynamoDBStreamSource`: posts from a DynamoDB Stream; `DynamoDBPostStore`: posts into its table.

The reference design writes each incoming post to a DynamoDB table (partition key ``id``, stream
enabled) whose stream triggers the classifier. `DynamoDBPostStore` writes that table;
`DynamoDBStreamSource` reads its stream, two ways:

* ``event=...``: the records of one AWS Lambda invocation (the DynamoDB Streams event shape).
  Each post keeps its record's ``event_id``, ``event_name`` and ``sequence_number`` in
  ``Post.metadata`` (dead letters keep the whole record as their payload), so the Lambda handler
  can report ``batchItemFailures`` by sequence number (see `sequence_number_of`).
* ``stream_arn=...`` or ``table_name=...``: reads the stream through the DynamoDB Streams API
  (shard iterators, parent shards before children) with a checkpoint file, for running outside
  Lambda. ``follow=False`` reads to the current end and stops; ``follow=True`` keeps polling.
  The source is a `CheckpointingSource`: `snapshot()` is the sequence number of the last
  record handed out per shard, and the runner `commit()`s it to `checkpoint_path` only once the
  sinks hold every post before it. A restart after a crash re-reads at most the batch in flight
  (the idempotent sinks store it once) and never skips a record.

INSERT and MODIFY records become posts (from NEW_IMAGE, so the stream view type must be
NEW_IMAGE or NEW_AND_OLD_IMAGES); REMOVE records are skipped. Attribute names are options;
typed attribute values are read with boto3's `TypeDeserializer`. Needs
``pip install 'adverse-events[aws]'``.

One concept per module: `records` (stream records -> posts and dead letters,
`sequence_number_of`), `reader` (the DynamoDB Streams API: shards, iterators, polling with
backoff), `source` (`DynamoDBStreamSource`) and `store` (`DynamoDBPostStore`).
"""

from adverse_events.sources.dynamodb_stream.records import sequence_number_of
from adverse_events.sources.dynamodb_stream.source import DynamoDBStreamSource
from adverse_events.sources.dynamodb_stream.store import DynamoDBPostStore

__all__ = ["DynamoDBPostStore", "DynamoDBStreamSource", "sequence_number_of"]
