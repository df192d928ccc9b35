from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adverse_events.cli import app
from adverse_events.config import parse_config
from adverse_events.errors import ConfigError
from adverse_events.extractors.lexicon import LexiconExtractor, LexiconModel
from adverse_events.pipeline import Pipeline
from adverse_events.registry import get_registry
from adverse_events.testing import ExtractorConformance, MemorySink, MemorySource, MockClassifier
from adverse_events.vocabulary import DrugVocabulary

TEXTS = [
    "Zoloft gave me terrible headaches and I can't sleep.",
    "Lexapro: gained 20 lbs, brain zaps when I miss a dose.",
    "Nothing to report today.",
]


class TestBuiltinConformance(ExtractorConformance):
    @pytest.fixture
    def extractor(self) -> LexiconExtractor:
        return LexiconExtractor(code_icd10=False)

    @pytest.fixture
    def texts(self) -> list[str]:
        return TEXTS


class TestTrainedConformance(ExtractorConformance):
    @pytest.fixture
    def extractor(self, tiny_model: Path) -> LexiconExtractor:
        return LexiconExtractor(model_dir=tiny_model, code_icd10=False)

    @pytest.fixture
    def texts(self) -> list[str]:
        return TEXTS


@pytest.mark.unit
def test_builtin_vocabulary_finds_drugs_misspellings_and_lay_events() -> None:
    [mentions] = LexiconExtractor(code_icd10=False).extract(
        ["Been on Zolft and Wellbutrin, gained 20 lbs and brain zaps, can't sleep"]
    )
    found = {(m.text, m.category) for m in mentions}
    assert {
        ("Zolft", "DRUG"),
        ("Wellbutrin", "DRUG"),
        ("gained 20 lbs", "ADVERSE_EVENT"),
        ("brain zaps", "ADVERSE_EVENT"),
        ("can't sleep", "ADVERSE_EVENT"),
    } <= found


@pytest.mark.unit
def test_elongated_drug_names_in_tweets_are_found_and_resolved() -> None:
    [mentions] = LexiconExtractor(code_icd10=False).extract(["lexaproooo is killing me"])
    [drug] = [m for m in mentions if m.category == "DRUG"]
    assert (drug.text, drug.ingredients) == ("lexaproooo", ("escitalopram",))


