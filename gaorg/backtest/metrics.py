"""The metrics of a simulated run, all from the kernel's running sums (O(1), no pass over equity).

Every metric is a finite number. Where a ratio has no meaningful value (no trades, no
drawdown, no variance) the docstring of :func:`compute_metrics` says what is returned, and
ratios are clipped to ``[-CAP, CAP]`` so that nothing is infinite.
"""

from __future__ import annotations

import math
from typing import Any

from gaorg.backtest import kernel as K
from gaorg.backtest.kernel import sharpe_from_sums

CAP = 1_000.0
"""Bound of cagr, sharpe, sortino, calmar and profit_factor (what would be infinite becomes CAP)."""

METRIC_KEYS = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "trades",
    "win_rate",
    "profit_factor",
    "exposure",
    "turnover",
    "fees_paid",
    "funding_paid",
    "final_equity",
)


def _clip(x: float) -> float:
    return max(-CAP, min(CAP, x))


def compute_metrics(sim: Any, periods_per_year: float) -> dict[str, float | int]:
    """All the metrics of a run (a ``SimResult``), keyed exactly as METRIC_KEYS.

    Returns are the per-bar simple returns of equity marked at each close; the first bar of the
    window is the starting point (equity = initial cash), so ``n`` bars give ``n - 1`` returns.
    ``periods_per_year`` is the number of bars in a 365-day year (``Bars.periods_per_year``).

    - ``total_return``: final equity / initial cash - 1.
    - ``cagr``: (final / initial) ** (periods_per_year / returns) - 1; -1 if equity ended <= 0,
      0 without returns; clipped to CAP.
    - ``sharpe``: mean / standard deviation (ddof=1) of the returns x sqrt(periods_per_year);
      0 with fewer than 2 returns or no variance.
    - ``sortino``: mean / downside deviation (root mean square of min(r, 0) over all returns) x
      sqrt(periods_per_year); with no negative return: 0 if the mean is <= 0, else CAP.
    - ``max_drawdown``: the largest fall from a running peak of equity, a positive fraction
      (0.25 = 25%; above 1 only if equity went negative).
    - ``calmar``: cagr / max_drawdown; with no drawdown: 0 if cagr <= 0, else CAP.
    - ``trades``: trade records (int): each position between two changes of it, including one
      still open at the end (marked at the last close), as vectorbt counts them.
    - ``win_rate``: share of trades with pnl > 0 (pnl after fees and funding); 0 without trades.
    - ``profit_factor``: gross profit / gross loss of the trades; 0 without trades or profit, CAP
      with profit and no loss.
    - ``exposure``: share of bars that end with an open position.
    - ``turnover``: traded notional / mean equity (how many times the capital was traded).
    - ``fees_paid``: fees, in quote currency.
    - ``funding_paid``: funding paid, in quote currency (negative: received).
    - ``final_equity``: equity at the last close, in quote currency.
    """
    s = sim.stats
    init = s[K.INIT_CASH]
    final = s[K.FINAL_EQUITY]
    n_ret = s[K.N_RET]
    ann = math.sqrt(periods_per_year)
    growth = final / init
    if n_ret <= 0:
        cagr = 0.0
    elif growth <= 0:
        cagr = -1.0
    else:
        log_cagr = math.log(growth) * periods_per_year / n_ret
        cagr = CAP if log_cagr > math.log1p(CAP) else math.expm1(log_cagr)
    mean = s[K.S1] / n_ret if n_ret else 0.0
    downside = math.sqrt(s[K.SDOWN2] / n_ret) if n_ret else 0.0
    if downside > 0:
        sortino = _clip(mean / downside * ann)
    else:
        sortino = CAP if mean > 0 else 0.0
    mdd = s[K.MDD]
    if mdd > 0:
        calmar = _clip(cagr / mdd)
    else:
        calmar = CAP if cagr > 0 else 0.0
    trades = int(s[K.TRADES])
    gross_profit, gross_loss = s[K.GROSS_PROFIT], s[K.GROSS_LOSS]
    if gross_loss > 0:
        profit_factor = _clip(gross_profit / gross_loss)
    else:
        profit_factor = CAP if gross_profit > 0 else 0.0
    bars = s[K.BARS]
    mean_equity = s[K.EQUITY_SUM] / bars if bars else 0.0
    return {
        "total_return": float(growth - 1.0),
        "cagr": float(cagr),
        "sharpe": float(_clip(sharpe_from_sums(n_ret, s[K.S1], s[K.S2]) * ann)),
        "sortino": float(sortino),
        "max_drawdown": float(mdd),
        "calmar": float(calmar),
        "trades": trades,
        "win_rate": float(s[K.WINS] / trades) if trades else 0.0,
        "profit_factor": float(profit_factor),
        "exposure": float(s[K.EXPOSED] / bars) if bars else 0.0,
        "turnover": float(s[K.NOTIONAL] / mean_equity) if mean_equity > 0 else 0.0,
        "fees_paid": float(s[K.FEES]),
        "funding_paid": float(s[K.FUNDING]),
        "final_equity": float(final),
    }
