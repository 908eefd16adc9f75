"""Planted markets: seeded, each with the rule that earns its edge, and nulls that offer none."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.backtest.run import backtest
from gaorg.data.planted import KINDS, planted_market, real_sample_returns
from gaorg.errors import InputError
from gaorg.testing.markets import planted_ema_market


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_arguments_give_the_same_bars_and_another_seed_others(kind):
    a, b = planted_market(kind, n_bars=600, seed=3), planted_market(kind, n_bars=600, seed=3)
    assert np.array_equal(a.bars.close, b.bars.close) and np.array_equal(a.oracle, b.oracle)
    assert not np.array_equal(a.bars.close, planted_market(kind, n_bars=600, seed=4).bars.close)
    assert np.array_equal(a.bars.open[1:], a.bars.close[:-1])  # each bar opens at the last close


def test_the_trend_kind_is_the_demos_planted_ema_market():
    legacy = planted_ema_market("X", 1500, seed=9, revert=0.005)
    assert np.array_equal(planted_market("trend", "X", 1500, seed=9, revert=0.005).bars.close, legacy.close)


@pytest.mark.parametrize("kind", ["trend", "reversion", "breakout"])
def test_the_planted_rule_earns_the_edge_on_bars_it_never_saw_and_not_without_it(kind):
    with_edge = planted_market(kind, n_bars=8000, edge=0.002, seed=1)
    without = planted_market(kind, n_bars=8000, edge=0.0, seed=1)
    earned = backtest(with_edge.bars, with_edge.oracle, start=4000).metrics["sharpe"]
    luck = backtest(without.bars, without.oracle, start=4000).metrics["sharpe"]
    assert earned > 3.0 and earned > luck + 3.0


def test_a_decayed_edge_stops_where_it_is_told():
    m = planted_market("trend", n_bars=3000, edge=0.003, seed=2, edge_until=2000)
    assert np.any(m.oracle[:1999] != 0) and not np.any(m.oracle[1999:])
    # after the stop the planted rule earns nothing (the leaning stopped)
    rule = planted_market("trend", n_bars=3000, edge=0.003, seed=2)
    after = backtest(m.bars, rule.oracle, start=2000).metrics["sharpe"]
    before = backtest(m.bars, rule.oracle, end=2000, start=100).metrics["sharpe"]
    assert before > 3.0 and after < before - 3.0


def test_the_bootstrap_keeps_clustering_and_tails_but_no_direction():
    real = real_sample_returns()
    m = planted_market("bootstrap", n_bars=20_000, seed=5)
    r = np.diff(np.log(m.bars.close))
    kurt = np.mean((r - r.mean()) ** 4) / r.var() ** 2

    def lag1(x):
        return float(np.corrcoef(x[:-1], x[1:])[0, 1])

    assert lag1(np.abs(r)) > 0.05 and lag1(np.abs(real)) > 0.05  # volatility clusters
    assert abs(lag1(r)) < 0.03  # the sign predicts nothing
    assert kurt > 4.0  # fat tails, as the real series
    assert np.std(r) == pytest.approx(np.std(real), rel=0.15)
    assert not np.any(m.oracle) and m.edge == 0.0


def test_unknown_kinds_and_bad_sizes_are_refused():
    with pytest.raises(InputError, match="unknown planted market kind 'trnd'"):
        planted_market("trnd")
    with pytest.raises(InputError, match="fast < slow"):
        planted_market("trend", fast=40, slow=10)


def test_correlated_walks_move_together_without_an_edge():
    from gaorg.data.planted import correlated_walks
    from gaorg.evolve.stats import design_effect

    walks = correlated_walks(["A", "B", "C"], 5000, rho=0.8, seed=4)
    r = np.array([np.diff(np.log(w.bars.close)) for w in walks])
    assert np.corrcoef(r)[0, 1] == pytest.approx(0.8, abs=0.03)
    assert design_effect([(w.bars.ts, w.bars.close) for w in walks]) == pytest.approx(2.6, abs=0.1)
    assert not any(np.any(w.oracle) for w in walks) and abs(np.mean(r)) < 0.001
    with pytest.raises(InputError, match="rho"):
        correlated_walks(["A"], 10, rho=1.5)
