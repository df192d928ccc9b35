"""Extractors: find drug and adverse-event mentions in texts and code them."""
