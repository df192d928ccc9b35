import adverse_events


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
        "JsonlSource",
        "MemorySource",
        "Source",
        "TwitterSource",
        "XSource",
    ]
    assert sources.TwitterSource is sources.XSource  # the old name, the same class
