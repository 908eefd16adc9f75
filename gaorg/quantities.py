"""One quantity, one figure: the table of quantities every printer of gaorg formats through.

Each quantity has a label, the window it covers (walk-forward folds or hold-out, and how the basket
is summarised) and one format: ``gaorg evolve``, ``gaorg models``, ``gaorg promote``, the version
descriptions in MLflow and the notebooks all print a figure with :func:`fmt`, so the same quantity
of the same version reads the same everywhere (drawdowns as percents with one decimal, trades as
a whole total over the basket, Sharpe ratios with two decimals).

Nothing here imports MLflow or numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quantity:
    """A figure gaorg prints: what it is, which window it covers and how it is written."""

    key: str
    label: str
    window: str
    style: str  # ratio (2 decimals) | percent (1 decimal) | share (0 decimals, %) | count (integer)
    #             | rate (3 significant digits below 100, whole with thousands separators above)

    def fmt(self, value: Any) -> str:
        """``value`` written in this quantity's format ("n/a" when absent or not a number)."""
        try:
            x = float(value)
        except (TypeError, ValueError):
            return "n/a"
        if math.isnan(x):
            return "n/a"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if self.style == "percent":
            return f"{x:.1%}"
        if self.style == "share":
            return f"{x:.0%}"
        if self.style == "count":
            return f"{round(x):d}"
        if self.style == "rate":
            return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
        return f"{x:.2f}"


WF = "walk-forward folds"
QUANTITIES: dict[str, Quantity] = {q.key: q for q in (
    Quantity("wf.sharpe", "walk-forward Sharpe", f"{WF}, mean over folds x assets", "ratio"),
    Quantity("wf.max_drawdown", "walk-forward max drawdown", f"{WF}, worst fold x asset", "percent"),
    Quantity("wf.consistency", "walk-forward consistency", f"{WF}, share of positive folds x assets", "share"),
    Quantity("deflated_sharpe", "deflated Sharpe", f"{WF}, pooled over the basket, deflated for the run's trials",
             "ratio"),
    Quantity("holdout.sharpe", "hold-out Sharpe", "hold-out, mean over the basket", "ratio"),
    Quantity("holdout.max_drawdown", "hold-out max drawdown", "hold-out, worst over the basket", "percent"),
    Quantity("holdout.trades", "hold-out trades", "hold-out, total over the basket", "count"),
    Quantity("holdout.total_return", "hold-out return", "hold-out, mean over the basket", "percent"),
    Quantity("holdout.deflated_sharpe", "hold-out deflated Sharpe",
             "hold-out, pooled over the basket, deflated for the run's candidates", "ratio"),
    Quantity("time.share", "share of evaluation time", "an evolution stage, by entry module", "share"),
    Quantity("time.eval_per_s", "evaluations per second", "an evolution stage's evaluation wall time", "rate"),
)}

GATE_QUANTITY = {"hold-out Sharpe": "holdout.sharpe", "deflated Sharpe": "deflated_sharpe",
                 "hold-out deflated Sharpe": "holdout.deflated_sharpe",
                 "hold-out max drawdown": "holdout.max_drawdown", "hold-out trades": "holdout.trades"}
"""The quantity each promotion gate measures (gate name -> key of :data:`QUANTITIES`)."""


def fmt(key: str, value: Any) -> str:
    """``value`` of the quantity ``key`` in its one format (see :data:`QUANTITIES`)."""
    return QUANTITIES[key].fmt(value)


def gate_fmt(gate: str, value: Any) -> str:
    """A promotion gate's figure (or threshold) in the format of the quantity it measures."""
    key = GATE_QUANTITY.get(gate)
    return fmt(key, value) if key else QUANTITIES["holdout.sharpe"].fmt(value)


def genome_rules(genome: Any) -> list[str]:
    """The genome's rules, one line a module: role, module, what it does and its parameters."""
    from gaorg.strategies.catalogue import CATALOGUE

    lines = []
    roles = [("entry", [genome.entry]), ("filter", genome.filters), ("exit", genome.exits),
             ("sizing", [genome.sizing] if genome.sizing else [])]
    for role, slots in roles:
        for slot in slots:
            spec = CATALOGUE.get(slot.module)
            doc = (spec.doc.split("): ", 1)[-1] if spec is not None else "").rstrip(".")
            params = ", ".join(f"{k}={v}" for k, v in slot.params)
            lines.append(f"{role}: {slot.module}({params})" + (f" - {doc}" if doc else ""))
    return lines


def decision_line(entry: dict[str, Any]) -> str:
    """One decision of a version's history in words: what, who, when, why, the gates that failed."""
    action = str(entry.get("action", "?"))
    text = f"{entry.get('at', '?')} {action} by {entry.get('by', '?')}"
    if entry.get("reason"):
        text += f": {entry['reason']}"
    for key in ("to", "replaced_by"):
        if entry.get(key):
            text += f" ({key.replace('_', ' ')} {entry[key]})"
    failed = failed_gates(entry)
    if failed:
        text += f"; failed: {failed}"
    return text


def failed_gates(entry: dict[str, Any]) -> str:
    """The gates a decision found failing, with figure and threshold ("" when none failed)."""
    gates = entry.get("gates") or {}
    if not isinstance(gates, dict):
        return ""
    out = []
    for name, row in gates.items():
        if not isinstance(row, list) or len(row) < 2 or row[1]:
            continue
        need = f" (needs {row[3]} {gate_fmt(name, row[2])})" if len(row) >= 4 else ""
        out.append(f"{name} {gate_fmt(name, row[0])}{need}")
    return "; ".join(out)


def why_rejected(history: list[dict[str, Any]]) -> str:
    """The last decision on a version when it was a rejection: which gates failed ("" otherwise)."""
    if not history or not isinstance(history[-1], dict) or history[-1].get("action") != "rejected":
        return ""
    return failed_gates(history[-1]) or "rejected"
