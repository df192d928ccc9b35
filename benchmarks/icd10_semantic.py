"""Would a sentence encoder raise ICD-10-CM coverage? An experiment, not a shipped feature.

For every PsyTAR adverse-reaction mention the local `ICD10CMCoder` abstains on, embed the
cleaned mention with a sentence encoder (default ``../shared/models/all-MiniLM-L6-v2``, mean
pooling) and take the nearest of: every lay synonym (with its code) and every R00-R69 code
description. Reports, per half of the gold concepts (as in ``icd10_coding.py``) and per cosine
threshold, how much coverage that would add and a proxy of its precision: among added
mentions whose gold concept *name* the lexical coder codes, the share that get that same code.
Writes ``benchmarks/results/icd10_semantic.json``. Needs torch and transformers.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/icd10_semantic.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench_common import RESULTS, SHARED_ENCODER, data_dir, write_json
from icd10_coding import half, mentions  # benchmarks/ is sys.path[0] as a script

from adverse_events.coding.icd10cm import ICD10CMCoder, clean_mention
from adverse_events.coding.lay_terms import LAY_TERMS
from adverse_events.text.tokens import normalize

THRESHOLDS = (0.5, 0.6, 0.7, 0.8)


def encoder(path: Path) -> Any:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()

    def embed(texts: list[str]) -> Any:
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), 128):
                batch = tokenizer(
                    texts[i : i + 128],
                    padding=True,
                    truncation=True,
                    max_length=32,
                    return_tensors="pt",
                )
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1)
                out.append(torch.nn.functional.normalize(pooled, dim=1))
        return torch.cat(out).numpy()

    return embed


def main() -> None:
    import simple_icd_10_cm as icd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", type=Path, default=SHARED_ENCODER)
    args = parser.parse_args()
    embed = encoder(args.encoder)
    targets = list(LAY_TERMS)
    codes = [LAY_TERMS[t][1] for t in targets]
    for code in icd.get_all_codes(True):
        if icd.is_leaf(code) and code[0] == "R" and code[1:3].isdigit() and int(code[1:3]) < 70:
            targets.append(normalize(icd.get_description(code)))
            codes.append(code)
    started = time.perf_counter()
    target_vectors = embed(targets)
    build_seconds = time.perf_counter() - started
    rows = mentions(data_dir())
    coder = ICD10CMCoder()
    abstained = [r for r in rows if not coder.code(r["mention"])]
    queries = [clean_mention(normalize(r["mention"])) or normalize(r["mention"]) for r in abstained]
    started = time.perf_counter()
    similarities = embed(queries) @ target_vectors.T
    query_seconds = time.perf_counter() - started
    found = []
    for row, sims in zip(abstained, similarities, strict=True):
        best = int(sims.argmax())
        reference = coder.code(row["umls_name"]) if row["umls_name"].strip() else []
        found.append(
            {
                "half": half(row["umls"]),
                "cosine": float(sims[best]),
                "code": codes[best],
                "reference": reference[0].code if reference else None,
            }
        )
    totals = {
        name: sum(1 for r in rows if half(r["umls"]) == name) for name in ("tuning", "held_out")
    }
    table = {}
    for name, total in totals.items():
        for threshold in THRESHOLDS:
            added = [f for f in found if f["half"] == name and f["cosine"] >= threshold]
            judged = [f for f in added if f["reference"]]
            table[f"{name}@{threshold}"] = {
                "added_mentions": len(added),
                "added_coverage": round(len(added) / total, 4),
                "proxy_checked": len(judged),
                "proxy_agreement": (
                    round(sum(f["code"] == f["reference"] for f in judged) / len(judged), 4)
                    if judged
                    else None
                ),
            }
    report = {
        "benchmark": "icd10_semantic",
        "encoder": args.encoder.name,
        "targets": len(targets),
        "target_embedding_seconds": round(build_seconds, 1),
        "abstained_mentions": len(abstained),
        "query_embedding_ms_per_mention": round(1000 * query_seconds / max(1, len(queries)), 2),
        "results": table,
    }
    write_json(RESULTS / "icd10_semantic.json", report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
