"""The files an evolution run leaves in MLflow: front CSV, genomes, plotly HTML, lineage, checkpoint.

Written to a local directory first and uploaded in one call (one request per file, no more).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gaorg.data.bars import Bars

FRONT_COLUMNS = ("rank", "genome_hash", "modules", "sharpe", "max_drawdown", "consistency",
                 "deflated_sharpe", "holdout_sharpe", "holdout_total_return", "holdout_max_drawdown",
                 "holdout_trades", "stage", "timeframe", "generation", "parents")
EQUITY_CURVES = 5


def write_front_csv(front: Sequence[Any], path: Path) -> Path:
    """One row per front member: objectives, deflated Sharpe, hold-out figures, lineage. The
    hold-out's are the basket's as ``gaorg evolve`` prints them and the gates count them (Sharpe and
    return mean, max drawdown worst, trades total), not per-asset means."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(FRONT_COLUMNS)
        for rank, m in enumerate(front):
            h = {k: v for k, v in m.holdout_summary().items() if v == v}  # no hold-out (--holdout 0): blank
            writer.writerow([rank, m.genome_hash, "+".join(m.genome.modules), m.sharpe, m.max_drawdown,
                             m.consistency, m.deflated_sharpe, h.get("sharpe", ""), h.get("total_return", ""),
                             h.get("max_drawdown", ""), h.get("trades", ""), m.stage, m.timeframe,
                             m.generation, " ".join(m.parents)])
    return path


def write_genomes(front: Sequence[Any], folder: Path) -> list[Path]:
    """Every front genome as ``<hash>.json`` (the canonical, validated JSON)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for m in front:
        path = folder / f"{m.genome_hash}.json"
        path.write_text(m.genome.to_json(indent=2) + "\n")
        out.append(path)
    return out


def write_front_html(front: Sequence[Any], path: Path) -> Path:
    """Plotly scatter of the front: Sharpe against drawdown, coloured by consistency."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(
        x=[m.max_drawdown for m in front], y=[m.sharpe for m in front], mode="markers",
        text=[f"#{i} {m.genome_hash} {'+'.join(m.genome.modules)}<br>DSR {m.deflated_sharpe:.2f}"
              for i, m in enumerate(front)],
        marker=dict(size=11, color=[m.consistency for m in front], colorscale="Viridis", showscale=True,
                    colorbar=dict(title="consistency")),
        hovertemplate="%{text}<br>Sharpe %{y:.2f}, drawdown %{x:.1%}<extra></extra>",
    ))
    fig.update_layout(title="Pareto front (walk-forward)", xaxis_title="max drawdown",
                      yaxis_title="walk-forward Sharpe", height=480)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def write_equity_html(front: Sequence[Any], baskets: Mapping[str, Sequence[Bars]], costs: Any,
                      path: Path, holdout_start: Mapping[str, int | None]) -> Path | None:
    """Equity of the best ``EQUITY_CURVES`` members on each series of their timeframe, hold-out shaded.

    ``holdout_start`` maps ``exchange/symbol/timeframe`` to the first held-out bar time (ms).
    Returns None when no bars are at hand.
    """
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from gaorg.backtest.run import backtest_genome
    from gaorg.errors import DataTooShortError

    best = sorted(front, key=lambda m: -m.sharpe)[:EQUITY_CURVES]
    series = [b for m in best[:1] for b in baskets.get(m.timeframe, ())]
    if not best or not series:
        return None
    fig = make_subplots(rows=len(series), cols=1, shared_xaxes=False,
                        subplot_titles=[f"{b.exchange} {b.symbol} {b.timeframe}" for b in series])
    for row, bars in enumerate(series, start=1):
        times = bars.ts.astype("datetime64[ms]")
        for m in best:
            try:
                result = backtest_genome(m.genome, bars, costs)
            except DataTooShortError:
                continue
            fig.add_trace(go.Scatter(x=times[result.start:result.end], y=np.asarray(result.equity),
                                     name=f"{m.genome_hash} ({'+'.join(m.genome.modules)})",
                                     legendgroup=m.genome_hash, showlegend=row == 1), row=row, col=1)
        start = holdout_start.get(f"{bars.exchange}/{bars.symbol}/{bars.timeframe}")
        if start is not None:
            fig.add_vrect(x0=np.datetime64(start, "ms"), x1=times[-1], fillcolor="#888888", opacity=0.15,
                          line_width=0, annotation_text="hold-out", row=row, col=1)
    fig.update_layout(title="equity of the best strategies (hold-out shaded)", height=320 * len(series))
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path
