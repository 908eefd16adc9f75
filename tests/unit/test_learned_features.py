"""The learned features' rolling parts in one pass are the indicators' own values bit for bit."""

from __future__ import annotations

import os

import numpy as np

from gaorg.strategies import indicators, learned_features
from gaorg.strategies.indicators import log_returns, rolling_std, rsi, sma, stochastic_k


def _series(rng: np.random.Generator, n: int, kind: int):
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    if kind == 1:
        close[n // 4 : n // 4 + 90] = close[n // 4]  # flat: zero deviations, zero spans, no moves
    spread = np.abs(rng.normal(0.0, 0.004, n)) * close
    high, low = close + spread, close - spread
    if kind == 2:
        high[n // 3 : n // 3 + 40] = low[n // 3 : n // 3 + 40] = close[n // 3 : n // 3 + 40]
    r = log_returns(close)
    if kind == 3:  # NaNs entering and leaving the windows, and in the closes (the SMA restarts)
        r[rng.integers(1, n, 6)] = np.nan
        close = close.copy()
        close[rng.integers(0, n, 3)] = np.nan
    return close, high, low, r


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint64)


def test_feature_parts_are_the_indicators_values_bit_for_bit():
    rng = np.random.default_rng(7)
    for case in range(24):
        n = int(rng.choice((5, 40, 700, 3000)))
        close, high, low, r = _series(rng, n, case % 4)
        for period in (1, 3, 17, 60, 250):
            vol_long = rolling_std(r, 4 * period)
            with np.errstate(divide="ignore", invalid="ignore"):
                unit = np.where(vol_long > 0.0, vol_long, np.nan)
                ratio = rolling_std(r, period) / unit
            want = (
                unit,
                sma(close, period),
                rsi(close, period),
                stochastic_k(high, low, close, period),
                ratio,
            )
            for count in (1, 4, 5, 6, 8):
                got = learned_features.feature_parts(close, high, low, r, period, count)
                asked = (True, count > 3, count > 4, count > 5, count > 6)
                for name, g, w, a in zip(("unit", "sma", "rsi", "k", "ratio"), got, want, asked, strict=True):
                    if not a:
                        assert g.shape == (0,), name
                        continue
                    assert np.array_equal(_bits(g), _bits(w)), (case, n, period, count, name)


def test_finite_rows_is_numpys_row_wise_all_finite():
    rng = np.random.default_rng(3)
    for d in (1, 5, 8):
        x = np.asfortranarray(rng.normal(size=(500, d)))
        x[rng.integers(0, 500, 40), rng.integers(0, d, 40)] = np.nan
        x[rng.integers(0, 500, 10), rng.integers(0, d, 10)] = np.inf
        for view in (x, x[:, : max(1, d - 2)]):
            assert np.array_equal(learned_features.finite_rows(view), np.isfinite(view).all(axis=1))


def test_feature_parts_cache_depends_on_the_indicators_it_calls():
    assert learned_features.DEPENDENCIES_STAMPED
    stat = os.stat(indicators.__file__)
    assert ((stat.st_mtime, stat.st_size),) in learned_features.feature_parts._cache._cache_file._source_stamp
