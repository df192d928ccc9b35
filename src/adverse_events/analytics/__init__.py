"""Monitoring analytics over stored records: SQL queries (DuckDB and Athena), disproportionality
signal detection (PRR, ROR, chi-square, IC) and an offline HTML dashboard.

Needs the ``dashboard`` extra for the dashboard and the ``duckdb`` extra for queries and signals.
"""

from __future__ import annotations

from adverse_events.analytics.signals import Disproportionality, Signal, disproportionality

__all__ = ["Disproportionality", "Signal", "disproportionality"]
