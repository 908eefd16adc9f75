"""Markets with a known truth, for tests and for users who want to check a search finds things.

- :func:`planted_ema_market`: the next bar's return leans (by ``edge``, hidden in ``sigma`` of
  noise) in the direction of ``sign(EMA_fast - EMA_slow)`` of the closes so far, so an EMA
  crossover with exactly the planted periods, trading both ways, is the strategy that profits.
- :func:`random_walk_market`: returns are pure noise; no strategy has an edge, and an honest
  search must not report one as significant.

Both are seeded (same arguments, same bars) and open each bar at the previous close, so the
planted edge is captured from the fill at ``open[i+1]``.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.data.timeframes import timeframe_ms

START_MS = 1_577_836_800_000  # 2020-01-01 00:00 UTC


def planted_ema_market(
    symbol: str = "PLANT",
    n_bars: int = 3000,
    fast: int = 10,
    slow: int = 40,
    edge: float = 0.0015,
    sigma: float = 0.01,
    seed: int = 0,
    timeframe: str = "1h",
    revert: float = 0.0,
) -> Bars:
    """Closes whose next return is ``edge * sign(ema(fast) - ema(slow)) + sigma * N(0, 1)``.

    ``revert`` (per bar) pulls the log price back toward its start, so the trends the lean
    creates do not outlast the planted periods and slower trend followers do not profit as much.
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n_bars) * sigma
    a_fast, a_slow = 2.0 / (fast + 1.0), 2.0 / (slow + 1.0)
    close = np.empty(n_bars)
    price = 100.0
    ef = es = price
    for i in range(n_bars):
        lean = edge * np.sign(ef - es) if i >= slow else 0.0
        price *= float(np.exp(lean + noise[i] - revert * np.log(price / 100.0)))
        close[i] = price
        ef = a_fast * price + (1.0 - a_fast) * ef
        es = a_slow * price + (1.0 - a_slow) * es
    return _bars(close, rng, sigma, symbol, timeframe)


def random_walk_market(
    symbol: str = "WALK", n_bars: int = 3000, sigma: float = 0.01, seed: int = 0, timeframe: str = "1h"
) -> Bars:
    """A driftless geometric random walk: no strategy has an edge on it."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.standard_normal(n_bars) * sigma))
    return _bars(close, rng, sigma, symbol, timeframe)


def _bars(close: np.ndarray, rng: np.random.Generator, sigma: float, symbol: str, timeframe: str) -> Bars:
    n = len(close)
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = np.abs(rng.standard_normal((2, n))) * sigma * 0.3
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])
    ts = START_MS + np.arange(n, dtype=np.int64) * timeframe_ms(timeframe)
    volume = np.full(n, 1_000.0)
    return Bars.from_arrays(ts, open_, high, low, close, volume, exchange="synthetic",
                            symbol=symbol, timeframe=timeframe)
