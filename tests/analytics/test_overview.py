"""`analytics.overview`: the key numbers `adverse-events report` prints, as rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from adverse_events.analytics.overview import overview
from adverse_events.analytics.signals import signals
from adverse_events.errors import ConfigError

pytestmark = pytest.mark.integration


def test_overview_holds_every_table_of_the_report(synthetic_db: Path) -> None:
    found = overview(synthetic_db, by="icd10", min_cases=3)
    assert found.summary["ae_posts"] > 0
    assert found.pairs and {"drug", "event"} <= set(found.pairs[0])
    assert found.provenance and found.provenance[0]["posts"] > 0
    assert found.dead_letters
    assert [s.to_row() for s in found.signals] == [
        s.to_row() for s in signals(synthetic_db, by="icd10", min_cases=3)
    ]
    assert found.flagged and all(s.stats.any_signal for s in found.flagged)
    assert not overview(synthetic_db, min_cases=100_000).flagged


@pytest.mark.parametrize(
    ("options", "message"),
    [({"by": "snomed"}, "by must be"), ({"drugs": "brand"}, "drugs must be")],
)
def test_bad_options_are_config_errors(synthetic_db: Path, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        overview(synthetic_db, **options)


def test_a_missing_store_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no database"):
        overview(tmp_path / "missing.duckdb")
