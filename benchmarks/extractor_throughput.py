"""Local extraction throughput: LexiconExtractor (CRF + vocabularies + traits + ICD-10-CM).

Extracts every PsyTAR review (side-effect field + comment, as a post would read) a few times
and writes posts/s to benchmarks/results/extractor_throughput.json. Target: >= 500 posts/s on
a 2-core machine. Needs the shared data (``$ADVERSE_EVENTS_DATA``).

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/extractor_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from adverse_events.extractors.corpora import data_dir, load_ade, load_psytar, split
from adverse_events.extractors.lexicon import LexiconExtractor, train_lexicon

RESULTS = Path(__file__).resolve().parent / "results" / "extractor_throughput.json"


def posts(root: Path) -> list[str]:
    with (root / "psytar" / "posts.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [f"{r.get('side_effect') or ''}\n\n{r.get('comment') or ''}".strip() for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="trained model (default: train one)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    root = data_dir()
    model_dir = args.model_dir
    if model_dir is None:
        model_dir = Path(tempfile.mkdtemp(prefix="ae-bench-"))
        train_lexicon(split(load_psytar(root))[0] + split(load_ade(root))[0], model_dir)
    texts = posts(root)
    results = {}
    for label, options in {"crf+traits+icd10": {}, "crf+traits": {"code_icd10": False}}.items():
        extractor = LexiconExtractor(model_dir=model_dir, **options)
        extractor.extract(texts)  # warm-up: loads the model and the ICD-10-CM index
        started = time.perf_counter()
        mentions = 0
        for _ in range(args.repeat):
            for i in range(0, len(texts), args.batch_size):
                mentions += sum(len(m) for m in extractor.extract(texts[i : i + args.batch_size]))
        seconds = time.perf_counter() - started
        n = len(texts) * args.repeat
        results[label] = {
            "posts": n,
            "seconds": round(seconds, 3),
            "posts_per_second": round(n / seconds, 1),
            "mentions_per_post": round(mentions / n, 2),
        }
    report = {
        "benchmark": "extractor_throughput",
        "corpus": "psytar posts.jsonl (side_effect + comment)",
        "mean_chars_per_post": round(sum(map(len, texts)) / len(texts), 1),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "target_posts_per_second": 500,
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
