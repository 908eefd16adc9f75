"""Helpers for the strategy tests: seeded random-walk bars with volume and funding."""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars

HOUR_MS = 3_600_000


def random_bars(n: int, seed: int = 0, scale: float = 1.0, timeframe: str = "1h") -> Bars:
    """A log random walk with volatility regimes, intrabar ranges, volume and signed funding."""
    rng = np.random.default_rng(seed)
    vol = 0.01 * np.exp(np.cumsum(rng.normal(0.0, 0.05, n)).clip(-1.5, 1.5))
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1.0, n) * vol))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, 0.1, n) * vol)
    wick = np.abs(rng.normal(0.0, 0.5, (2, n))) * vol
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    volume = rng.lognormal(3.0, 1.0, n)
    funding = 1e-5 * np.cumsum(rng.normal(0.0, 0.3, n)).clip(-5, 5) + rng.normal(0.0, 2e-6, n)
    ts = np.arange(n, dtype=np.int64) * HOUR_MS
    return Bars.from_arrays(
        ts, open_ * scale, high * scale, low * scale, close * scale, volume, funding, timeframe=timeframe
    )


def with_changed_tail(bars: Bars, i: int, seed: int) -> Bars:
    """The same bars up to and including ``i``; every field of every later bar replaced."""
    other = random_bars(len(bars), seed=seed, scale=float(bars.close[0]) / 100.0)
    fields = {}
    for name in ("open", "high", "low", "close", "volume", "funding"):
        arr = np.array(getattr(bars, name))
        arr[i + 1 :] = np.asarray(getattr(other, name))[i + 1 :] * 1.37
        fields[name] = arr
    return Bars.from_arrays(bars.ts, **fields, timeframe=bars.timeframe)
