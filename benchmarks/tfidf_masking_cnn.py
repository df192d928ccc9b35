"""More routes to a better classifier without pretrained weights, grouped 5-fold CV.

Both are compared, fold by fold, with the same base: TF-IDF word 1-3 + char_wb 2-5 n-grams,
balanced logistic regression (C=10), threshold for best F1 on the validation part, F1 on the
held-out test part (whole articles / reviews, deduplicated).

* ``masked``: a third vectorizer over the text with drug names replaced by ``zzdrug`` and
  medical-condition words by ``zzcond``, so patterns such as "zzdrug - induced zzcond" carry over
  to drugs and conditions never seen in training. Drugs: the built-in vocabulary plus the drug
  spans annotated in the *training* articles (ADE corpus; PsyTAR annotates no drugs). Condition
  words: words of ICD-10-CM titles (simple-icd-10-cm) and clinical suffixes (-itis, -emia ...).
* ``cnn``: a word + character CNN trained from random initialisation (torch, CPU), best epoch on
  the validation part, and its average with the TF-IDF probability.
* ``other labels`` (PsyTAR only): PsyTAR also labels each sentence WD (withdrawal), EF, INF, SSI
  (sign / symptom / illness) and DI (indication), the classes an ADR is confused with. One
  TF-IDF model per label; a logistic regression stacks their out-of-fold logits (grouped inner
  folds) into P(ADR).

Writes benchmarks/results/tfidf_masking_cnn.{json,md}.

    ADVERSE_EVENTS_DATA=../shared/data python benchmarks/tfidf_masking_cnn.py [--corpora psytar]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from bench_common import RESULTS, ade, data_dir, psytar  # benchmarks/ is sys.path[0]

from adverse_events.extractors.corpora import load_ade
from adverse_events.training.datasets import Dataset
from adverse_events.training.metrics import choose_threshold, evaluate
from adverse_events.training.splits import kfold
from adverse_events.vocabulary import DrugVocabulary

Scorer = Callable[[Sequence[str]], np.ndarray]

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-']*|\d+|[^\w\s]")
_ICD_STOP = set(
    """a an the of and or with without to in on at by for from due other unspecified
