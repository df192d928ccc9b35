"""The built-in backend table: role -> registry name -> ("module:Class", extra or None).

Plain data, imported by nothing but `adverse_events.hooks` (which registers it as the
``adverse_events.builtins`` plugin) and `adverse_events.registry` (which re-exports it), so
both can use it without importing each other. Keep each role's names sorted.
"""

from __future__ import annotations

__all__ = ["BUILTIN_BACKENDS"]

#: role -> registry name -> ("module:Class", extra that installs its dependencies, or None).
BUILTIN_BACKENDS: dict[str, dict[str, tuple[str, str | None]]] = {
    "classifier": {
        "default": ("adverse_events.classifiers.default:DefaultClassifier", None),
        "sagemaker": ("adverse_events.classifiers.sagemaker:SageMakerClassifier", "aws"),
        "tfidf": ("adverse_events.classifiers.tfidf:TfidfClassifier", "train"),
        "transformers": ("adverse_events.classifiers.transformers:TransformersClassifier", "torch"),
    },
    "extractor": {
        "comprehend-medical": (
            "adverse_events.extractors.comprehend_medical:ComprehendMedicalExtractor",
            "aws",
        ),
        "lexicon": ("adverse_events.extractors.lexicon:LexiconExtractor", "extract"),
    },
    "sink": {
        "duckdb": ("adverse_events.sinks.duckdb:DuckDBSink", "duckdb"),
        "dynamodb": ("adverse_events.sinks.dynamodb:DynamoDBSink", "aws"),
        "jsonl": ("adverse_events.sinks.jsonl:JsonlSink", None),
        "memory": ("adverse_events.sinks.memory:MemorySink", None),
        "parquet": ("adverse_events.sinks.parquet:ParquetSink", "parquet"),
        "s3": ("adverse_events.sinks.s3:S3Sink", "aws"),
    },
    "source": {
        "csv": ("adverse_events.sources.files:CsvSource", None),
        "dynamodb-stream": ("adverse_events.sources.dynamodb_stream:DynamoDBStreamSource", "aws"),
        "jsonl": ("adverse_events.sources.files:JsonlSource", None),
        "memory": ("adverse_events.sources.memory:MemorySource", None),
        "parquet": ("adverse_events.sources.parquet:ParquetSource", "parquet"),
        "replay": ("adverse_events.sources.replay:ReplaySource", None),
        "twitter": ("adverse_events.sources.x:XSource", "twitter"),  # alias of "x" (old name)
        "x": ("adverse_events.sources.x:XSource", "twitter"),
    },
}
