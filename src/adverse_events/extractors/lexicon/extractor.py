"""`LexiconExtractor`: the local extractor backend (registry name ``lexicon``).

It loads a `LexiconModel` lazily, trains one on first use when given ``train_data`` (importing
`lexicon.train` only then), adds assertion traits, resolves drug ingredients and codes event
mentions to ICD-10-CM (and MedDRA with a release).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError, PermanentBackendError, PluginError
from adverse_events.extractors.assertion import apply_traits, filter_mentions
from adverse_events.extractors.corpora import SpanExample, load_corpus
from adverse_events.extractors.lexicon.model import LEXICON_FILE, LexiconModel
from adverse_events.models import resolve_model
from adverse_events.protocols import Backend
from adverse_events.records import EXCLUDING_TRAITS, Concept, Mention
from adverse_events.vocabulary import DrugVocabulary

__all__ = ["LexiconExtractor"]


class LexiconExtractor(Backend):
    """Local extractor: CRF + vocabularies -> DRUG and ADVERSE_EVENT mentions, ICD-10-CM coded.

    Args:
        model_dir: a trained model directory (see `adverse_events.extractors.lexicon`), or
            ``"builtin"`` for the shipped model (`adverse_events.models`, trained on PsyTAR);
            created when ``train_data`` is given and it does not exist yet.
        train_data: data folder or spans JSONL file to train from on first use.
        corpora: which corpora of a data folder to train on (``"psytar"``, ``"ade"``).
        code_icd10: link event mentions to ICD-10-CM codes (local, full code set).
        icd10_min_score: lowest ICD-10-CM match score kept.
        icd10_encoder: a local sentence-encoder folder (e.g. all-MiniLM-L6-v2) for semantic
            ICD-10-CM matching of phrases the lexical steps abstain on (off by default:
            about 20 ms per new phrase on a CPU; needs the ``torch`` extra).
        meddra_path: folder of a licensed MedDRA ASCII release; MedDRA codes stay empty without.
        exclude_traits: mentions with any of these traits are dropped ...
        keep_excluded: ... unless this is true (they are kept, flagged by their traits).
        min_score: lowest mention score kept.
        drug_vocabulary: a JSON drug vocabulary file (the format the X source's ``vocabulary``
            takes: ``generic``, ``brands``, ``synonyms``, ``misspellings``, ``ingredients``)
            that extends the built-in one; its names are always reported as DRUG mentions.
        normalize_drugs: resolve each DRUG mention to its active ingredient(s)
            (`adverse_events.coding.ingredients`); a mention that names none is kept with the
            trait ``UNRESOLVED``.
        drug_dictionary: also resolve through the `drug-named-entity-recognition` dictionary:
            ``None`` when installed, ``True`` required, ``False`` vocabulary only.
    """

    name = "lexicon"

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        train_data: str | os.PathLike[str] | None = None,
        corpora: Sequence[str] = ("psytar", "ade"),
        code_icd10: bool = True,
        icd10_min_score: float = 0.5,
        icd10_encoder: str | os.PathLike[str] | None = None,
        meddra_path: str | os.PathLike[str] | None = None,
        exclude_traits: Sequence[str] = EXCLUDING_TRAITS,
        keep_excluded: bool = False,
        min_score: float = 0.0,
        drug_vocabulary: str | os.PathLike[str] | None = None,
        normalize_drugs: bool = True,
        drug_dictionary: bool | None = None,
    ):
        self.model_dir = Path(resolve_model(model_dir, "lexicon")) if model_dir else None
        self.train_data = Path(train_data) if train_data else None
        has_model = self.model_dir is not None and (self.model_dir / LEXICON_FILE).is_file()
        if self.model_dir is not None and not has_model and self.train_data is None:
            raise ConfigError(
                f"lexicon: model_dir {str(self.model_dir)!r} holds no model; train "
                "one with `adverse-events train-extractor` or give train_data"
            )
        if self.train_data is not None and not self.train_data.exists():
            raise ConfigError(f"lexicon: train_data {str(self.train_data)!r} does not exist")
        if not 0.0 <= min_score <= 1.0 or not 0.0 <= icd10_min_score <= 1.0:
            raise ConfigError("lexicon: min_score and icd10_min_score must be in [0, 1]")
        self.corpora = tuple(corpora)
        self.code_icd10 = code_icd10
        self.icd10_min_score = icd10_min_score
        self.icd10_encoder = Path(icd10_encoder) if icd10_encoder else None
        if self.icd10_encoder is not None and not (self.icd10_encoder / "config.json").is_file():
            raise ConfigError(
                f"lexicon: icd10_encoder {str(self.icd10_encoder)!r} is not a model folder"
            )
        self.meddra_path = Path(meddra_path) if meddra_path else None
        if self.meddra_path is not None and not self.meddra_path.is_dir():
            raise ConfigError(f"lexicon: meddra_path {str(self.meddra_path)!r} is not a folder")
        self.exclude_traits = tuple(exclude_traits)
        self.keep_excluded = keep_excluded
        self.min_score = min_score
        self.drug_vocabulary = DrugVocabulary.load(drug_vocabulary)
        self.normalize_drugs = normalize_drugs
        self.drug_dictionary = drug_dictionary
        if normalize_drugs and drug_dictionary:
            from adverse_events.coding.ingredients import dictionary_available

            if not dictionary_available():
                raise PluginError(
                    "lexicon: drug_dictionary needs: pip install 'adverse-events[extract]'"
                )
        self._ingredients: Any = None
        self._model: LexiconModel | None = None
        self._icd10: Any = None
        self._meddra: Any = None

    def __repr__(self) -> str:
        return f"LexiconExtractor(model_dir={str(self.model_dir) if self.model_dir else None!r})"

    # lifecycle
    def open(self) -> None:
        self.model  # noqa: B018 - loads it

    @property
    def model(self) -> LexiconModel:
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def _load_model(self) -> LexiconModel:
        if self.model_dir is not None and (self.model_dir / LEXICON_FILE).is_file():
            return LexiconModel.load(self.model_dir, self.drug_vocabulary)
        if self.train_data is not None:
            from adverse_events.extractors.lexicon.train import train_lexicon

            return train_lexicon(
                self._training_examples(),
                self.model_dir,
                meta={"train_data": str(self.train_data)},
                vocabulary=self.drug_vocabulary,
            )
        return LexiconModel.builtin(self.drug_vocabulary)

    def _training_examples(self) -> list[SpanExample]:
        assert self.train_data is not None
        if self.train_data.is_file():
            return load_corpus(str(self.train_data))
        return [ex for name in self.corpora for ex in load_corpus(name, self.train_data)]

    def close(self) -> None:
        self._model = None

    # extraction
    def extract(self, texts: Sequence[str]) -> list[list[Mention]]:
        """One list of mentions per text, in order."""
        model = self.model
        out = []
        for text in texts:
            if not isinstance(text, str):
                raise PermanentBackendError(
                    f"expected text, got {type(text).__name__}", backend=self.name
                )
            out.append(self._extract_one(model, text))
        return out

    def _extract_one(self, model: LexiconModel, text: str) -> list[Mention]:
        mentions = [
            Mention(
                text=text[s:e],
                start=s,
                end=e,
                category=cat,
                score=score,
                concepts=self._concepts(text[s:e], cat),
            )
            for s, e, cat, score in model.spans(text)
            if score >= self.min_score
        ]
        mentions = apply_traits(text, mentions, categories=("ADVERSE_EVENT",))
        if self.normalize_drugs:
            mentions = self._ingredient_normalizer().normalize(mentions)
        return filter_mentions(mentions, self.exclude_traits, self.keep_excluded)

    def _ingredient_normalizer(self) -> Any:
        if self._ingredients is None:
            from adverse_events.coding.ingredients import IngredientNormalizer

            self._ingredients = IngredientNormalizer(
                self.drug_vocabulary, dictionary=self.drug_dictionary
            )
        return self._ingredients

    def _concepts(self, phrase: str, category: str) -> tuple[Concept, ...]:
        if category != "ADVERSE_EVENT":
            return ()
        found: list[Concept] = []
        if self.code_icd10:
            found += self._icd10_coder().code(phrase, min_score=self.icd10_min_score)
        if self.meddra_path is not None:
            found += self._meddra_coder().code(phrase)
        return tuple(found)

    def _icd10_coder(self) -> Any:
        if self._icd10 is None:
            from adverse_events.coding.icd10cm import ICD10CMCoder

            self._icd10 = ICD10CMCoder(encoder=self.icd10_encoder)
        return self._icd10

    def _meddra_coder(self) -> Any:
        if self._meddra is None:
            from adverse_events.coding.meddra import MedDRACoder

            assert self.meddra_path is not None, "MedDRA coding needs meddra_path"
            self._meddra = MedDRACoder(self.meddra_path)
        return self._meddra
