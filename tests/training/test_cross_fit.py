"""Cross-fitting: every example scored by a TF-IDF model that did not see its fold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adverse_events.errors import ConfigError
from adverse_events.training.cross_fit import out_of_fold_scores
from adverse_events.training.workflow import load_data

pytestmark = pytest.mark.unit


def test_examples_get_an_out_of_fold_probability(csv_file: Path) -> None:
    data = load_data([csv_file])
    scores = out_of_fold_scores(data, "grouped", 42, 4, {"min_df": 1})
    assert scores is not None and scores.shape == (len(data),)
    covered = scores[~np.isnan(scores)]  # NaN: an example no test fold held
    assert len(covered) >= len(data) // 2 and ((covered >= 0) & (covered <= 1)).all()
    again = out_of_fold_scores(data, "grouped", 42, 4, {"min_df": 1})
    assert again is not None and np.array_equal(scores, again, equal_nan=True)  # seeded


def test_too_few_groups_means_no_cross_fitting(csv_file: Path) -> None:
    data = load_data([csv_file])
    assert out_of_fold_scores(data, "grouped", 42, 50, {}) is None


def test_an_unknown_option_is_a_config_error(csv_file: Path) -> None:
    with pytest.raises(ConfigError, match="unknown TF-IDF option"):
        out_of_fold_scores(load_data([csv_file]), "grouped", 42, 4, {"no_such": 1})
