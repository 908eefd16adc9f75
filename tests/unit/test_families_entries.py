"""Entry families: each does what its docstring promises."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.indicators import ema
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


def test_donchian_does_not_count_bar_i_in_its_own_channel():
    n = 30
    close = np.linspace(100, 101, n)  # a steady rise: every close above every earlier high
    bars = random_bars(n, seed=1)
    from gaorg.data.bars import Bars

    flat = Bars.from_arrays(bars.ts, close, close + 0.001, close - 0.001, close)
    out = CATALOGUE["donchian_breakout"].compute(flat, {"period": 5, "direction": "long"})
    assert out[4] == 0.0 and np.all(out[5:] == 1.0)
