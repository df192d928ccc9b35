"""MedDRA coding against a small synthetic release written in the ASCII format."""

from __future__ import annotations

from pathlib import Path

import pytest

from adverse_events.coding.meddra import MedDRACoder, load_release
from adverse_events.errors import ConfigError
from adverse_events.extractors.lexicon import LexiconExtractor

# Synthetic codes and names (not MedDRA content), laid out as the distribution files are.
FILES = {
    "soc.asc": [
        "90000001$Nervous system disorders$Nerv$$$$$$$$",
        "90000002$Psychiatric disorders$Psych$$$$$$$$",
    ],
    "hlgt.asc": ["91000001$Headaches$$$$$$$$", "91000002$Sleep disorders$$$$$$$$"],
    "hlt.asc": ["92000001$Headaches NEC$$$$$$$$", "92000002$Insomnia disorders$$$$$$$$"],
    "pt.asc": ["93000001$Headache$$90000001$$$$$$$$", "93000002$Insomnia$$90000002$$$$$$$$"],
    "llt.asc": [
        "94000001$Headache$93000001$$$$$$$Y$$",
        "94000002$Head pain$93000001$$$$$$$Y$$",
        "94000003$Cephalgia old$93000001$$$$$$$N$$",
        "94000004$Insomnia$93000002$$$$$$$Y$$",
        "94000005$Sleeplessness$93000002$$$$$$$Y$$",
    ],
    "hlt_pt.asc": ["92000001$93000001$", "92000002$93000002$"],
    "hlgt_hlt.asc": ["91000001$92000001$", "91000002$92000002$"],
    "soc_hlgt.asc": ["90000001$91000001$", "90000002$91000002$"],
    "mdhier.asc": [
        "93000001$92000001$91000001$90000001$Headache$Headaches NEC$Headaches$"
        "Nervous system disorders$Nerv$$90000001$Y$",
        "93000002$92000002$91000002$90000002$Insomnia$Insomnia disorders$Sleep disorders$"
        "Psychiatric disorders$Psych$$90000002$Y$",
    ],
}


@pytest.fixture
def release(tmp_path: Path) -> Path:
    for name, lines in FILES.items():
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


@pytest.mark.unit
def test_loads_the_hierarchy(release: Path) -> None:
    data = load_release(release)
    assert data.llt["94000003"] == ("Cephalgia old", "93000001", False)
    assert data.primary_soc("93000002") == "90000002"
    assert data.hlt["92000001"] == "Headaches NEC"


@pytest.mark.unit
def test_codes_llt_pt_soc(release: Path) -> None:
    coder = MedDRACoder(release)
    concepts = {c.system: (c.code, c.description) for c in coder.code("head pain")}
    assert concepts == {
        "MedDRA-LLT": ("94000002", "Head pain"),
        "MedDRA-PT": ("93000001", "Headache"),
        "MedDRA-SOC": ("90000001", "Nervous system disorders"),
    }
    lay = {c.system: c.code for c in coder.code("can't sleep")}  # lay synonym -> "Insomnia"
    assert lay["MedDRA-PT"] == "93000002"
    assert coder.code("cephalgia old") == [] or all(
        c.code != "94000003" for c in coder.code("cephalgia old")
    )  # non-current LLT never chosen
    assert coder.code("broken leg") == []


@pytest.mark.unit
def test_extractor_fills_meddra_only_when_configured(release: Path) -> None:
    text = "Prozac gave me insomnia"
    [with_meddra] = LexiconExtractor(meddra_path=release, code_icd10=False).extract([text])
    [without] = LexiconExtractor(code_icd10=False).extract([text])
    systems = {c.system for m in with_meddra if m.category != "DRUG" for c in m.concepts}
    assert systems == {"MedDRA-LLT", "MedDRA-PT", "MedDRA-SOC"}
    assert not any(m.concepts for m in without if m.category != "DRUG")


@pytest.mark.unit
def test_missing_or_malformed_release_is_a_config_error(release: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lacks"):
        load_release(tmp_path / "nowhere")
    (release / "pt.asc").write_text("not a meddra row\n")
    with pytest.raises(ConfigError, match="pt.asc:1"):
        load_release(release)


@pytest.mark.unit
def test_a_lay_pattern_reaches_the_llt_of_its_term(release: Path) -> None:
    concepts = MedDRACoder(release).code("wasn't able to sleep at all")
    assert [(c.system, c.code) for c in concepts][0] == ("MedDRA-LLT", "94000004")
