import sys

import pytest

import adverse_events
from adverse_events.errors import PluginError


def test_all_is_sorted_and_complete():
    public = {n for n in dir(adverse_events) if not n.startswith("_") and n[0].isupper()}
    assert adverse_events.__all__ == sorted(adverse_events.__all__, key=str)
    assert public <= set(adverse_events.__all__), public - set(adverse_events.__all__)
    for name in adverse_events.__all__:
        assert hasattr(adverse_events, name)


def test_subpackage_exports_resolve():
    from adverse_events import classifiers, extractors, sinks, sources, testing

    for module in (classifiers, extractors, sinks, sources, testing):
        assert list(module.__all__) == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_public_contract_imports():
    from adverse_events import (  # noqa: F401
        AdverseEventRecord,
        Concept,
        DeadLetter,
        Mention,
        Pipeline,
        Post,
        Prediction,
    )
    from adverse_events.classifiers import (  # noqa: F401
        DefaultClassifier,
        TfidfClassifier,
        TransformersClassifier,
    )
    from adverse_events.extractors import LexiconExtractor  # noqa: F401
    from adverse_events.sinks import DuckDBSink  # noqa: F401
    from adverse_events.sources import JsonlSource  # noqa: F401
    from adverse_events.testing import MockClassifier  # noqa: F401


def test_role_packages_pin_their_public_names():
    from adverse_events import classifiers, extractors

    assert classifiers.__all__ == [
        "Classifier",
        "DefaultClassifier",
        "SageMakerClassifier",
        "TfidfClassifier",
        "TransformersClassifier",
    ]
    assert extractors.__all__ == ["ComprehendMedicalExtractor", "Extractor", "LexiconExtractor"]


def test_sources_pin_their_public_names():
    from adverse_events import sources

    assert sources.__all__ == [
        "CsvSource",
        "DynamoDBStreamSource",
        "JsonlSource",
        "MemorySource",
        "ParquetSource",
        "ReplaySource",
        "Source",
        "TwitterSource",
        "XSource",
    ]
    assert sources.TwitterSource is sources.XSource  # the old name, the same class


def test_every_registered_source_is_exported_as_its_class():
    from adverse_events import get_registry, sources
    from adverse_events.registry import BUILTIN_BACKENDS

    exported = {getattr(sources, name) for name in sources.__all__ if name != "Source"}
    built_in = {get_registry().resolve("source", name) for name in BUILTIN_BACKENDS["source"]}
    assert built_in == exported


def test_a_lazy_source_missing_its_extra_names_the_install_hint(monkeypatch) -> None:
    from adverse_events import sources

    package = "adverse_events.sources.dynamodb_stream"
    for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.delitem(sys.modules, module)  # the package and its modules import again
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 -> ModuleNotFoundError
    with pytest.raises(PluginError, match=r"pip install 'adverse-events\[aws\]'"):
        sources.DynamoDBStreamSource  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'NoSuchSource'"):
        sources.NoSuchSource  # noqa: B018
