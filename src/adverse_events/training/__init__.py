"""Training and evaluation: datasets, honest splits, metrics, TF-IDF and transformers models.

Modules (import what you need; each pulls in its own optional dependencies):

* `datasets`: labelled data from the ADE corpus, the Hugging Face hub, CSV/JSONL/Parquet (one
  import over `labels`, `examples` and `loaders`, where that code lives by concept);
* `splits`: ``random`` (the reference protocol) and ``grouped`` (deduplicated, by document);
* `metrics`: F1 for the adverse-event class, AUCs, thresholds, calibration, PR curves;
* `tfidf` and `transformers`: the two model kinds; `cross_fit`: the out-of-fold TF-IDF scores
  the threshold is chosen on; `workflow`: what the CLI runs.
"""
