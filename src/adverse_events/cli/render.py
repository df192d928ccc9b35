"""Console output of the ``adverse-events`` commands: the two consoles, the one-line error and
the tables (key/value, query rows, signals, classifier metrics, extractor scores).

Nothing here computes: each function turns values the library returned into rich output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "backends_table",
    "cell",
    "console",
    "err_console",
    "extractor_table",
    "fail",
    "metrics_table",
    "print_mapping",
    "rows_table",
    "signal_table",
]

console = Console()
err_console = Console(stderr=True)

#: Exit status of bad input (config, options, files): one line on stderr, never a traceback.
EXIT_BAD_INPUT = 2
#: Exit status of a run stopped with Ctrl-C (what shells report for SIGINT).
EXIT_INTERRUPTED = 130


def fail(exc: Exception) -> typer.Exit:
    """Print `exc` as one ``error:`` line on stderr; the `typer.Exit` (status 2) to raise."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def print_mapping(title: str, data: Mapping[str, Any]) -> None:
    """Print a key/value table (used by several commands)."""
    table = Table(title=title, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", justify="right")
    for key, value in data.items():
        table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else str(value))
    console.print(table)


def cell(value: Any) -> str:
    """Short text of a query value: lists joined, floats rounded, times to the minute."""
    from datetime import datetime

    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def rows_table(title: str, rows: Sequence[Mapping[str, Any]], limit: int | None = None) -> Table:
    """A rich table of query rows (the first `limit` of them)."""
    table = Table(title=title)
    shown = rows if limit is None else rows[:limit]
    for name in rows[0] if rows else {"(none)": None}:
        table.add_column(name, overflow="fold")
    for row in shown:
        table.add_row(*(cell(v) for v in row.values()))
    return table


def backends_table(entries: Sequence[Any]) -> Table:
    """A rich table of registry entries: role, name, class, extra and whether it is installed."""
    table = Table(title="backends")
    for column in ("role", "name", "class", "extra", "installed"):
        table.add_column(column)
    for info in entries:
        installed = "yes" if info.installed else f"no: {info.install_hint}"
        table.add_row(info.role, info.name, info.target, info.extra or "-", installed)
    return table


def signal_table(title: str, found: Sequence[Any], limit: int | None) -> Table:
    """A rich table of `Signal`s: counts, PRR and ROR with intervals, chi-square, IC025, rules."""
    table = Table(title=title)
    for name in ("window", "drug", "event"):
        table.add_column(name, overflow="fold")
    for name in ("a", "N", "PRR (95% CI)", "ROR (95% CI)", "chi2", "IC025", "rules"):
        table.add_column(name, justify="right")
    for s in found if limit is None else found[:limit]:
        x = s.stats
        rules = [
            name
            for name, fired in (("Evans", x.evans), ("ROR", x.ror_signal), ("IC", x.ic_signal))
            if fired
        ]
        table.add_row(
            s.window,
            s.drug,
            f"{s.event} {s.event_label}" if s.event_label != s.event else s.event,
            str(x.a),
            str(s.n),
            f"{x.prr:.2f} ({x.prr_lower:.2f}-{x.prr_upper:.2f})",
            f"{x.ror:.2f} ({x.ror_lower:.2f}-{x.ror_upper:.2f})",
            f"{x.chi2:.1f}",
            f"{x.ic025:.2f}",
            " ".join(rules) or "-",
        )
    return table


#: Classifier metrics shown by `metrics_table`, with their column headers.
_METRIC_COLUMNS = {
    "examples": "n",
    "positives": "AE",
    "threshold": "thr",
    "precision": "P",
    "recall": "R",
    "f1": "F1",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
}


def metrics_table(title: str, parts: Mapping[str, Mapping[str, Any]]) -> Table:
    """A rich table of classifier metrics, one row per part (train, test, a source, ...)."""
    table = Table(title=title)
    table.add_column("part", style="bold")
    for header in _METRIC_COLUMNS.values():
        table.add_column(header, justify="right")
    for name, m in parts.items():
        cells = [m.get(c) for c in _METRIC_COLUMNS]
        table.add_row(name, *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in cells))
    return table


def extractor_table(title: str, results: Mapping[str, Mapping[str, Any]]) -> Table:
    """A rich table of extractor scores: per corpus, category and match kind, P/R/F1."""
    table = Table(title=title)
    for column in ("corpus", "category", "match", "P", "R", "F1", "gold", "predicted"):
        table.add_column(column)
    for name, result in results.items():
        for category, by_match in result["scores"].items():
            for match, s in by_match.items():
                table.add_row(
                    name,
                    category,
                    match,
                    f"{s['precision']:.3f}",
                    f"{s['recall']:.3f}",
                    f"{s['f1']:.3f}",
                    str(s["gold"]),
                    str(s["predicted"]),
                )
    return table
