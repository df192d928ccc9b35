"""The model directory's description file, through its public module `adverse_events.model_dir`."""

from __future__ import annotations

from pathlib import Path

import pytest

from adverse_events import model_dir
from adverse_events.errors import ConfigError

pytestmark = pytest.mark.unit


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    info = model_dir.ModelInfo(
        kind="tfidf",
        labels=["other", "adverse_event"],
        positive_label="adverse_event",
        threshold=0.4,
    )
    file = model_dir.write_model_info(tmp_path / "model", info)
    assert file.name == model_dir.MODEL_INFO_FILE
    again = model_dir.read_model_info(tmp_path / "model")
    assert again.threshold == 0.4 and again.negative_label == "other"


def test_a_folder_without_the_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a model directory"):
        model_dir.read_model_info(tmp_path)
