"""`LexiconExtractor`: local drug and adverse-event mentions, no cloud, no pretrained weights.

A linear-chain CRF (python-crfsuite) over word, affix, shape and context features, plus two
gazetteers: a drug vocabulary (`adverse_events.vocabulary`, the file the social-media sources
use too: generics, brands, synonyms and misspellings; plus the user's ``drug_vocabulary`` file
and drug names from the training spans; with an edit-distance-1 matcher) and adverse-event
phrases (built-in lay terms such as "brain zaps" or "can't sleep", plus every event mention in
the training spans). Drug names found by the vocabulary are always reported, whatever the CRF
says. Assertion traits (`adverse_events.extractors.assertion`) are added to event mentions and,
by default, mentions that are negated, hypothetical or about a relative are dropped
(``exclude_traits``; ``keep_excluded=True`` keeps them, flagged). Event mentions are coded to
ICD-10-CM locally and, when ``meddra_path`` points at a MedDRA release, to MedDRA LLT/PT/SOC.

Where the model comes from:

* ``model_dir`` holding a trained model (``adverse-events train-extractor``): loaded lazily.
* ``train_data`` (a data folder with ``psytar/`` and/or ``ade_corpus_v2/``, or a spans JSONL
  file): trained on first use (about a minute on 2 cores) and saved to ``model_dir`` if given.
* neither: the built-in vocabularies only (dictionary matching; lower recall, no training).

A model directory holds ``model.crfsuite`` (CRFsuite's own binary format) and
``lexicon.json`` (phrases and metadata); nothing is pickled, so loading a model runs no code.

The package, one concept per module: `features` (CRF features, BIO labels and decoding),
`gazetteer` (phrase sets, built-in lay terms, phrase statistics), `model` (`LexiconModel`: load,
save, decode), `train` (`train_lexicon`: the CRF and the span filter) and `extractor`
(`LexiconExtractor`). Serving never imports `train`: `train_lexicon` is imported from it on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adverse_events.extractors.lexicon.extractor import LexiconExtractor

# names the single-module `lexicon.py` had: still importable from here (tests, older code)
from adverse_events.extractors.lexicon.features import _plausible_event as _plausible_event
from adverse_events.extractors.lexicon.gazetteer import _PhraseSet as _PhraseSet
from adverse_events.extractors.lexicon.gazetteer import phrase_counts as phrase_counts
from adverse_events.extractors.lexicon.gazetteer import sure_phrases as sure_phrases
from adverse_events.extractors.lexicon.model import FORMAT_VERSION as FORMAT_VERSION
from adverse_events.extractors.lexicon.model import LEXICON_FILE as LEXICON_FILE
from adverse_events.extractors.lexicon.model import MODEL_FILE as MODEL_FILE
from adverse_events.extractors.lexicon.model import LexiconModel

if TYPE_CHECKING:
    from adverse_events.extractors.lexicon.train import train_lexicon

__all__ = ["LexiconExtractor", "LexiconModel", "train_lexicon"]


def __getattr__(name: str) -> Any:
    # `train_lexicon` on first use, so that loading the extractor never imports training code
    if name == "train_lexicon":
        from adverse_events.extractors.lexicon.train import train_lexicon

        return train_lexicon
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
