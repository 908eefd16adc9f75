"""A seeded synthetic market: OHLCV with regimes (trend, range, volatility clusters) and funding.

Same (symbol, timeframe, n_bars, seed, start) give the same bars, bit for bit. Regimes follow a
Markov chain whose expected durations are in days, so a 1h and a 1d series of the same seed have
the same character. Volatility clusters come from a GARCH(1,1) recursion; a range regime pulls the
price back to its mean. Funding is paid hourly (as on Hyperliquid) and leans with the trend.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from gaorg.data.bars import Bars, align_funding
from gaorg.data.timeframes import DAY_MS, timeframe_ms
from gaorg.errors import InputError

HOUR_MS = 3_600_000
DEFAULT_START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z
REGIMES = ("trend_up", "trend_down", "range", "turbulent")
# daily drift, daily volatility multiplier, expected duration in days, funding lean per hour
_DRIFT = np.array([0.004, -0.004, 0.0, 0.0])
_VOLX = np.array([1.0, 1.2, 0.7, 2.2])
_DAYS = np.array([40.0, 25.0, 30.0, 8.0])
_LEAN = np.array([2e-5, -1e-5, 0.0, 0.0])


@dataclass(frozen=True)
class SynthMarket:
    """Synthetic bars and the funding events behind their ``funding`` column (hourly times, rates)."""

    bars: Bars
    regime: np.ndarray  # regime index per bar (see REGIMES)
    funding_ts: np.ndarray
    funding_rate: np.ndarray


def synth_market(
    symbol: str = "SYNTH",
    timeframe: str = "1h",
    n_bars: int = 2000,
    seed: int = 0,
    *,
    start_ms: int = DEFAULT_START_MS,
    price: float = 100.0,
    daily_vol: float = 0.03,
    exchange: str = "synthetic",
) -> SynthMarket:
    """Generate ``n_bars`` bars of ``timeframe`` from ``start_ms`` (aligned down to the timeframe)."""
    tf = timeframe_ms(timeframe)
    if n_bars < 1:
        raise InputError(f"n_bars must be at least 1, got {n_bars}")
    if price <= 0 or daily_vol <= 0:
        raise InputError("price and daily_vol must be positive")
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    start = start_ms - start_ms % tf
    ts = start + np.arange(n_bars, dtype=np.int64) * tf
    frac = tf / DAY_MS  # share of a day per bar

    regime = _regimes(rng, n_bars, frac)
    vol_bar = daily_vol * np.sqrt(frac) * _VOLX[regime]
    shocks = rng.standard_t(df=5, size=n_bars) / np.sqrt(5 / 3)
    # GARCH(1,1) on the standardised shocks: volatility clusters
    omega, alpha, beta = 0.05, 0.1, 0.85
    var = np.empty(n_bars)
    v = 1.0
    for i in range(n_bars):
        var[i] = v
        v = omega + alpha * v * shocks[i] ** 2 + beta * v
    ret = _DRIFT[regime] * frac + vol_bar * np.sqrt(var) * shocks
    logp = np.log(price) + np.cumsum(ret)
    # range regime: pull back towards the running level where the range began
    in_range = regime == 2
    if in_range.any():
        anchor = _segment_start_values(logp, in_range)
        logp = np.where(in_range, logp - 0.5 * (logp - anchor), logp)
    close = np.exp(logp)
    open_ = np.r_[price, close[:-1]] * np.exp(rng.normal(0, 0.05, n_bars) * vol_bar)
    wick = np.abs(rng.normal(0, 0.6, (2, n_bars))) * vol_bar * np.sqrt(var)
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    volume = np.exp(rng.normal(8, 0.4, n_bars)) * (1 + 40 * np.abs(ret)) * frac * 24

    f_ts, f_rate = _funding(rng, start, start + n_bars * tf, regime, tf)
    bars = Bars.from_arrays(ts, open_, high, low, close, volume, align_funding(ts, tf, f_ts, f_rate),
                            exchange=exchange, symbol=symbol, timeframe=timeframe)
    return SynthMarket(bars, regime, f_ts, f_rate)


def synth_bars(symbol: str = "SYNTH", timeframe: str = "1h", n_bars: int = 2000, seed: int = 0, **kw) -> Bars:
    """The bars of :func:`synth_market` (funding already aligned)."""
    return synth_market(symbol, timeframe, n_bars, seed, **kw).bars


def _regimes(rng: np.random.Generator, n: int, frac: float) -> np.ndarray:
    stay = np.exp(-frac / _DAYS)  # per-bar probability of staying in the regime
    out = np.empty(n, dtype=np.int64)
    state = int(rng.integers(0, len(REGIMES)))
    u = rng.random(n)
    nxt = rng.integers(0, len(REGIMES) - 1, n)
    for i in range(n):
        if u[i] > stay[state]:
            state = int(nxt[i] + (nxt[i] >= state))  # any other regime
        out[i] = state
    return out


def _segment_start_values(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    starts = mask & ~np.r_[False, mask[:-1]]
    idx = np.where(starts, np.arange(len(values)), 0)
    np.maximum.accumulate(idx, out=idx)
    return values[idx]


def _funding(rng, start: int, end: int, regime: np.ndarray, tf: int) -> tuple[np.ndarray, np.ndarray]:
    f_ts = np.arange(start - start % HOUR_MS + HOUR_MS, end + 1, HOUR_MS, dtype=np.int64)
    bar = np.clip((f_ts - start - 1) // tf, 0, len(regime) - 1)
    eps = rng.normal(0, 2e-6, len(f_ts))
    noise = np.empty(len(f_ts))
    x = 0.0
    for i in range(len(f_ts)):  # AR(1): a mean-reverting wander around the regime's level
        x = 0.97 * x + eps[i]
        noise[i] = x
    rate = 1.25e-5 + _LEAN[regime[bar]] + noise
    return f_ts, np.round(rate, 10)
