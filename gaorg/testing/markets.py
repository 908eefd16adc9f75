"""Markets with a known truth, for tests and for users who want to check a search finds things.

- :func:`planted_ema_market`: the next bar's return leans (by ``edge``, hidden in ``sigma`` of
  noise) in the direction of ``sign(EMA_fast - EMA_slow)`` of the closes so far, so an EMA
  crossover with exactly the planted periods, trading both ways, is the strategy that profits.
- :func:`random_walk_market`: returns are pure noise; no strategy has an edge, and an honest
  search must not report one as significant.

Both are seeded (same arguments, same bars) and open each bar at the previous close, so the
planted edge is captured from the fill at ``open[i+1]``. The generators themselves, with more
kinds and each one's planted rule, are in :mod:`gaorg.data.planted`.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.data.planted import START_MS, bars_from_closes

__all__ = ["START_MS", "planted_ema_market", "random_walk_market"]


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

    :func:`gaorg.data.planted.planted_market` of kind ``trend`` (its bars): ``revert`` (per bar)
    pulls the log price back toward its start, so the trends the lean creates do not outlast the
    planted periods and slower trend followers do not profit as much.
    """
    from gaorg.data.planted import planted_market

    return planted_market("trend", symbol, n_bars, edge=edge, sigma=sigma, seed=seed, timeframe=timeframe,
                          fast=fast, slow=slow, revert=revert).bars


def random_walk_market(
    symbol: str = "WALK", n_bars: int = 3000, sigma: float = 0.01, seed: int = 0, timeframe: str = "1h"
) -> Bars:
    """A driftless geometric random walk: no strategy has an edge on it."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.standard_normal(n_bars) * sigma))
    return bars_from_closes(close, rng, sigma, symbol, timeframe)
