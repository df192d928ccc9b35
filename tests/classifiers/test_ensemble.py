"""`EnsembleClassifier`: mean log-odds of its members, cut at its threshold."""

from __future__ import annotations

import math

import pytest

from adverse_events.classifiers.ensemble import EnsembleClassifier, mean_log_odds
from adverse_events.errors import ConfigError
from adverse_events.testing import ClassifierConformance, MockClassifier

pytestmark = pytest.mark.unit


def _member(score: float) -> MockClassifier:
    return MockClassifier(lambda _: score)


class TestEnsembleConformance(ClassifierConformance):
    @pytest.fixture
    def classifier(self):
        return EnsembleClassifier([MockClassifier(lambda t: 0.9 if "headache" in t else 0.1)] * 2)

    @pytest.fixture
    def texts(self):
        return ["a headache", "a fine day", "another headache"]


def test_mean_log_odds_is_symmetric_and_weighted():
    assert mean_log_odds([0.5]) == pytest.approx(0.5)
    assert mean_log_odds([0.9, 0.1]) == pytest.approx(0.5)
    assert mean_log_odds([0.8, 0.8]) == pytest.approx(0.8)
    z = (3 * math.log(0.9 / 0.1) + math.log(0.2 / 0.8)) / 4
    assert mean_log_odds([0.9, 0.2], [3, 1]) == pytest.approx(1 / (1 + math.exp(-z)))
    assert 0.0 < mean_log_odds([0.0, 0.0]) < 1e-5  # clipped, never infinite


def test_members_vote_and_the_threshold_cuts():
    ensemble = EnsembleClassifier([_member(0.9), _member(0.3)], threshold=0.5)
    [prediction] = ensemble.classify(["x"])
    assert prediction.score == pytest.approx(mean_log_odds([0.9, 0.3]))
    assert prediction.is_adverse_event and prediction.label == "adverse_event"
    assert prediction.probabilities["adverse_event"] == pytest.approx(prediction.score)
    [strict] = EnsembleClassifier([_member(0.9), _member(0.3)], threshold=0.8).classify(["x"])
    assert not strict.is_adverse_event and strict.label == "not_adverse_event"


def test_prediction_names_every_member_model():
    [prediction] = EnsembleClassifier([_member(0.9), _member(0.8)]).classify(["x"])
    assert prediction.model is not None and prediction.model.count("+") == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"members": []}, {"threshold": 1.5}, {"weights": [1.0]}, {"weights": [0.0, 0.0]}],
)
def test_bad_options_name_the_fix(kwargs):
    options = {"members": [_member(0.5), _member(0.5)], **kwargs}
    with pytest.raises(ConfigError):
        EnsembleClassifier(**options)
