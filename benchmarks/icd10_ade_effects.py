"""ICD-10-CM coding of text the coder was never tuned on: the ADE corpus's adverse-effect spans.

`icd10_coding.py` measures the coder on PsyTAR mentions, the text its lay synonyms and lay
patterns were written from. This script codes the 2,984 distinct adverse-effect spans of the
ADE corpus (``DRUG-AE.rel``: PubMed case reports, clinical language, no gold codes), which no
part of the coder was written from, and reports coverage. Precision comes from a seeded sample
of coded (span, code) pairs checked by hand: ``--sample N --round NAME`` adds N pairs of
spans not checked before to ``icd10_ade_effects_checked.csv`` with empty verdicts (fill them
in); later runs read the verdicts back and report each round's precision as drawn. Round
``first`` was drawn before any change made because of it; its wrong codes led to fixes, so
round ``after fixes`` was drawn from the fixed coder, from spans nobody had looked at.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/icd10_ade_effects.py --sample 80 \\
        --round "after fixes"
    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/icd10_ade_effects.py
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_common import RESULTS, cpus, data_dir, read_csv, write_json  # benchmarks/ is sys.path[0]

from adverse_events.coding.icd10cm import ICD10CMCoder
from adverse_events.extractors.corpora import load_ade

CHECKED = RESULTS / "icd10_ade_effects_checked.csv"
FIELDS = ("round", "span", "code", "title", "verdict", "reason")


def effect_spans(root: Path) -> list[str]:
    """Distinct adverse-effect spans (lower case), in the corpus loader's order."""
    return list(
        dict.fromkeys(
            ex.text[start:end].strip().lower()
            for ex in load_ade(root)
            for start, end, category in ex.spans
            if category == "ADVERSE_EVENT"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="draw this many pairs to check")
    parser.add_argument("--round", default="first", help="the sample's name in the file")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    spans = effect_spans(data_dir())
    coder = ICD10CMCoder()
    started = time.perf_counter()
    coded = {s: c[0] for s in spans if (c := coder.code(s))}
    seconds = time.perf_counter() - started
    if args.sample:
        rows = read_csv(CHECKED)
        done = {r["span"] for r in rows}
        pool = sorted(s for s in coded if s not in done)
        for span in random.Random(args.seed).sample(pool, min(args.sample, len(pool))):
            c = coded[span]
            rows.append({"round": args.round, "span": span, "code": c.code, "title": c.description})
        with CHECKED.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS, restval="")
            writer.writeheader()
            writer.writerows(rows)
    checked = [r for r in read_csv(CHECKED) if r["verdict"]]
    rounds = {
        name: [r for r in checked if r["round"] == name]
        for name in dict.fromkeys(r["round"] for r in checked)
    }
    current = [r for r in checked if r["span"] in coded and coded[r["span"]].code == r["code"]]
    report: dict[str, Any] = {
        "benchmark": "icd10_ade_effects",
        "data": "ade_corpus_v2/DRUG-AE.rel adverse-effect spans (distinct, lower case)",
        "coder": repr(coder),
        "cpu_count": cpus(),
        "seconds": round(seconds, 2),
        "spans": len(spans),
        "coded": len(coded),
        "coverage": round(len(coded) / len(spans), 4),
        "checked_pairs": len(checked),
        "precision_as_drawn": {
            name: {
                "pairs": len(part),
                "correct": sum(r["verdict"] == "correct" for r in part),
                "precision": round(sum(r["verdict"] == "correct" for r in part) / len(part), 4),
            }
            for name, part in rounds.items()
        },
        "checked_pairs_the_coder_still_gives": len(current),
        "top_codes": Counter(c.code for c in coded.values()).most_common(15),
        "uncoded_examples": [s for s in spans if s not in coded][:40],
    }
    write_json(RESULTS / "icd10_ade_effects.json", report)


if __name__ == "__main__":
    main()
