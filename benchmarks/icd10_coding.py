"""ICD-10-CM coding of patient-language adverse-reaction mentions: coverage, purity, precision.

Codes every mention of ``psytar/adr_mentions.csv`` (PsyTAR, gold UMLS CUIs) with the local
`ICD10CMCoder` and reports, on the whole set and on each half of the gold concepts:

* coverage: the share of mentions that get a code (the coder abstains below its threshold);
* concept purity: mentions that share a gold CUI should get one code. Per CUI with two or more
  coded mentions, the mentions carrying its most frequent code, over all coded mentions of
  those CUIs;
* precision: the share of coded mentions whose code a coder would sign off, from the verdicts
  in ``benchmarks/results/icd10_coding_checked.csv`` (checked one by one by the developer, an
  AI agent; see docs/extraction.md). The sample is drawn here (``--sample``: distinct
  (mention, code) pairs, half from each half of the concepts). ``hand_checked_sample_as_drawn``
  is the precision of the sample as the coder was when it was drawn; the per-half
  ``precision_checked_*`` figures read the verdicts back by (mention, code) for the coder as
  it is now, so a pair the coder no longer gives is not counted.

The halves: a gold CUI is in the *tuning* half when crc32(CUI) is even, else *held out*. Lay
synonyms and the abstention threshold were tuned looking only at tuning-half mentions; the
held-out half shows how that generalises to concepts never looked at.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/icd10_coding.py
    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/icd10_coding.py --sample 240
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench_common import RESULTS, cpus, data_dir, read_csv, write_json  # benchmarks/ is sys.path[0]

from adverse_events.coding.icd10cm import ICD10CMCoder

CHECKED = RESULTS / "icd10_coding_checked.csv"
#: Every (mention, code) pair the lay patterns (coding/lay_patterns.py) added, each checked.
PATTERNS_CHECKED = RESULTS / "icd10_patterns_checked.csv"


def mentions(root: Path) -> list[dict[str, str]]:
    with (root / "psytar" / "adr_mentions.csv").open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["mention"].strip()]


def half(cui: str) -> str:
    return "tuning" if zlib.crc32(cui.strip().encode("utf-8")) % 2 == 0 else "held_out"


def code_all(coder: ICD10CMCoder, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        found = coder.code(row["mention"])
        top = found[0] if found else None
        out.append(
            {
                **row,
                "half": half(row["umls"]),
                "code": top.code if top else None,
                "title": top.description if top else None,
                "score": top.score if top else None,
            }
        )
    return out


def purity(coded: list[dict[str, Any]]) -> tuple[float, int]:
    by_cui: dict[str, Counter[str]] = defaultdict(Counter)
    for row in coded:
        if row["code"]:
            by_cui[row["umls"].strip()][row["code"]] += 1
    groups = [c for c in by_cui.values() if sum(c.values()) >= 2]
    total = sum(sum(c.values()) for c in groups)
    return (sum(c.most_common(1)[0][1] for c in groups) / total if total else 0.0), len(groups)


def verdicts() -> dict[tuple[str, str], tuple[str, str]]:
    """(mention, code) -> (verdict, reason), from both checked files."""
    return {
        (r["mention"].strip().lower(), r["code"]): (r["verdict"], r["reason"])
        for path in (CHECKED, PATTERNS_CHECKED)
        for r in read_csv(path)
    }


def as_sampled(path: Path = CHECKED, first_pass_only: bool = False) -> dict[str, Any]:
    """Precision over every checked (mention, code) pair of `path`, as the coder gave them when
    checked (``first_pass_only``: the patterns file's rows before the fixes they led to)."""
    rows = [
        r
        for r in read_csv(path)
        if not first_pass_only or r.get("round", "first pass") == "first pass"
    ]
    if not rows:
        return {}
    out: dict[str, Any] = {}
    for name in ("all", "tuning", "held_out"):
        part = [r for r in rows if name == "all" or r["half"] == name]
        right = sum(r["verdict"] == "correct" for r in part)
        out[name] = {
            "pairs": len(part),
            "correct": right,
            "precision": round(right / len(part), 4) if part else None,
        }
    return out


def summary(
    coded: list[dict[str, Any]], checked: dict[tuple[str, str], tuple[str, str]]
) -> dict[str, Any]:
    n = len(coded)
    done = [r for r in coded if r["code"]]
    value, groups = purity(coded)
    judged = [
        checked[(r["mention"].strip().lower(), r["code"])]
        for r in done
        if (r["mention"].strip().lower(), r["code"]) in checked
    ]
    distinct = {(r["mention"].strip().lower(), r["code"]) for r in done} & set(checked)
    correct = sum(1 for verdict, _ in judged if verdict == "correct")
    return {
        "mentions": n,
        "coded": len(done),
        "coverage": round(len(done) / n, 4) if n else 0.0,
        "concept_purity": round(value, 4),
        "cuis_with_2plus_coded_mentions": groups,
        "checked_distinct_pairs": len(distinct),
        "checked_mentions": len(judged),
        "precision_checked_mentions": round(correct / len(judged), 4) if judged else None,
        "precision_checked_distinct_pairs": (
            round(sum(1 for k in distinct if checked[k][0] == "correct") / len(distinct), 4)
            if distinct
            else None
        ),
    }


def draw_sample(coded: list[dict[str, Any]], size: int, seed: int) -> list[dict[str, Any]]:
    """Distinct (mention, code) pairs, half from each half of the concepts."""
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for row in coded:
        if row["code"]:
            pairs.setdefault((row["mention"].strip().lower(), row["code"]), row)
    rng = random.Random(seed)
    picked = []
    for name in ("tuning", "held_out"):
        pool = sorted((k for k, r in pairs.items() if r["half"] == name))
        picked += [pairs[k] for k in rng.sample(pool, min(len(pool), size // 2))]
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="write a fresh sample of this many pairs to check (to a .todo file)",
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--encoder",
        type=Path,
        help="also semantic matching with this sentence-encoder folder (step 6); "
        "results go to icd10_coding_semantic.json",
    )
    args = parser.parse_args()
    rows = mentions(data_dir())
    coder = ICD10CMCoder(encoder=args.encoder)
    started = time.perf_counter()
    coded = code_all(coder, rows)
    seconds = time.perf_counter() - started
    checked = verdicts()
    report = {
        "benchmark": "icd10_coding",
        "data": "psytar/adr_mentions.csv (gold UMLS CUIs)",
        "coder": repr(coder),
        "min_score": coder.min_score,
        "seconds_first_pass_incl_build": round(seconds, 2),
        "cpu_count": cpus(),
        "all": summary(coded, checked),
        "tuning_half": summary([r for r in coded if r["half"] == "tuning"], checked),
        "held_out_half": summary([r for r in coded if r["half"] == "held_out"], checked),
        "hand_checked_sample_as_drawn": as_sampled(),
        "lay_patterns_all_added_pairs_first_pass": as_sampled(PATTERNS_CHECKED, True),
        "top_codes": Counter(r["code"] for r in coded if r["code"]).most_common(15),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "icd10_coding_semantic" if args.encoder else "icd10_coding"
    if args.encoder:
        report["encoder"] = args.encoder.name
        report["semantic_min"] = coder.semantic_min
        lexical = code_all(ICD10CMCoder(), rows)
        report["added_by_semantic_step"] = {
            name: sum(
                1
                for a, b in zip(coded, lexical, strict=True)
                if a["code"] and not b["code"] and (name == "all" or a["half"] == name)
            )
            for name in ("all", "tuning", "held_out")
        }
        report["note"] = (
            "precision figures count only checked (mention, code) pairs; the "
            "semantic step's additions are not in the hand-checked sample"
        )
    write_json(RESULTS / f"{name}.json", report)
    if args.encoder:
        print(json.dumps(report, indent=2))
        return
    with (RESULTS / "icd10_coding_codes.csv").open("w", encoding="utf-8", newline="") as handle:
        fields = ["half", "umls", "umls_name", "mention", "code", "title", "score"]
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        seen = set()
        for row in sorted(coded, key=lambda r: (r["half"], r["umls"], r["mention"].lower())):
            key = (row["umls"], row["mention"].strip().lower())
            if key not in seen:
                seen.add(key)
                writer.writerow(row)
    if args.sample:
        todo = RESULTS / "icd10_coding_checked.todo.csv"
        with todo.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["half", "mention", "code", "title", "umls_name", "verdict", "reason"])
            for r in draw_sample(coded, args.sample, args.seed):
                writer.writerow(
                    [
                        r["half"],
                        r["mention"].strip().lower(),
                        r["code"],
                        r["title"],
                        r["umls_name"],
                        "",
                        "",
                    ]
                )
        print(f"wrote {todo}")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
