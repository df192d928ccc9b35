"""Domain-adaptive masked-LM pretraining (DAPT) of the encoder on PsyTAR review text.

Continues the pretrained encoder's masked-LM training on the reviews of the given drugs
(``psytar/posts.jsonl``: the ``side_effect`` and ``comment`` text, no labels), then saves a plain
encoder directory that ``benchmarks/transfer.py --model DIR`` and ``adverse-events train --model
DIR`` take like any hub id. For an honest transfer figure, adapt on the training side's drug
only (``--drugs lexapro`` for Lexapro -> Zoloft).

`all-MiniLM-L6-v2` ships without its masked-LM head, so the head (transform + output bias; the
output matrix is tied to the word embeddings) is first fitted with the encoder frozen
(``--head-epochs``), and only then is the whole model trained at a small learning rate: a random
head's first gradients would otherwise run through the encoder. The masked-LM loss on a held-out
tenth of the reviews is measured once the head is fitted and again after adaptation, to show
the adaptation took place.

    PYTHONPATH=src python benchmarks/dapt.py --drugs lexapro --out benchmarks/.cache/dapt-lexapro
    PYTHONPATH=src python benchmarks/transfer.py mean-mt-dapt --directions lexapro-zoloft \\
        --model benchmarks/.cache/dapt-lexapro --set epochs=4 --set batch_size=32 \\
        --set pooling='"mean"' --auxiliary-columns WD,EF,INF,SSI,DI

Results: ``benchmarks/results/dapt.json`` (one entry per output directory: drugs, reviews,
held-out loss once the head is fitted and after adaptation, seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

from bench_common import CACHE, RESULTS, SHARED_ENCODER, data_dir, machine, with_run, write_json

#: the share of tokens masked (BERT's own pretraining rate)
MLM_PROBABILITY = 0.15


def reviews(drugs: set[str], root: Path) -> list[str]:
    """The review text (side effects, then comment) of every PsyTAR post about `drugs`."""
    out = []
    with (root / "psytar" / "posts.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            post = json.loads(line)
            if post["drug"].lower() in drugs:
                parts = (post.get("side_effect"), post.get("comment"))
                text = " ".join(t for t in parts if t).strip()
                if text:
                    out.append(text)
    return out


def _batches(encoded: list[dict[str, Any]], size: int, rng: random.Random) -> list[list[Any]]:
    """Batches of reviews of similar length (little padding), in a seeded random order."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]["input_ids"]))
    batches = [[encoded[i] for i in order[k : k + size]] for k in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def mlm_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Masked-LM cross-entropy with the output layer run on the masked positions only.

    `BertForMaskedLM` scores every position against the 30,522-word vocabulary, which costs
    more than the encoder itself; only the 15 % masked positions carry a label, so only they
    are scored (the same loss, about 6x less work). BERT-family models (``model.cls``) only."""
    import torch.nn.functional as F

    labels = batch.pop("labels")
    hidden = model.base_model(**batch).last_hidden_state
    chosen = labels != -100
    return F.cross_entropy(model.cls(hidden[chosen]), labels[chosen])


def held_out_loss(model: Any, collator: Any, encoded: list[dict[str, Any]], seed: int) -> float:
    """Mean masked-LM loss over `encoded`, with masks drawn from `seed` (the same each call)."""
    import torch

    model.eval()
    torch.manual_seed(seed)
    total, count = 0.0, 0
    with torch.no_grad():
        for k in range(0, len(encoded), 32):
            batch = collator(encoded[k : k + 32])
            total += float(mlm_loss(model, batch)) * len(batch["input_ids"])
            count += len(batch["input_ids"])
    return total / count


def train_epochs(
    model: Any,
    collator: Any,
    encoded: list[dict[str, Any]],
    args: Any,
    *,
    epochs: int,
    lr: float,
    label: str,
) -> None:
    """`epochs` passes of masked-LM training over `encoded` on the parameters left trainable."""
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    rng = random.Random(args.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(encoded) / args.batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    model.train()
    with tqdm(total=steps, desc=label, unit="step") as bar:
        for _ in range(epochs):
            for rows in _batches(encoded, args.batch_size, rng):
                loss = mlm_loss(model, collator(rows))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                bar.set_postfix(loss=f"{loss.detach().item():.3f}")
                bar.update()


def adapt(args: argparse.Namespace) -> dict[str, Any]:
    """Fit the masked-LM head, then adapt the encoder; save it to ``args.out``; the figures."""
    import torch
    from transformers import (
        AutoModel,
        AutoModelForMaskedLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
    )

    torch.manual_seed(args.seed)
    texts = reviews(set(args.drugs.lower().split(",")), args.data_dir)
    if not texts:
        sys.exit(f"error: no PsyTAR reviews for {args.drugs!r} in {args.data_dir}")
    random.Random(args.seed).shuffle(texts)
    cut = max(1, len(texts) // 10)
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)

    def encode(batch: list[str]) -> list[dict[str, Any]]:
        ids = tokenizer(batch, truncation=True, max_length=args.max_length)["input_ids"]
        return [{"input_ids": row} for row in ids]

    held_out, train = encode(texts[:cut]), encode(texts[cut:])
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=MLM_PROBABILITY)
    model = AutoModelForMaskedLM.from_pretrained(args.encoder)
    started = time.perf_counter()
    base = model.base_model
    for p in base.parameters():
        p.requires_grad = False
    train_epochs(model, collator, train, args, epochs=args.head_epochs, lr=1e-3, label="head")
    loss_head_only = held_out_loss(model, collator, held_out, args.seed)
    for p in base.parameters():
        p.requires_grad = True
    train_epochs(model, collator, train, args, epochs=args.epochs, lr=args.lr, label="encoder")
    loss_after = held_out_loss(model, collator, held_out, args.seed)
    encoder = AutoModel.from_pretrained(args.encoder)  # keeps the pooler the MLM model lacks
    missing = encoder.load_state_dict(base.state_dict(), strict=False)
    encoder.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    return {
        "drugs": args.drugs,
        "encoder": Path(args.encoder).name,
        "reviews": {"train": len(train), "held_out": len(held_out)},
        "options": {
            k: getattr(args, k) for k in ("epochs", "head_epochs", "lr", "batch_size", "seed")
        }
        | {"max_length": args.max_length, "mlm_probability": MLM_PROBABILITY},
        "held_out_mlm_loss": {
            "head_fitted_encoder_frozen": round(loss_head_only, 4),
            "after_adaptation": round(loss_after, 4),
        },
        "kept_from_base": sorted(missing.missing_keys),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--drugs", required=True, help="comma-separated: lexapro, zoloft")
    parser.add_argument("--out", type=Path, default=None, help="default: .cache/dapt-<drugs>")
    parser.add_argument("--encoder", default=str(SHARED_ENCODER))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--head-epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    args.data_dir = args.data_dir or data_dir()
    args.out = args.out or CACHE / f"dapt-{args.drugs.replace(',', '-')}"
    entry = adapt(args) | {"out": args.out.resolve().name, "machine": machine()}
    path = RESULTS / "dapt.json"
    write_json(path, {"benchmark": "dapt", "runs": with_run(path, entry, ("out",))["runs"]})
    print(json.dumps(entry["held_out_mlm_loss"]), f"{entry['seconds']} s -> {args.out}")


if __name__ == "__main__":
    main()
