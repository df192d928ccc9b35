"""Text preprocessing shared by training and serving (one module per kind of text).

* `social`: normalisation of informal posts (hashtags, @mentions, URLs, emojis, elongated
  words, common abbreviations). A model trained with ``preprocess="social"`` records it in its
  ``adverse_events.json`` and its classifier applies it to every text it scores.
* `tokens`: tokens and sentences with character offsets, and the normal form of a phrase for
  lookups (shared by the extractors and the terminology coders).
"""
