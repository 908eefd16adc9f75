"""``04_compare_promote``: a registered model's candidates side by side, then a decision.

Genomes are read through the safe loader (``genome.json`` only, validated); equity is
re-computed by the engine on each candidate's recorded hold-out range of the store's series (what
its run recorded, as the gates read it).
The decision is :func:`gaorg.tracking.promote.promote` / ``rollback`` themselves: the notebook
shows their gates and verdicts, and never forces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gaorg.config import Settings


@dataclass(frozen=True)
class Candidate:
    """One registered version: its info (tags, aliases) and its validated genome."""

    info: Any
    genome: Any

    @property
    def label(self) -> str:
        aliases = f" [{', '.join(self.info.aliases)}]" if self.info.aliases else ""
        return f"v{self.info.version}{aliases}"


def load_candidates(settings: Settings, model: str, versions: tuple[int, ...] = ()) -> list[Candidate]:
    """The versions of ``model`` (all, newest first, unless ``versions`` names some)."""
    from gaorg.tracking.loader import load_version_genome
    from gaorg.tracking.registry import list_models

    (entry,) = list_models(settings, model)
    aliases = {}
    for alias, version in entry["aliases"].items():
        aliases.setdefault(str(version), []).append(alias)
    wanted = [str(v) for v in versions] or [v["version"] for v in entry["versions"]]
    out = []
    for version in wanted:
        genome, info = load_version_genome(model, version, settings)
        info = type(info)(**{**info.__dict__, "aliases": tuple(sorted(aliases.get(str(version), [])))})
        out.append(Candidate(info, genome))
    return out


COLUMNS = (("wf.sharpe", "sharpe"), ("wf.max_drawdown", "max_drawdown"), ("deflated_sharpe", "deflated_sharpe"),
           ("holdout.sharpe", "holdout_sharpe"), ("holdout.max_drawdown", "holdout_max_drawdown"),
           ("holdout.trades", "holdout_trades"))
"""The figures of :func:`table`: (quantity of ``gaorg.quantities``, key of ``VersionInfo.to_dict``)."""


def table(candidates: list[Candidate]) -> list[dict[str, Any]]:
    """One row per candidate: modules, objectives, deflated Sharpe and recorded hold-out figures, each
    under its quantity's label and in its one format (the strings ``gaorg models`` prints)."""
    from gaorg.quantities import QUANTITIES

    rows = []
    for c in candidates:
        d = c.info.to_dict()
        rows.append({"version": c.label, "genome": d["genome_hash"], "modules": d["modules"],
                     **{QUANTITIES[q].label: QUANTITIES[q].fmt(d.get(k)) for q, k in COLUMNS},
                     "why rejected": d.get("rejected") or ""})
    return rows


def holdout_runs(settings: Settings, candidates: list[Candidate], symbol: str = "", timeframe: str = "") -> dict[str, Any]:
    """Each candidate's backtest on its recorded hold-out range (first recorded series, or ``symbol``).

    Every candidate is scored on the same bars when they share a series; ``symbol``/``timeframe``
    choose one explicitly (from the hold-out start recorded by the first candidate).
    """
    from gaorg.backtest.run import backtest_genome
    from gaorg.data.store import open_store
    from gaorg.evolve.basket import load_basket
    from gaorg.tracking.rescore import rescore_basis

    runs: dict[str, Any] = {}
    with open_store(settings, read_only=True) as store:
        for c in candidates:
            series, costs, _ = rescore_basis(c.info, settings)  # what the gates re-score on
            if not series:
                continue
            pick = next((s for s in series if s[1] == symbol), series[0]) if symbol else series[0]
            exchange, sym, tf, start_ms = pick
            tf = timeframe or tf
            (bars,) = load_basket(store, (sym,), tf, exchange)
            start = int(np.searchsorted(bars.ts, int(start_ms)))
            runs[c.label] = (bars, backtest_genome(c.genome, bars, costs, start=start))
    return runs


def equity_curves(runs: dict[str, Any]) -> Any:
    """A plotly figure of every candidate's hold-out equity, normalised to 1 at the start."""
    import plotly.graph_objects as go

    fig = go.Figure(layout=dict(title="equity on the hold-out (start = 1)", height=420))
    for label, (bars, res) in runs.items():
        fig.add_trace(go.Scatter(x=bars.ts[res.start:res.end].astype("datetime64[ms]"),
                                 y=res.equity / res.equity[0], name=label))
    return fig


def returns_of(runs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per-bar returns of each run, cut to the shortest run so they line up at the end."""
    rets = {label: np.diff(res.equity) / res.equity[:-1] for label, (_, res) in runs.items()}
    n = min((len(r) for r in rets.values()), default=0)
    return {label: r[len(r) - n:] for label, r in rets.items()}


def decide(settings: Settings, model: str, action: str, version: int = 0, reason: str = "") -> Any:
    """Run ``promote`` (gates, never forced) or ``rollback``; a failed gate returns its decision."""
    from gaorg.errors import GateFailedError
    from gaorg.tracking.promote import promote, rollback

    if action == "promote":
        try:
            return promote(model, version, settings, reason=reason)
        except GateFailedError as exc:
            return exc.decision  # type: ignore[attr-defined]
    if action == "rollback":
        return rollback(model, settings, reason=reason)
    return None
