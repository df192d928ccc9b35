"""Loading labelled data: ADE corpus, files, saved Hugging Face datasets, bad rows, combining."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adverse_events.errors import ConfigError
from adverse_events.training import datasets as ds

pytestmark = pytest.mark.unit


def test_ade_corpus_distinct_sentences_grouped_by_pmid(ade_dir: Path) -> None:
    examples, report = ds.load_ade_corpus(ade_dir)
    positives = [e for e in examples if e.label == ds.POSITIVE]
    assert len(positives) == 12  # one per distinct sentence
    assert len(examples) == 24 and report.kept == 24 and not report.rejected
    assert positives[0].group == "pmid:1000" and positives[0].source == "ade_corpus_v2"


def test_ade_corpus_relations_repeat_sentences_like_the_hub_rows(ade_dir: Path) -> None:
    examples, _ = ds.load_ade_corpus(ade_dir, relations=True)
    positives = [e.text for e in examples if e.label == ds.POSITIVE]
    assert len(positives) == 16 and len(set(positives)) == 12


def test_ade_corpus_reports_malformed_lines(ade_dir: Path) -> None:
    with (ade_dir / "ADE-NEG.txt").open("a") as handle:
        handle.write("3000 POS not a negative line\n3001 NEG \n")
    _, report = ds.load_ade_corpus(ade_dir)
    assert report.rejected == {"malformed ADE-NEG.txt line": 1, "empty text": 1}
    assert "rejected: 1 malformed" in str(report) or "1 empty text" in str(report)


def test_missing_ade_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "DRUG-AE.rel").write_text("1|x|a|0|1|d|0|1\n")
    with pytest.raises(ConfigError, match="ADE-NEG.txt is missing"):
        ds.load_ade_corpus(tmp_path)


@pytest.mark.parametrize("fixture", ["csv_file", "jsonl_file"])
def test_files_map_columns_and_groups(fixture: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(fixture)
    examples, report = ds.load(path)
    assert report.kept == 24
    assert {e.label for e in examples} == {ds.POSITIVE, ds.NEGATIVE}
    assert examples[0].group == "p0"  # post_id found by group_column="auto"
    assert examples[0].source == "posts"


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"body": "I got a rash", "ae": True}, {"body": "fine", "ae": False}]),
        path,
    )
    examples, _ = ds.load(path, text_column="body", label_column="ae")
    assert [e.label for e in examples] == [ds.POSITIVE, ds.NEGATIVE]


def test_bad_rows_are_counted_not_silently_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [
        {"text": "a rash", "label": 1},
        {"text": "  ", "label": 0},
        {"text": "ok", "label": "maybe"},
        {"text": "ok too"},
        {"text": "fine", "label": 0},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    examples, report = ds.load(path)
    assert len(examples) == 2 and report.read == 5
    assert report.rejected == {"empty text": 1, "unknown label": 1, "missing label": 1}
    assert report.samples["unknown label"][0].startswith("{'text': 'ok'")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        ds.load(tmp_path / "sub" / "posts.csv")


def test_missing_column_names_the_columns(csv_file: Path) -> None:
    with pytest.raises(ConfigError, match="columns are"):
        ds.load(csv_file, text_column="body")


def test_multiclass_with_label_names_and_positive_label(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text("text,kind\nrash,ADR\nworks,EF\nno effect,INF\nwho knows,XX\n")
    label_map = ds.LabelMap(names={"ADR": "adverse_event", "EF": "effective", "INF": "ineffective"})
    part = ds.load(path, label_column="kind", label_map=label_map)
    data = ds.combine([part], label_map=label_map)
    assert data.labels == ["adverse_event", "effective", "ineffective"]
    assert data.binary == [1, 0, 0] and data.y == [0, 1, 2]
    assert data.reports[0].rejected == {"unknown label": 1}


def test_allowed_labels_need_a_positive_label(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text("text,kind\nrash,ADR\nworks,EF\n")
    label_map = ds.LabelMap(allowed=["ADR", "EF"])
    part = ds.load(path, label_column="kind", label_map=label_map)
    with pytest.raises(ConfigError, match="which label is the adverse event"):
        ds.combine([part], label_map=label_map)
    assert ds.combine([part], label_map=label_map, positive_label="ADR").binary == [1, 0]


def test_combine_several_sources(ade_dir: Path, csv_file: Path) -> None:
    data = ds.combine([ds.load(ade_dir), ds.load(csv_file)])
    assert len(data) == 48 and set(data.describe()["by_source"]) == {"ade_corpus_v2", "posts"}


def test_nothing_usable_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n,1\n")
    with pytest.raises(ConfigError, match="no usable examples"):
        ds.combine([ds.load(path)])


def test_hub_loader_reads_a_saved_dataset_with_class_labels(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["Not-Related", "Related"]),
        }
    )
    saved = datasets.Dataset.from_dict(
        {"text": ["Drug X induced hepatitis.", "Drug X was given.", ""], "label": [1, 0, 0]},
        features=features,
    )
    saved.save_to_disk(str(tmp_path / "ade_hf"))
    examples, report = ds.load(tmp_path / "ade_hf")
    assert [e.label for e in examples] == [ds.POSITIVE, ds.NEGATIVE]
    assert report.rejected == {"empty text": 1}
    assert examples[0].group.startswith("text:")  # no document id: each text its own group


def test_hub_loader_accepts_a_dataset_dict_and_split(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    train = datasets.Dataset.from_dict({"sentence": ["a rash", "fine"], "y": [1, 0]})
    datasets.DatasetDict({"train": train}).save_to_disk(str(tmp_path / "dd"))
    examples, _ = ds.load_hub(str(tmp_path / "dd"), text_column="sentence", label_column="y")
    assert len(examples) == 2
    with pytest.raises(ConfigError, match="no split 'test'"):
        ds.load_hub(str(tmp_path / "dd"), split="test", text_column="sentence")


def test_hub_loader_reads_local_data_files(tmp_path: Path, csv_file: Path) -> None:
    pytest.importorskip("datasets")
    examples, _ = ds.load_hub("csv", split="train", data_files=str(csv_file))
    assert len(examples) == 24 and examples[0].group == "p0"


def test_unreachable_hub_dataset_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = pytest.importorskip("datasets")

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(ConfigError, match="cannot load dataset.*no network"):
        ds.load("hf:surely-not/a-dataset-here")
