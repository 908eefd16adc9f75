"""Indicator kernels against plain-numpy definitions, on a random series and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaorg.strategies import indicators as ind
from tests.unit.strategy_kit import random_bars

B = random_bars(1500, seed=21)
H, L, C, V = (np.asarray(a) for a in (B.high, B.low, B.close, B.volume))


def windows(x, p):
    return [x[i - p + 1 : i + 1] if i >= p - 1 else None for i in range(len(x))]


def naive(x, p, f):
    return np.array([np.nan if w is None else f(w) for w in windows(x, p)])


@pytest.mark.parametrize("p", [1, 2, 3, 17, 250, 1499, 1500])
def test_rolling_max_min_and_mean_equal_their_windowed_definitions(p):
    assert np.array_equal(ind.rolling_max(H, p), naive(H, p, np.max), equal_nan=True)
    assert np.array_equal(ind.rolling_min(L, p), naive(L, p, np.min), equal_nan=True)
    np.testing.assert_allclose(ind.sma(C, p), naive(C, p, np.mean), rtol=1e-10)


def test_rolling_windows_longer_than_the_series_are_all_nan():
    assert np.all(np.isnan(ind.rolling_max(H[:10], 11))) and np.all(np.isnan(ind.sma(C[:10], 11)))


@pytest.mark.parametrize("p", [2, 30, 400])
def test_rolling_std_is_the_population_std_of_the_window(p):
    r = ind.log_returns(C)
    expected = naive(r, p, np.std)
    got = ind.rolling_std(r, p)
    assert np.all(np.isnan(got[:p]))  # r[0] is NaN, so the first full window ends at p
    np.testing.assert_allclose(got[p:], expected[p:], rtol=1e-6, atol=1e-12)


def test_ema_follows_its_recursion_from_an_sma_seed():
    p = 10
    out = ind.ema(C, p)
    assert np.isnan(out[p - 2]) and out[p - 1] == pytest.approx(C[:p].mean())
    a = 2 / (p + 1)
    assert out[p] == pytest.approx(a * C[p] + (1 - a) * out[p - 1])


def test_rsi_is_wilders_ratio_and_100_on_a_steady_rise():
    p = 14
    d = np.diff(C)
    up, down = np.clip(d, 0, None), np.clip(-d, 0, None)
    g, lo = up[:p].mean(), down[:p].mean()
    expected = [100 * g / (g + lo)]
    for k in range(p, len(d)):
        g = (g * (p - 1) + up[k]) / p
        lo = (lo * (p - 1) + down[k]) / p
        expected.append(100 * g / (g + lo))
    np.testing.assert_allclose(ind.rsi(C, p)[p:], expected, rtol=1e-10)
    assert np.all(ind.rsi(np.arange(1.0, 50.0), 5)[5:] == 100.0)
    assert np.all(ind.rsi(np.full(30, 7.0), 5)[5:] == 50.0)


def test_atr_is_wilders_average_of_the_true_range():
    p = 5
    tr = np.maximum(H[1:], C[:-1]) - np.minimum(L[1:], C[:-1])
    value = tr[:p].mean()
    expected = [value]
    for k in range(p, len(tr)):
        value = (value * (p - 1) + tr[k]) / p
        expected.append(value)
    np.testing.assert_allclose(ind.atr(H, L, C, p)[p:], expected, rtol=1e-10)
    assert np.all(np.isnan(ind.atr(H, L, C, p)[:p]))


def test_stochastic_k_places_the_close_in_the_range_and_reads_50_when_flat():
    p = 20
    expected = 100 * (C - naive(L, p, np.min)) / (naive(H, p, np.max) - naive(L, p, np.min))
    np.testing.assert_allclose(ind.stochastic_k(H, L, C, p), expected, rtol=1e-10)
    flat = np.full(30, 3.0)
    assert np.all(ind.stochastic_k(flat, flat, flat, 5)[4:] == 50.0)


def test_rolling_vwap_weights_the_typical_price_by_volume_and_falls_back_to_the_mean():
    p = 12
    tp = (H + L + C) / 3
    expected = naive(tp * V, p, np.sum) / naive(V, p, np.sum)
    np.testing.assert_allclose(ind.rolling_vwap(H, L, C, V, p), expected, rtol=1e-9)
    no_volume = ind.rolling_vwap(H, L, C, np.zeros_like(V), p)
    np.testing.assert_allclose(no_volume, naive(tp, p, np.mean), rtol=1e-9)


def test_shift_delays_by_k_bars():
    out = ind.shift(C, 3)
    assert np.all(np.isnan(out[:3])) and np.array_equal(out[3:], C[:-3])


@pytest.mark.parametrize("p", [5, 60])
def test_vwap_zscore_is_the_log_distance_from_vwap_over_its_rolling_std(p):
    d = np.log(C / ind.rolling_vwap(H, L, C, V, p))
    sd = naive(d, p, np.std)
    expected = d / sd
    got = ind.vwap_zscore(H, L, C, V, p)
    assert np.all(np.isnan(got[: 2 * p - 2])) and np.all(np.isfinite(got[2 * p - 2 :]))
    np.testing.assert_allclose(got[2 * p - 2 :], expected[2 * p - 2 :], rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    x=st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=80),
    p=st.integers(1, 90),
)
def test_rolling_extremes_equal_the_window_max_and_min_for_any_series_and_period(x, p):
    arr = np.array(x)
    assert np.array_equal(ind.rolling_max(arr, p), naive(arr, p, np.max), equal_nan=True)
    assert np.array_equal(ind.rolling_min(arr, p), naive(arr, p, np.min), equal_nan=True)
