"""Local extraction throughput: LexiconExtractor (CRF + vocabularies + traits + ICD-10-CM +
drug ingredients).

Extracts the PsyTAR reviews (side-effect field + comment, as a post would read) and writes
posts/s and sentences/s to benchmarks/results/extractor_throughput.json, per configuration:

* ``cold``: the extractor is warmed up (model and indexes loaded) on half of the reviews, then
  timed once on the other half: phrases not seen before are coded from scratch (the caches only
  hold what the first half had), as in a stream of new posts;
* ``warm``: the timed half again, ``--repeat`` times, every phrase cached.

Target: >= 500 sentences/s on a 2-core machine with normalisation and coding. Needs the shared
data (``$ADVERSE_EVENTS_DATA``).

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/extractor_throughput.py
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

from bench_common import (  # benchmarks/ is sys.path[0] as a script
    RESULTS,
    Stopwatch,
    cpus,
    data_dir,
    load_average,
    write_json,
)

from adverse_events.coding.ingredients import dictionary_available
from adverse_events.extractors.corpora import load_ade, load_psytar, split
from adverse_events.extractors.lexicon import LexiconExtractor, train_lexicon
from adverse_events.text.tokens import sentence_spans


def posts(root: Path) -> list[str]:
    with (root / "psytar" / "posts.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [f"{r.get('side_effect') or ''}\n\n{r.get('comment') or ''}".strip() for r in rows]


def run(extractor: LexiconExtractor, texts: list[str], batch_size: int) -> list[list[object]]:
    out: list[list[object]] = []
    for i in range(0, len(texts), batch_size):
        out += extractor.extract(texts[i : i + batch_size])
    return out


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
    warmup, timed = texts[0::2], texts[1::2]
    sentences = sum(1 for t in timed for _ in sentence_spans(t))
    configurations = {
        "crf+traits+icd10+ingredients": {},
        "crf+traits+icd10": {"normalize_drugs": False},
        "crf+traits": {"code_icd10": False, "normalize_drugs": False},
    }
    results = {}
    for label, options in configurations.items():
        extractor = LexiconExtractor(model_dir=model_dir, **options)
        extractor.extract(warmup)  # loads the model, the ICD-10-CM index, the drug dictionary
        with Stopwatch() as clock:
            mentions = sum(len(m) for m in run(extractor, timed, args.batch_size))
        cold = clock.seconds
        with Stopwatch() as clock:
            for _ in range(args.repeat):
                run(extractor, timed, args.batch_size)
        warm = clock.seconds / args.repeat
        results[label] = {
            "posts": len(timed),
            "sentences": sentences,
            "cold_seconds": round(cold, 3),
            "cold_posts_per_second": round(len(timed) / cold, 1),
            "cold_sentences_per_second": round(sentences / cold, 1),
            "warm_posts_per_second": round(len(timed) / warm, 1),
            "warm_sentences_per_second": round(sentences / warm, 1),
            "mentions_per_post": round(mentions / len(timed), 2),
        }
    report = {
        "benchmark": "extractor_throughput",
        "corpus": "psytar posts.jsonl (side_effect + comment)",
        "mean_chars_per_post": round(sum(map(len, timed)) / len(timed), 1),
        "mean_chars_per_sentence": round(sum(map(len, timed)) / sentences, 1),
        "drug_dictionary": dictionary_available(),
        "cpu_count": cpus(),
        "load_average_1min_at_end": round(load_average()[0], 2),  # a shared machine is slower
        "python": platform.python_version(),
        "target_sentences_per_second": 500,
        "results": results,
    }
    write_json(RESULTS / "extractor_throughput.json", report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