@pytest.mark.unit
def test_saved_model_names_add_to_the_user_vocabulary(tiny_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "drugs.json"
    path.write_text(json.dumps({"drugs": [{"generic": "newdrugumab", "brands": ["Zorbiqa"]}]}))
    plain = LexiconModel.load(tiny_model)
    model = LexiconModel.load(tiny_model, DrugVocabulary.load(path))
    assert plain.drug_names == model.drug_names and plain.drug_names
    for name in model.drug_names:  # names from the training spans stay known
        assert model.drugs.lookup(name)
    assert model.drugs.lookup("zorbiqa") == "newdrugumab" and not plain.drugs.lookup("zorbiqa")
    assert model.drugs.lookup("Zoloft") == "sertraline"  # built-in vocabulary still there


@pytest.mark.unit
def test_traits_drop_negated_and_family_by_default_and_flag_on_request() -> None:
    text = "No headaches at all. My mom had nausea on it. Zoloft made me dizzy."
    [kept] = LexiconExtractor(code_icd10=False).extract([text])
    events = [m.text for m in kept if m.category == "ADVERSE_EVENT"]
    assert events == ["dizzy"]
    [flagged] = LexiconExtractor(code_icd10=False, keep_excluded=True).extract([text])
    traits = {m.text: m.traits for m in flagged if m.category == "ADVERSE_EVENT"}
    assert traits == {"headaches": ("NEGATION",), "nausea": ("PERTAINS_TO_FAMILY",), "dizzy": ()}


@pytest.mark.unit
def test_trained_model_tags_unseen_phrasing(tiny_model: Path) -> None:
    extractor = LexiconExtractor(model_dir=tiny_model, code_icd10=False)
    [mentions] = extractor.extract(["Celexa gave me terrible nausea."])
    assert ("Celexa", "DRUG") in {(m.text, m.category) for m in mentions}
    assert any(m.category == "ADVERSE_EVENT" and "nausea" in m.text for m in mentions)
    assert all(0.0 <= m.score <= 1.0 for m in mentions)


@pytest.mark.unit
def test_model_dir_round_trip_is_plain_files(tiny_model: Path, tmp_path: Path) -> None:
    model = LexiconModel.load(tiny_model)
    model.save(tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == [
        "lexicon.json",
        "model.crfsuite",
    ]
    payload = json.loads((tmp_path / "copy" / "lexicon.json").read_text())
    assert payload["format_version"] == 2 and "terrible headaches" in payload["event_phrases"]
    again = LexiconModel.load(tmp_path / "copy")
    assert again.spans(TEXTS[0]) == model.spans(TEXTS[0])


@pytest.mark.unit
def test_icd10_codes_attached_to_events() -> None:
    [mentions] = LexiconExtractor().extract(["Paxil gave me brain zaps and insomnia"])
    codes = {
        m.text: [c.code for c in m.concepts] for m in mentions if m.category == "ADVERSE_EVENT"
    }
    assert codes == {"brain zaps": ["R20.2"], "insomnia": ["G47.00"]}
    [paxil] = [m for m in mentions if m.category == "DRUG"]
    assert paxil.ingredients == ("paroxetine",)  # drugs carry ingredient concepts, not ICD codes
    assert not [c for c in paxil.concepts if c.system == "ICD-10-CM"]


@pytest.mark.unit
def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no model"):
        LexiconExtractor(model_dir=tmp_path / "missing")
    with pytest.raises(ConfigError, match="does not exist"):
        LexiconExtractor(train_data=tmp_path / "nope")
    with pytest.raises(ConfigError, match="not a folder"):
        LexiconExtractor(meddra_path=tmp_path / "nope")


@pytest.mark.unit
def test_trains_on_first_use_from_a_spans_file(tmp_path: Path) -> None:
    spans = tmp_path / "spans.jsonl"
    spans.write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {
                    "text": "Abilify made me restless",
                    "spans": [
                        {"start": 0, "end": 7, "label": "DRUG"},
                        {"start": 16, "end": 24, "label": "ADVERSE_EVENT"},
                    ],
                },
                {
                    "text": "Seroquel made me sleepy",
                    "spans": [
                        {"start": 0, "end": 8, "label": "DRUG"},
                        {"start": 17, "end": 23, "label": "ADVERSE_EVENT"},
                    ],
                },
            ]
            * 5
        )
    )
    extractor = LexiconExtractor(model_dir=tmp_path / "model", train_data=spans, code_icd10=False)
    [mentions] = extractor.extract(["Abilify made me restless"])
    assert {(m.text, m.category) for m in mentions} == {
        ("Abilify", "DRUG"),
        ("restless", "ADVERSE_EVENT"),
    }
    assert (tmp_path / "model" / "model.crfsuite").is_file()
    assert LexiconExtractor(model_dir=tmp_path / "model").model.meta["trained"] is True


@pytest.mark.integration
def test_runs_inside_a_pipeline() -> None:
    sink = MemorySink()
    posts = [
        {"post_id": "1", "text": TEXTS[0]},
        {"post_id": "2", "text": "lovely weather"},
        {"post_id": "3", "text": "No headaches on Prozac, but my mom had nausea."},
    ]
    report = Pipeline(
        MemorySource(posts),
        MockClassifier(lambda t: 0.1 if "weather" in t else 0.9),
        LexiconExtractor(),
        sink,
        progress=False,
    ).run()
    assert report.written == 3 and report.dead_lettered == 0
    record = sink.records["1"]
    assert record.extractor == "lexicon" and record.drugs == ("zoloft",)
    assert record.ae_type in {"headaches", "can't sleep"}
    assert "R51.9" in [c.code for c in record.codes("ICD-10-CM")]
    assert sink.records["3"].ae_type is None and sink.records["3"].drugs == ("prozac",)


@pytest.mark.unit
def test_registered_and_buildable_from_config(tiny_model: Path) -> None:
    assert get_registry().resolve("extractor", "lexicon") is LexiconExtractor
    cfg = parse_config(
        {
            "source": {"type": "memory"},
            "classifier": {"type": "memory"},
            "sink": {"type": "memory"},
            "extractor": {"type": "lexicon", "model_dir": str(tiny_model), "keep_excluded": True},
        }
    )
    from adverse_events.config import build_backend

    built = build_backend("extractor", cfg.extractor)
    assert isinstance(built, LexiconExtractor) and built.keep_excluded


