"""The seeded synthetic market: reproducible, valid, with regimes, volatility clusters and funding."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.data.bars import align_funding
from gaorg.data.synth import REGIMES, synth_bars, synth_market
from gaorg.data.validate import validate_bars


def test_same_seed_gives_the_same_bars_and_another_seed_does_not():
    a, b = synth_market("BTC", "1h", 3000, seed=5), synth_market("BTC", "1h", 3000, seed=5)
    for k in ("ts", "open", "high", "low", "close", "volume", "funding"):
        np.testing.assert_array_equal(getattr(a.bars, k), getattr(b.bars, k))
    assert not np.array_equal(a.bars.close, synth_bars("BTC", "1h", 3000, seed=6).close)
    assert not np.array_equal(a.bars.close, synth_bars("ETH", "1h", 3000, seed=5).close)


def test_synthetic_bars_pass_the_store_validation():
    bars = synth_bars("BTC", "15m", 5000, seed=1)
    frame = {k: getattr(bars, k) for k in ("ts", "open", "high", "low", "close", "volume")}
    _, report = validate_bars(frame, "15m")
    assert not report.changed


def test_the_market_visits_every_regime_and_trends_differ_from_ranges():
    m = synth_market("BTC", "1h", 20_000, seed=2)
    ret = np.diff(np.log(m.bars.close), prepend=np.log(m.bars.open[0]))
    seen = set(np.unique(m.regime))
    assert seen == set(range(len(REGIMES)))
    up, down, turbulent = (ret[m.regime == REGIMES.index(r)] for r in ("trend_up", "trend_down", "turbulent"))
    assert up.mean() > 0 > down.mean()
    assert turbulent.std() > 1.5 * ret[m.regime == REGIMES.index("range")].std()


def test_volatility_clusters_show_as_autocorrelated_absolute_returns():
    close = synth_bars("BTC", "1h", 20_000, seed=3).close
    a = np.abs(np.diff(np.log(close)))
    a = a - a.mean()
    lag1 = (a[1:] * a[:-1]).mean() / a.var()
    assert lag1 > 0.1


def test_funding_is_hourly_and_aligned_to_the_bars_per_the_contract():
    m = synth_market("BTC", "4h", 500, seed=4)
    assert np.all(np.diff(m.funding_ts) == 3_600_000)
    np.testing.assert_array_equal(m.bars.funding, align_funding(m.bars.ts, 4 * 3_600_000, m.funding_ts,
                                                                m.funding_rate))
    assert m.bars.funding[0] == pytest.approx(m.funding_rate[:4].sum())  # 01:00 .. 04:00 belong to bar 00:00
    assert 0 < np.median(m.funding_rate) < 1e-4
