"""Filters, exits and sizing: each does what its docstring promises."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.data.bars import Bars
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.compose import targets
from gaorg.strategies.genome import make_genome
from gaorg.strategies.indicators import rsi, sma
from tests.unit.strategy_kit import random_bars

BARS = random_bars(2000, seed=5)
HOUR = 3_600_000


def line_bars(close, spread=0.0):
    close = np.asarray(close, dtype=float)
    return Bars.from_arrays(np.arange(len(close)) * HOUR, close, close + spread, close - spread, close)


def test_rsi_filter_blocks_longs_above_upper_and_shorts_below_lower():
    allow_long, allow_short = CATALOGUE["rsi_filter"].compute(BARS, {"period": 14, "upper": 70.0, "lower": 30.0})
    r = rsi(np.asarray(BARS.close), 14)
    assert np.array_equal(allow_long, r < 70.0) and np.array_equal(allow_short, r > 30.0)
    assert not allow_long[:14].any() and not allow_short[:14].any()  # blocked in warm-up
    rising = line_bars(np.linspace(100, 200, 100))
    allow_long, allow_short = CATALOGUE["rsi_filter"].compute(rising, {"period": 14, "upper": 70.0, "lower": 30.0})
    assert not allow_long.any() and allow_short[14:].all()


def test_a_filter_zeroes_the_entry_signal_it_does_not_allow():
    entry = ("ema_crossover", {"fast": 5, "slow": 20, "direction": "both"})
    rsi_params = {"period": 14, "upper": 60.0, "lower": 40.0}
    plain = targets(make_genome(entry), BARS).target
    filtered = targets(make_genome(entry, filters=(("rsi_filter", rsi_params),)), BARS).target
    allow_long, allow_short = CATALOGUE["rsi_filter"].compute(BARS, rsi_params)
    expected = np.where((plain > 0) & ~allow_long, 0.0, np.where((plain < 0) & ~allow_short, 0.0, plain))
    assert np.array_equal(filtered, expected) and not np.array_equal(filtered, plain)


def test_sma_trend_allows_longs_above_the_band_and_shorts_below_it():
    allow_long, allow_short = CATALOGUE["sma_trend"].compute(BARS, {"period": 50, "band": 0.01})
    close = np.asarray(BARS.close)
    avg = sma(close, 50)
    assert np.array_equal(allow_long, close > avg * 1.01) and np.array_equal(allow_short, close < avg * 0.99)
    neutral = ~allow_long & ~allow_short
    assert neutral[49:].any()  # the band leaves a zone where neither side trades
    up = line_bars(np.linspace(100, 150, 200))
    allow_long, allow_short = CATALOGUE["sma_trend"].compute(up, {"period": 20, "band": 0.0})
    assert allow_long[19:].all() and not allow_short.any()


def test_atr_stop_gives_distances_in_atr_multiples_of_the_price():
    bars = line_bars(np.full(100, 200.0), spread=1.0)  # true range 2 on every bar: ATR = 2 = 1% of price
    stop, take = CATALOGUE["atr_stop"].compute(bars, {"period": 10, "stop_mult": 2.0, "take_mult": 5.0})
    assert np.all(np.isnan(stop[:10])) and np.all(np.isnan(take[:10]))
    np.testing.assert_allclose(stop[10:], 0.02)
    np.testing.assert_allclose(take[10:], 0.05)


def test_the_tightest_of_the_exits_reaches_the_plan():
    entry = ("ema_crossover", {"fast": 5, "slow": 20, "direction": "both"})
    params = {"period": 10, "stop_mult": 2.0, "take_mult": 5.0}
    plan = targets(make_genome(entry, exits=(("atr_stop", params),)), BARS)
    stop, take = CATALOGUE["atr_stop"].compute(BARS, params)
    assert np.array_equal(plan.stop, stop, equal_nan=True) and np.array_equal(plan.take, take, equal_nan=True)
    bare = targets(make_genome(entry), BARS)
    assert np.all(np.isnan(bare.stop)) and np.all(np.isnan(bare.take))


@pytest.mark.parametrize("target_vol, expected", [(0.5, None), (100.0, 1.0)])
def test_vol_scaling_is_target_over_realised_vol_capped_at_one(target_vol, expected):
    r = 0.01
    close = 100 * np.exp(np.cumsum(np.where(np.arange(400) % 2 == 0, r, -r)))  # |log return| = r
    bars = line_bars(close)
    scale = CATALOGUE["vol_scaling"].compute(bars, {"period": 20, "target_vol": target_vol})
    realised = r * np.sqrt(bars.periods_per_year)
    assert np.all(np.isnan(scale[:20]))
    np.testing.assert_allclose(scale[20:], expected if expected is not None else target_vol / realised, rtol=1e-6)


def test_vol_scaling_is_annualised_by_timeframe():
    close = np.asarray(BARS.close)
    hourly = line_bars(close)
    daily = Bars.from_arrays(np.arange(len(close)) * 24 * HOUR, close, close, close, close, timeframe="1d")
    params = {"period": 50, "target_vol": 0.05}
    on_1h = CATALOGUE["vol_scaling"].compute(hourly, params)[50:]
    on_1d = CATALOGUE["vol_scaling"].compute(daily, params)[50:]
    both_uncapped = on_1d < 1.0
    assert both_uncapped.mean() > 0.9
    np.testing.assert_allclose(on_1d[both_uncapped] / on_1h[both_uncapped], np.sqrt(24.0), rtol=1e-9)


def test_sizing_scales_the_signal_by_the_scale_at_entry_and_holds_it():
    entry = ("ema_crossover", {"fast": 5, "slow": 20, "direction": "both"})
    sizing = ("vol_scaling", {"period": 30, "target_vol": 0.3})
    plain = targets(make_genome(entry), BARS).target
    sized = targets(make_genome(entry, sizing=sizing), BARS).target
    scale = np.nan_to_num(CATALOGUE["vol_scaling"].compute(BARS, sizing[1]))
    changes = np.flatnonzero(np.diff(plain) != 0) + 1
    for a, b in zip(changes[:-1], changes[1:], strict=True):
        np.testing.assert_allclose(sized[a:b], plain[a] * scale[a])  # held from the entry bar
