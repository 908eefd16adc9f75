"""vectorbt as the research companion: a gaorg result as a vectorbt ``Portfolio`` for notebooks.

gaorg's engine is the truth; vectorbt is for its stats and plots. :func:`to_portfolio` rebuilds the
portfolio from gaorg's own fills (order records at gaorg's prices and fees), so shorts, flips,
size changes, stops and take-profits appear exactly as gaorg traded them. vectorbt has no funding
payments: its ``value()`` equals gaorg's equity plus the funding paid so far (see docs/backtest.md).
vectorbt is imported lazily (it is slow to import and a notebook extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaorg.backtest.engine import DEFAULT_COSTS, Costs, SimResult, simulate
from gaorg.data.bars import Bars


def order_records(sim: SimResult) -> np.ndarray:
    """gaorg's fills as vectorbt order records (``vectorbt.portfolio.enums.order_dt``), in time order.

    A trade segment gives an entry order and, unless still open at the end, an exit order; a flip
    or a size change is its closing and opening orders at the same price (same cash, same fees).
    """
    from vectorbt.portfolio.enums import OrderSide, order_dt

    rows: list[tuple[int, int, float, float, float, int]] = []
    for t in sim.trades:
        units = float(t["units"])
        entry_fee = float(t["entry_fee"])
        side_in = OrderSide.Buy if units > 0 else OrderSide.Sell
        side_out = OrderSide.Sell if units > 0 else OrderSide.Buy
        rows.append(
            (int(t["entry_idx"]) - sim.start, 1, abs(units), float(t["entry_price"]), entry_fee, side_in)
        )
        if t["reason"] != "end":
            phase = 0 if t["reason"] == "signal" else 2  # signal exits at the open, stops inside the bar
            exit_fee = float(t["fees"]) - entry_fee
            rows.append(
                (
                    int(t["exit_idx"]) - sim.start,
                    phase,
                    abs(units),
                    float(t["exit_price"]),
                    exit_fee,
                    side_out,
                )
            )
    rows.sort(key=lambda r: (r[0], r[1]))
    out = np.zeros(len(rows), dtype=order_dt)
    for i, (idx, _, size, price, fees, side) in enumerate(rows):
        out[i] = (i, 0, idx, size, price, fees, side)
    return out


def to_portfolio(bars: Bars, result_or_target: Any, costs: Costs = DEFAULT_COSTS):
    """A ``vectorbt.Portfolio`` of a gaorg run over its bars (tz-naive UTC index, bar frequency).

    ``result_or_target`` is a ``BacktestResult``, a ``SimResult``, a ``TargetPlan`` or a target
    array (the last two are simulated with ``costs`` first).
    """
    import pandas as pd
    import vectorbt as vbt
    from vectorbt.base.array_wrapper import ArrayWrapper

    sim = getattr(result_or_target, "sim", result_or_target)
    if not isinstance(sim, SimResult):
        sim = simulate(bars, result_or_target, costs=costs)
    frame = bars.to_frame().iloc[sim.start : sim.end]
    close = frame["close"].rename("close")
    wrapper = ArrayWrapper.from_obj(close, freq=pd.Timedelta(bars.timeframe_ms, unit="ms"))
    log_dt = vbt.portfolio.enums.log_dt
    return vbt.Portfolio(
        wrapper,
        close,
        order_records(sim),
        np.zeros(0, dtype=log_dt),
        np.array([sim.costs.init_cash]),
        False,
    )
