"""Entry families: each does what its docstring promises."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.indicators import ema
from gaorg.strategies.signals import donchian_signal
from tests.unit.strategy_kit import random_bars

BARS = random_bars(3000, seed=11)


def compute(name: str, **params) -> np.ndarray:
    return np.asarray(CATALOGUE[name].compute(BARS, params))


@pytest.mark.parametrize("fast, slow", [(2, 3), (12, 48), (50, 400)])
def test_ema_crossover_is_the_sign_of_fast_minus_slow_ema(fast, slow):
    close = np.asarray(BARS.close)
    diff = ema(close, fast) - ema(close, slow)
    expected = np.where(np.isnan(diff), 0.0, np.sign(diff))
    assert np.array_equal(compute("ema_crossover", fast=fast, slow=slow, direction="both"), expected)
    assert np.array_equal(compute("ema_crossover", fast=fast, slow=slow, direction="long"), np.maximum(expected, 0))


def donchian_oracle(high, low, close, n, allow_short):
    out = np.zeros(len(close))
    state = 0.0
    for i in range(n, len(close)):
        if close[i] > high[i - n : i].max():
            state = 1.0
        elif close[i] < low[i - n : i].min():
            state = -1.0 if allow_short else 0.0
        out[i] = state
    return out


@pytest.mark.parametrize("period", [2, 7, 20, 333])
@pytest.mark.parametrize("direction", ["long", "both"])
def test_donchian_goes_long_above_the_high_of_the_previous_n_bars_and_leaves_below_their_low(period, direction):
    h, lo, c = (np.asarray(a) for a in (BARS.high, BARS.low, BARS.close))
    expected = donchian_oracle(h, lo, c, period, direction == "both")
    got = compute("donchian_breakout", period=period, direction=direction)
    assert np.array_equal(got, expected)
    assert np.any(got > 0) and (direction == "long" or np.any(got < 0))


def test_donchian_matches_its_oracle_across_many_flips_and_periods():
    """The kernel keeps only the channel that can act and rebuilds the other at a flip: random
    short series with periods from 1 bar upwards flip often, at every offset within a block."""
    rng = np.random.default_rng(5)
    for _ in range(200):
        n, period = int(rng.integers(5, 300)), int(rng.integers(1, 40))
        mid = np.cumsum(rng.normal(0, 1, n)) + 100
        h, lo, c = mid + rng.random(n), mid - rng.random(n), mid + rng.normal(0, 0.8, n)
        for allow_short in (False, True):
            got = donchian_signal(h, lo, c, period, allow_short)
            assert np.array_equal(got, donchian_oracle(h, lo, c, period, allow_short)), (n, period, allow_short)


@pytest.mark.parametrize("name", sorted(n for n, s in CATALOGUE.items() if s.exact))
def test_an_exact_entry_returns_only_minus_one_zero_or_one(name):
    """``exact`` entries skip the composer's cleaning: their signal must need none."""
    import random

    from gaorg.strategies.sampling import random_params

    rng = random.Random(3)
    for _ in range(10):
        params = random_params(CATALOGUE[name], rng, max_lookback=500)
        for direction in ("long", "both"):
            got = np.asarray(CATALOGUE[name].compute(BARS, {**params, "direction": direction}))
            assert got.dtype == np.float64 and got.flags.writeable
            assert np.isin(got, (-1.0, 0.0, 1.0)).all(), (name, params)


def test_donchian_does_not_count_bar_i_in_its_own_channel():
    n = 30
    close = np.linspace(100, 101, n)  # a steady rise: every close above every earlier high
    bars = random_bars(n, seed=1)
    from gaorg.data.bars import Bars

    flat = Bars.from_arrays(bars.ts, close, close + 0.001, close - 0.001, close)
    out = CATALOGUE["donchian_breakout"].compute(flat, {"period": 5, "direction": "long"})
    assert out[4] == 0.0 and np.all(out[5:] == 1.0)


def cross_oracle(line, lower, upper, allow_short):
    out = np.zeros(len(line))
    state = 0.0
    for i in range(1, len(line)):
        if line[i - 1] <= lower < line[i]:
            state = 1.0
        elif line[i - 1] >= upper > line[i]:
            state = -1.0 if allow_short else 0.0
        out[i] = state
    return out


