"""A backtest as one self-contained plotly HTML page: price with trades, equity, drawdown, metrics."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from gaorg.data.bars import Bars

MAX_POINTS = 20_000
"""Lines are thinned to about this many points (the last bar kept); trades are all drawn."""


def write_report(path: str | Path, bars: Bars, result: Any) -> Path:
    """Write the report of ``result`` (a ``BacktestResult``) over ``bars`` to ``path`` (atomically).

    Three stacked panels sharing the time axis: close price with entry (triangle) and exit
    (cross) markers, equity, drawdown; the metrics in the title. Works offline (plotly.js inlined).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    path = Path(path)
    start, end = result.start, result.end
    times = bars.ts[start:end].astype("datetime64[ms]")
    equity = np.asarray(result.equity)
    drawdown = 1.0 - equity / np.maximum.accumulate(equity)
    step = max(1, len(times) // MAX_POINTS)
    keep = np.r_[np.arange(0, len(times), step), len(times) - 1] if len(times) else np.arange(0)

    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.5, 0.3, 0.2],
        subplot_titles=("price and trades", "equity", "drawdown"),
    )
    fig.add_trace(
        go.Scattergl(x=times[keep], y=bars.close[start:end][keep], name="close", line={"width": 1}), 1, 1
    )
    trades = result.trades
    if len(trades):
        long = trades["units"] > 0
        for mask, side, color in ((long, "long", "green"), (~long, "short", "red")):
            t = trades[mask]
            fig.add_trace(
                go.Scattergl(
                    x=bars.ts[t["entry_idx"]].astype("datetime64[ms]"),
                    y=t["entry_price"],
                    mode="markers",
                    name=f"{side} entry",
                    marker={
                        "symbol": "triangle-up" if side == "long" else "triangle-down",
                        "color": color,
                        "size": 8,
                    },
                ),
                1,
                1,
            )
        closed = trades[trades["reason"] != "end"]
        fig.add_trace(
            go.Scattergl(
                x=bars.ts[closed["exit_idx"]].astype("datetime64[ms]"),
                y=closed["exit_price"],
                mode="markers",
                name="exit",
                text=[f"{r} pnl {p:.2f}" for r, p in zip(closed["reason"], closed["pnl"], strict=True)],
                marker={"symbol": "x", "color": "black", "size": 7},
            ),
            1,
            1,
        )
    fig.add_trace(go.Scattergl(x=times[keep], y=equity[keep], name="equity", line={"width": 1}), 2, 1)
    fig.add_trace(
        go.Scattergl(x=times[keep], y=-drawdown[keep], name="drawdown", fill="tozeroy", line={"width": 1}),
        3,
        1,
    )
    m = result.metrics
    title = (
        f"{bars.exchange} {bars.symbol} {bars.timeframe} — return {m['total_return']:.2%}, "
        f"Sharpe {m['sharpe']:.2f}, max drawdown {m['max_drawdown']:.2%}, {m['trades']} trades"
    )
    fig.update_layout(title=title, height=900, hovermode="x unified", template="plotly_white")
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fig.write_html(tmp, include_plotlyjs=True, full_html=True)
    os.replace(tmp, path)
    return path
