"""Code mentions to MedDRA (LLT -> PT -> primary SOC) from a user's licensed ASCII release.

MedDRA cannot be shipped: point ``meddra_path`` at the ``MedAscii`` folder of your release.
Files read (``$``-separated fields, each line ending with ``$``; layouts from the MedDRA
Distribution File Format Document):

* ``llt.asc``: llt_code $ llt_name $ pt_code $ llt_whoart_code $ llt_harts_code $
  llt_costart_sym $ llt_icd9_code $ llt_icd9cm_code $ llt_icd10_code $ llt_currency $ llt_jart_code
* ``pt.asc``: pt_code $ pt_name $ null_field $ pt_soc_code $ ... (primary SOC in field 4)
* ``mdhier.asc``: pt_code $ hlt_code $ hlgt_code $ soc_code $ pt_name $ hlt_name $ hlgt_name $
  soc_name $ soc_abbrev $ null_field $ pt_soc_code $ primary_soc_fg
* ``soc.asc``: soc_code $ soc_name $ soc_abbrev $ ...; ``hlt.asc``, ``hlgt.asc`` likewise
  (code $ name $ ...); ``hlt_pt.asc``, ``hlgt_hlt.asc``, ``soc_hlgt.asc``: parent $ child.

A mention is matched to a *current* LLT (llt_currency = Y) by its normalised text, else by the
medical term of a lay synonym ("can't sleep" -> "Insomnia"), else fuzzily (rapidfuzz WRatio
>= ``min_ratio``). The result is three `Concept`s: MedDRA-LLT, MedDRA-PT and MedDRA-SOC (the
PT's primary SOC). Without a release nothing is coded: codes are never guessed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from adverse_events.coding.lay_patterns import match_lay_pattern
from adverse_events.coding.lay_terms import LAY_TERMS
from adverse_events.errors import ConfigError
from adverse_events.records import Concept
from adverse_events.text.tokens import normalize

__all__ = ["MedDRACoder", "MedDRARelease", "load_release"]

REQUIRED = ("llt.asc", "pt.asc", "soc.asc", "mdhier.asc")
OPTIONAL = ("hlt.asc", "hlgt.asc", "hlt_pt.asc", "hlgt_hlt.asc", "soc_hlgt.asc")


@dataclass(frozen=True)
class MedDRARelease:
    """The parts of a MedDRA release the coder needs."""

    llt: dict[str, tuple[str, str, bool]]  # llt_code -> (name, pt_code, current)
    pt: dict[str, tuple[str, str]]  # pt_code -> (name, primary soc_code)
    soc: dict[str, str]  # soc_code -> name
    hlt: dict[str, str]
    hlgt: dict[str, str]
    hierarchy: dict[str, list[tuple[str, str, str, bool]]]  # pt -> [(hlt, hlgt, soc, primary)]

    def primary_soc(self, pt_code: str) -> str | None:
        for _, _, soc, primary in self.hierarchy.get(pt_code, []):
            if primary:
                return soc
        return self.pt.get(pt_code, ("", ""))[1] or None


def _rows(path: Path) -> list[list[str]]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ConfigError(f"MedDRA: cannot read {path}: {exc}") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("$")
        if len(fields) < 2 or not fields[0].strip().isdigit():
            raise ConfigError(f"MedDRA: {path.name}:{number} is not a `$`-separated MedDRA row")
        rows.append([f.strip() for f in fields])
    return rows


def _field(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def load_release(path: str | os.PathLike[str]) -> MedDRARelease:
    """Read a MedDRA ASCII release folder (the ``MedAscii`` folder of the distribution)."""
    folder = Path(path)
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise ConfigError(
            f"MedDRA release at {str(folder)!r} lacks {missing}; point meddra_path "
            "at the MedAscii folder of your licensed release"
        )
    llt = {
        r[0]: (r[1], _field(r, 2), _field(r, 9).upper() != "N") for r in _rows(folder / "llt.asc")
    }
    pt = {r[0]: (r[1], _field(r, 3)) for r in _rows(folder / "pt.asc")}
    soc = {r[0]: r[1] for r in _rows(folder / "soc.asc")}
    names = {
        n: (
            {r[0]: r[1] for r in _rows(folder / f"{n}.asc")}
            if (folder / f"{n}.asc").is_file()
            else {}
        )
        for n in ("hlt", "hlgt")
    }
    hierarchy: dict[str, list[tuple[str, str, str, bool]]] = {}
    for r in _rows(folder / "mdhier.asc"):
        hierarchy.setdefault(r[0], []).append(
            (_field(r, 1), _field(r, 2), _field(r, 3), _field(r, 11).upper() == "Y")
        )
    return MedDRARelease(llt, pt, soc, names["hlt"], names["hlgt"], hierarchy)


class MedDRACoder:
    """MedDRA-LLT, MedDRA-PT and MedDRA-SOC concepts for a mention's text."""

    def __init__(self, path: str | os.PathLike[str], min_ratio: float = 90.0):
        self.path = Path(path)
        self.min_ratio = min_ratio
        self._release: MedDRARelease | None = None
        self._by_name: dict[str, str] = {}
        self._cached = lru_cache(maxsize=50_000)(self._code_normalized)

    @property
    def release(self) -> MedDRARelease:
        if self._release is None:
            self._release = load_release(self.path)
            for code, (name, _, current) in sorted(self._release.llt.items()):
                if current:
                    self._by_name.setdefault(normalize(name), code)
        return self._release

    def code(self, text: str) -> list[Concept]:
        return list(self._cached(normalize(text)))

    def _code_normalized(self, key: str) -> tuple[Concept, ...]:
        release = self.release
        llt_code, score = self._by_name.get(key), 1.0
        if llt_code is None and key in LAY_TERMS:
            llt_code, score = self._by_name.get(normalize(LAY_TERMS[key][0])), 0.95
        if llt_code is None and (pattern := match_lay_pattern(key)) is not None:
            llt_code, score = self._by_name.get(normalize(pattern.term)), 0.9
        if llt_code is None and self._by_name:
            from rapidfuzz import fuzz, process

            best = process.extractOne(key, list(self._by_name), scorer=fuzz.WRatio)
            if best is not None and best[1] >= self.min_ratio:
                llt_code, score = self._by_name[best[0]], round(best[1] / 100.0, 4)
        if llt_code is None:
            return ()
        llt_name, pt_code, _ = release.llt[llt_code]
        concepts = [Concept(system="MedDRA-LLT", code=llt_code, description=llt_name, score=score)]
        if pt_code in release.pt:
            concepts.append(
                Concept(
                    system="MedDRA-PT",
                    code=pt_code,
                    description=release.pt[pt_code][0],
                    score=score,
                )
            )
            soc = release.primary_soc(pt_code)
            if soc and soc in release.soc:
                concepts.append(
                    Concept(
                        system="MedDRA-SOC", code=soc, description=release.soc[soc], score=score
                    )
                )
        return tuple(concepts)
