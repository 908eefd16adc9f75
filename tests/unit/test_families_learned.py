"""The learned entries: walk-forward fits on labels known at the fit bar, and they learn a pattern."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.data.bars import Bars
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.learned import features, first_fit_bar, forward_returns, walk_forward
from tests.unit.strategy_kit import random_bars


def test_walk_forward_trains_only_on_samples_whose_label_is_known_at_the_fit_bar():
    n, horizon, window, refit, start = 1000, 7, 120, 250, 300
    x = np.arange(n, dtype=float)[:, None].repeat(2, axis=1)  # the features are the sample's index
    fwd = np.arange(n, dtype=float)
    fits = []

    def record(train_x, train_y, new_x):
        fits.append((train_y.min(), train_y.max(), len(new_x)))
        return np.ones(len(new_x))

    out = walk_forward(x, fwd, horizon, window, refit, start, record)
    fit_bars = list(range(start, n, refit))
    assert len(fits) == len(fit_bars)
    for t, (first_j, last_j, predicted) in zip(fit_bars, fits, strict=True):
        assert last_j + horizon == t  # the newest label ends exactly at the fit bar
        assert last_j - first_j + 1 == window
        assert predicted == min(refit, n - t)
    assert np.all(out[:start] == 0.0) and np.all(out[start:] == 1.0)


def test_forward_returns_label_sample_j_with_the_close_h_bars_later():
    bars = random_bars(50, seed=2)
    fwd = forward_returns(bars, 3)
    close = np.asarray(bars.close)
    np.testing.assert_allclose(fwd[:-3], np.log(close[3:] / close[:-3]))
    assert np.all(np.isnan(fwd[-3:]))


def test_features_are_scale_free_and_defined_after_their_lookback():
    a = features(random_bars(600, seed=4), 10)
    b = features(random_bars(600, seed=4, scale=1000.0), 10)
    assert a.shape == (600, 8)
    assert np.all(np.isfinite(a[40:])) and np.all(np.isnan(a[:40]).any(axis=1))
    np.testing.assert_allclose(a[40:], b[40:], rtol=1e-6, atol=1e-9)


def trending_bars(n: int, seed: int) -> Bars:
    """Returns with strong momentum: the sign of the next move follows the recent moves."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    for i in range(1, n):
        r[i] = 0.9 * r[i - 1] + rng.normal(0, 0.003)
    close = 100 * np.exp(np.cumsum(r))
    return Bars.from_arrays(np.arange(n) * 3_600_000, close, close * 1.001, close * 0.999, close)


@pytest.mark.parametrize(
    "name, params",
    [
        ("linear_svc", {"feature_period": 5, "horizon": 1, "window": 300, "refit": 250, "log_c": 0.0, "direction": "both"}),
        (
            "pca_tree",
            {"feature_period": 5, "horizon": 1, "window": 300, "refit": 250, "components": 2, "depth": 3, "quantile": 0.3, "direction": "both"},
        ),
    ],
)
def test_a_learned_entry_predicts_the_direction_of_a_planted_momentum(name, params):
    bars = trending_bars(1500, seed=9)
    signal = CATALOGUE[name].compute(bars, params)
    start = first_fit_bar(params["feature_period"], params["horizon"], params["window"])
    assert np.all(signal[:start] == 0.0)
    nxt = forward_returns(bars, 1)[start:-1]
    active = signal[start:-1] != 0
    hit_rate = np.mean(np.sign(signal[start:-1][active]) == np.sign(nxt[active]))
    assert active.mean() > 0.3 and hit_rate > 0.7
    long_only = CATALOGUE[name].compute(bars, {**params, "direction": "long"})
    assert long_only.min() == 0.0 and np.array_equal(long_only, np.maximum(signal, 0.0))