specified not elsewhere classified as is are was were be been this that these those it its into
than left right both side initial encounter subsequent sequela part parts type nos use""".split()
)
_CONDITION_SUFFIXES = (
    "itis",
    "osis",
    "emia",
    "pathy",
    "algia",
    "plegia",
    "penia",
    "trophy",
    "rrhea",
    "cytosis",
    "oma",
    "uria",
    "rrhage",
    "ectasia",
    "spasm",
    "toxicity",
    "failure",
)


def corpora(root: Path, names: Sequence[str]) -> dict[str, Dataset]:
    loaders = {"ade_corpus_v2": lambda: ade(root), "psytar": lambda: psytar(root)}
    return {name: loaders[name]() for name in names}


def condition_words() -> set[str]:
    """Words of ICD-10-CM leaf titles, without function and bookkeeping words."""
    import simple_icd_10_cm as icd

    words: set[str] = set()
    for code in icd.get_all_codes(True):
        if icd.is_leaf(code) and not code[0].isdigit():
            words.update(re.findall(r"[a-z]+", icd.get_description(code).lower()))
    return {w for w in words if w not in _ICD_STOP and len(w) > 3}


def drug_names_by_group(root: Path) -> dict[str, set[str]]:
    """Annotated drug names of each ADE article (`pmid:` groups), lower-cased."""
    names: dict[str, set[str]] = {}
    for example in load_ade(root):
        for start, end, category in example.spans:
            if category == "DRUG":
                names.setdefault(f"pmid:{example.group}", set()).add(
                    example.text[start:end].lower()
                )
    return names


def masker(drugs: set[str], conditions: set[str]) -> Callable[[str], str]:
    def mask(text: str) -> str:
        out = []
        for token in _TOKEN.findall(text):
            low = token.lower()
            if low in drugs or low.split("-")[0] in drugs:
                out.append("zzdrug")
            elif low in conditions or low.endswith(_CONDITION_SUFFIXES):
                out.append("zzcond")
            else:
                out.append(low)
        return " ".join(out)

    return mask


def fit_tfidf_lr(
    train: Dataset, mask: Callable[[str], str] | None = None, target: np.ndarray | None = None
) -> Scorer:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    common = {"min_df": 2, "sublinear_tf": True, "dtype": np.float32}
    parts: list[tuple[object, Callable[[Sequence[str]], list[str]]]] = [
        (TfidfVectorizer(ngram_range=(1, 3), strip_accents="unicode", **common), list),
        (
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), strip_accents="unicode", **common
            ),
            list,
        ),
    ]
    if mask is not None:
        parts.append(
            (
                TfidfVectorizer(
                    ngram_range=(1, 4), token_pattern=r"\S+", lowercase=False, **common
                ),
                lambda texts: [mask(t) for t in texts],
            )
        )
    x = hstack([v.fit_transform(f(train.texts)) for v, f in parts], format="csr")  # type: ignore[attr-defined]
    model = LogisticRegression(C=10, class_weight="balanced", max_iter=2000, solver="liblinear")
    model.fit(x, train.binary if target is None else target)

    def score(texts: Sequence[str]) -> np.ndarray:
        features = hstack([v.transform(f(texts)) for v, f in parts], format="csr")  # type: ignore[attr-defined]
        return model.predict_proba(features)[:, 1]  # type: ignore[no-any-return]

    return score


def fit_cnn(train: Dataset, validation: Dataset, epochs: int = 6, seed: int = 42) -> Scorer:
    """Word embeddings + a character CNN per word, then 1/3/5-wide convolutions and max-pooling;
    every weight starts random. Keeps the epoch with the best validation F1."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    words = Counter(w for t in train.texts for w in _words(t))
    word_ids = {w: i + 2 for i, (w, c) in enumerate(words.most_common()) if c >= 2}
    char_ids = {ch: i + 2 for i, ch in enumerate(sorted({ch for w in words for ch in w}))}

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.words = nn.Embedding(len(word_ids) + 2, 128, padding_idx=0)
            self.chars = nn.Embedding(len(char_ids) + 2, 32, padding_idx=0)
            self.char_conv = nn.Conv1d(32, 64, 3, padding=1)
            self.convs = nn.ModuleList(nn.Conv1d(192, 128, k, padding=k // 2) for k in (1, 3, 5))
            self.drop, self.out = nn.Dropout(0.5), nn.Linear(384, 1)

        def forward(self, w: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            b, length, width = c.shape
            chars = self.chars(c.view(b * length, width)).transpose(1, 2)
            chars = torch.relu(self.char_conv(chars)).max(2).values.view(b, length, 64)
            x = self.drop(torch.cat([self.words(w), chars], 2).transpose(1, 2))
            h = torch.cat([torch.relu(conv(x)).max(2).values for conv in self.convs], 1)
            return self.out(self.drop(h)).squeeze(1)  # type: ignore[no-any-return]

    def encode(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        w = np.zeros((len(texts), 60), dtype=np.int64)
        c = np.zeros((len(texts), 60, 16), dtype=np.int64)
        for i, text in enumerate(texts):
            for j, word in enumerate(_words(text)[:60]):
                w[i, j] = word_ids.get(word, 1)
                c[i, j, : min(16, len(word))] = [char_ids.get(ch, 1) for ch in word[:16]]
        return torch.from_numpy(w), torch.from_numpy(c)

    net, (w, c) = Net(), encode(train.texts)
    y = torch.tensor(train.binary, dtype=torch.float32)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss = nn.BCEWithLogitsLoss(pos_weight=((len(y) - y.sum()) / y.sum()) ** 0.5)

    def score(texts: Sequence[str]) -> np.ndarray:
        net.eval()
        with torch.inference_mode():
            return torch.sigmoid(net(*encode(texts))).numpy()

    best: tuple[float, dict[str, torch.Tensor]] = (-1.0, {})
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(y))
        for start in range(0, len(y), 64):
            batch = order[start : start + 64]
            optimiser.zero_grad()
            loss(net(w[batch], c[batch]), y[batch]).backward()
            optimiser.step()
        p = score(validation.texts)
        f1 = evaluate(validation.binary, p, choose_threshold(validation.binary, p))["f1"]
        if f1 > best[0]:
            best = (f1, {k: v.clone() for k, v in net.state_dict().items()})
    net.load_state_dict(best[1])
    return score


def fit_other_labels(train: Dataset, labels: dict[str, list[int]]) -> Scorer:
    """Stack per-label TF-IDF models (ADR, WD, EF, INF, SSI, DI) into P(ADR); see the docstring."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    y = np.array([labels[t.strip()] for t in train.texts])

    def fit_each(part: Dataset, targets: np.ndarray) -> Scorer:
        scorers = [fit_tfidf_lr(part, target=targets[:, j]) for j in range(targets.shape[1])]
        return lambda texts: np.column_stack([s(texts) for s in scorers])

    oof = np.zeros(y.shape)
    groups = [e.group for e in train.examples]
    for inner, held in GroupKFold(5).split(y, groups=groups):
        scorer = fit_each(train.subset(inner), y[inner])
        oof[held] = scorer([train.texts[i] for i in held])
    stacker = LogisticRegression(class_weight="balanced").fit(_logit(oof), train.binary)
    every = fit_each(train, y)
    return lambda texts: stacker.predict_proba(_logit(every(texts)))[:, 1]  # type: ignore[no-any-return]


def psytar_labels(root: Path) -> dict[str, list[int]]:
    """Sentence text -> its 0/1 labels for ADR, WD, EF, INF, SSI, DI."""
    import csv

    with (root / "psytar" / "sentences.csv").open(encoding="utf-8") as handle:
        return {
            row["text"].strip(): [int(row[k] or 0) for k in ("ADR", "WD", "EF", "INF", "SSI", "DI")]
            for row in csv.DictReader(handle)
        }


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p + 1e-4) - np.log(1 - p + 1e-4)  # type: ignore[no-any-return]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+|\d+|[^\w\s]", text.lower())


def f1_on_test(scorer: Scorer, validation: Dataset, test: Dataset) -> tuple[float, float]:
    threshold = choose_threshold(validation.binary, scorer(validation.texts))
    metrics = evaluate(test.binary, scorer(test.texts), threshold)
    return metrics["f1"], metrics["roc_auc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=["ade_corpus_v2", "psytar"])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    root = data_dir()
    conditions, builtin = condition_words(), {t.lower() for t in DrugVocabulary.builtin().terms}
    annotated = drug_names_by_group(root)
    rows = []
    for corpus, data in corpora(root, args.corpora).items():
        scores: dict[str, list[tuple[float, float]]] = {}
        start = time.time()
        for split in kfold(data, args.folds, "grouped", seed=42):
            train, validation, test = (split.part(p) for p in ("train", "validation", "test"))
            groups = {e.group for e in train.examples}
            drugs = builtin.union(*(annotated.get(g, set()) for g in groups))
            base, cnn = fit_tfidf_lr(train), fit_cnn(train, validation)
            variants: dict[str, Scorer] = {
                "tfidf (base)": base,
                "tfidf + masked drugs/conditions": fit_tfidf_lr(train, masker(drugs, conditions)),
                "word+char CNN, random init": cnn,
                "mean of tfidf and CNN": lambda t, base=base, cnn=cnn: (base(t) + cnn(t)) / 2,
            }
            if corpus == "psytar":
                variants["tfidf per PsyTAR label, stacked"] = fit_other_labels(
                    train, psytar_labels(root)
                )
            for name, scorer in variants.items():
                scores.setdefault(name, []).append(f1_on_test(scorer, validation, test))
            print(corpus, {k: round(v[-1][0], 3) for k, v in scores.items()}, flush=True)
        for name, pairs in scores.items():
            f1s = [f for f, _ in pairs]
            rows.append(
                {
                    "variant": name,
                    "corpus": corpus,
                    "f1_mean": float(np.mean(f1s)),
                    "f1_sd": statistics.pstdev(f1s),
                    "f1_folds": f1s,
                    "roc_auc_mean": float(np.mean([a for _, a in pairs])),
                    "seconds_all_variants": time.time() - start,
                }
            )
    out = RESULTS
    out.mkdir(parents=True, exist_ok=True)
    if (out / "tfidf_masking_cnn.json").is_file():  # keep the rows of corpora not run now
        earlier = json.loads((out / "tfidf_masking_cnn.json").read_text())["rows"]
        rows = [r for r in earlier if r["corpus"] not in args.corpora] + rows
    (out / "tfidf_masking_cnn.json").write_text(
        json.dumps({"folds": args.folds, "seed": 42, "protocol": "grouped", "rows": rows}, indent=2)
    )
    lines = ["| variant | corpus | F1 (mean ± sd) | ROC-AUC |", "|---|---|---|---|"]
    lines += [
        f"| {r['variant']} | {r['corpus']} | {r['f1_mean']:.3f} ± {r['f1_sd']:.3f} | "
        f"{r['roc_auc_mean']:.3f} |"
        for r in rows
    ]
    (out / "tfidf_masking_cnn.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