@pytest.mark.parametrize("direction", ["long", "both"])
def test_stochastic_goes_long_when_d_leaves_oversold_and_exits_when_it_leaves_overbought(direction):
    from gaorg.strategies.indicators import sma, stochastic_k

    h, lo, c = (np.asarray(a) for a in (BARS.high, BARS.low, BARS.close))
    d = sma(stochastic_k(h, lo, c, 14), 3)
    expected = cross_oracle(d, 20.0, 80.0, direction == "both")
    got = compute("stochastic", k_period=14, d_period=3, lower=20.0, upper=80.0, direction=direction)
    assert np.array_equal(got, expected)
    assert np.any(np.diff(got) > 0)


def ichimoku_oracle(h, lo, c, t, k, s, allow_short):
    def mid(p, i):
        return (h[i - p + 1 : i + 1].max() + lo[i - p + 1 : i + 1].min()) / 2

    out = np.zeros(len(c))
    for i in range(s + k - 1, len(c)):
        j = i - k
        a, b = (mid(t, j) + mid(k, j)) / 2, mid(s, j)
        tenkan, kijun = mid(t, i), mid(k, i)
        if c[i] > max(a, b) and tenkan > kijun:
            out[i] = 1.0
        elif allow_short and c[i] < min(a, b) and tenkan < kijun:
            out[i] = -1.0
    return out


@pytest.mark.parametrize("t, k, s", [(9, 26, 52), (3, 8, 40)])
def test_ichimoku_follows_price_outside_the_cloud_displaced_by_kijun_bars(t, k, s):
    h, lo, c = (np.asarray(a)[:800] for a in (BARS.high, BARS.low, BARS.close))
    from gaorg.data.bars import Bars

    bars = Bars.from_arrays(np.arange(800), c, h, lo, c)
    got = CATALOGUE["ichimoku"].compute(bars, {"tenkan": t, "kijun": k, "senkou": s, "direction": "both"})
    assert np.array_equal(got, ichimoku_oracle(h, lo, c, t, k, s, True))
    assert np.any(got > 0) and np.any(got < 0)


def test_vwap_reversion_buys_a_stretch_below_vwap_and_sells_the_return():
    from gaorg.strategies.families.vwap_reversion import zscore

    z = zscore(BARS, 50)
    got = compute("vwap_reversion", period=50, entry_z=2.0, exit_z=0.5, direction="both")
    entered_long = np.flatnonzero((got[1:] == 1.0) & (got[:-1] != 1.0)) + 1
    entered_short = np.flatnonzero((got[1:] == -1.0) & (got[:-1] != -1.0)) + 1
    left_long = np.flatnonzero((got[1:] == 0.0) & (got[:-1] == 1.0)) + 1
    assert len(entered_long) and len(entered_short) and len(left_long)
    assert np.all(z[entered_long] < -2.0) and np.all(z[entered_short] > 2.0)
    assert np.all(z[left_long] > -0.5)
    held_long = np.flatnonzero((got[1:] == 1.0) & (got[:-1] == 1.0)) + 1
    assert np.all(z[held_long] <= -0.5)  # a long is held only while z stays below -exit_z


def test_funding_carry_shorts_high_funding_and_longs_negative_funding():
    from gaorg.data.bars import Bars

    n = 200
    funding = np.concatenate((np.full(100, 5e-5), np.full(100, -5e-5)))  # ~ +-44%/year on 1h
    close = np.full(n, 100.0)
    bars = Bars.from_arrays(np.arange(n) * 3_600_000, close, close, close, close, funding=funding)
    both = CATALOGUE["funding_carry"].compute(bars, {"period": 10, "threshold": 0.2, "direction": "both"})
    short = CATALOGUE["funding_carry"].compute(bars, {"period": 10, "threshold": 0.2, "direction": "short"})
    assert np.all(both[9:100] == -1.0) and np.all(both[109:] == 1.0)
    assert np.all(short[109:] == 0.0)
    high_bar = CATALOGUE["funding_carry"].compute(bars, {"period": 10, "threshold": 0.5, "direction": "both"})
    assert np.all(high_bar == 0.0)  # 44%/year is below a 50% threshold