@pytest.mark.integration
def test_cli_train_extractor_on_user_spans(tmp_path: Path) -> None:
    spans = tmp_path / "spans.jsonl"
    row = {
        "text": "Zoloft made me shaky",
        "spans": [{"start": 0, "end": 6, "label": "DRUG"}, {"start": 15, "end": 20, "label": "AE"}],
    }
    spans.write_text("\n".join(json.dumps({**row, "group": str(i)}) for i in range(20)))
    runner, out = CliRunner(), tmp_path / "model"
    result = runner.invoke(
        app, ["train-extractor", "--out", str(out), "--spans", str(spans), "--no-holdout"]
    )
    assert result.exit_code == 0, result.output
    [mentions] = LexiconExtractor(model_dir=out, code_icd10=False).extract(["Zoloft made me shaky"])
    assert {(m.text, m.category) for m in mentions} == {
        ("Zoloft", "DRUG"),
        ("shaky", "ADVERSE_EVENT"),
    }
    result = runner.invoke(
        app,
        ["train-extractor", "--out", str(out), "--corpus", "psytar"],
        env={"ADVERSE_EVENTS_DATA": str(tmp_path)},
    )
    assert result.exit_code == 2 and "PsyTAR files not found" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x", "spans": [{"start": 5, "end": 9, "label": "DRUG"}]}))
    result = runner.invoke(app, ["train-extractor", "--out", str(out), "--spans", str(bad)])
    assert result.exit_code == 2 and "bad span line" in result.output


@pytest.mark.integration
def test_cli_evaluate_extractor_on_user_spans(tmp_path: Path) -> None:
    spans = tmp_path / "spans.jsonl"
    rows = [
        {
            "text": f"Drug{i % 3}x made me shaky",
            "group": str(i),
            "spans": [
                {"start": 0, "end": 6, "label": "DRUG"},
                {"start": 15, "end": 20, "label": "AE"},
            ],
        }
        for i in range(40)
    ]
    spans.write_text("\n".join(json.dumps(r) for r in rows))
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["evaluate-extractor", "--spans", str(spans), "--output", str(report)]
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(report.read_text())["results"][str(spans)]["scores"]
    assert set(scores) == {"ADVERSE_EVENT", "DRUG"}
    assert scores["ADVERSE_EVENT"]["partial"]["f1"] > 0.9


@pytest.mark.unit
def test_dictionary_union_keeps_reliable_phrases_only() -> None:
    from adverse_events.extractors.corpora import SpanExample
    from adverse_events.extractors.lexicon import _PhraseSet, phrase_counts, sure_phrases

    def ex(text: str, *mentions: str) -> SpanExample:
        spans = tuple((text.index(m), text.index(m) + len(m), "ADVERSE_EVENT") for m in mentions)
        return SpanExample(text, spans, "g")

    examples = [
        ex("Terrible nausea all week.", "Terrible nausea"),
        ex("The nausea never stopped.", "nausea"),
        ex("Took it for my depression."),
        ex("My depression got worse.", "depression got worse"),
        ex("Depression runs in my family."),
    ]
    counts = phrase_counts(examples, _PhraseSet(["nausea", "depression", "terrible nausea"]))
    assert counts[("nausea",)] == (1, 1) and counts[("depression",)] == (1, 3)
    sure = sure_phrases(counts, min_hits=1, min_precision=0.5, unseen=["brain zaps", "nausea"])
    assert "nausea" in sure and "terrible nausea" in sure and "brain zaps" in sure
    assert "depression" not in sure  # an event in 1 of 3 occurrences: not reliable


@pytest.mark.unit
def test_spans_without_content_words_or_about_feeling_well_are_not_events() -> None:
    from adverse_events.extractors.lexicon import _plausible_event

    assert _plausible_event(["dry", "mouth"])
    assert not _plausible_event(["could"])
    assert not _plausible_event(["feeling", "ok"])


@pytest.mark.unit
def test_serving_never_imports_training_code(tmp_path: Path) -> None:
    """The registry entry loads the package, the shipped model decodes, and `lexicon.train` stays
    unimported until `train_lexicon` is asked for (it is the old single-module's name too)."""
    from tests.helpers import run_without

    result = run_without(
        set(),
        """
        import sys
        from adverse_events.registry import get_registry
        cls = get_registry().resolve("extractor", "lexicon")
        with cls(model_dir="builtin", code_icd10=False, normalize_drugs=False) as extractor:
            [mentions] = extractor.extract(["Zoloft gave me terrible headaches."])
        served = "adverse_events.extractors.lexicon.train" in sys.modules
        from adverse_events.extractors.lexicon import train_lexicon
        print(cls.__module__, served, train_lexicon.__module__, len(mentions) > 0)
        """,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "adverse_events.extractors.lexicon.extractor",
        "False",
        "adverse_events.extractors.lexicon.train",
        "True",
    ]
