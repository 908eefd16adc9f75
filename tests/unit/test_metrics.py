"""Metrics: exactly the documented keys, the textbook formulas on the equity curve, finite always."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from gaorg.backtest.engine import FOLD_COLUMNS, Costs, fold_stats, simulate
from gaorg.backtest.metrics import CAP, METRIC_KEYS, compute_metrics
from gaorg.backtest.run import backtest
from gaorg.data.bars import Bars

SPEC_KEYS = (
    "total_return cagr sharpe sortino max_drawdown calmar trades win_rate profit_factor "
    "exposure turnover fees_paid funding_paid final_equity"
).split()


def random_bars(n: int = 2000, seed: int = 0, timeframe: str = "1h") -> Bars:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.r_[100, c[:-1]]
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(o, c) * (1 - rng.uniform(0, 0.005, n))
    ts = np.arange(n, dtype=np.int64) * 3_600_000
    return Bars.from_arrays(ts, o, h, low, c, funding=rng.normal(0, 1e-4, n), timeframe=timeframe)


def random_target(n: int, seed: int = 1, hold: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.repeat(rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], n // hold + 1), hold)[:n]


def test_compute_metrics_returns_exactly_the_keys_of_the_spec():
    bars = random_bars()
    metrics = compute_metrics(simulate(bars, random_target(len(bars))), bars.periods_per_year)
    assert list(metrics) == list(METRIC_KEYS) == SPEC_KEYS
    assert isinstance(metrics["trades"], int)
    assert all(isinstance(v, float) for k, v in metrics.items() if k != "trades")


def test_the_docstring_lists_every_key_it_returns():
    documented = re.findall(r"- ``(\w+)``", compute_metrics.__doc__)
    assert documented == list(METRIC_KEYS)


def test_metrics_match_the_formulas_computed_from_the_equity_curve_and_trades():
    bars = random_bars(3000, seed=4)
    costs = Costs(fee=0.0005, slippage=0.0002, init_cash=5000)
    sim = simulate(bars, random_target(len(bars), seed=5), stop=np.full(len(bars), 0.02), costs=costs)
    m = compute_metrics(sim, bars.periods_per_year)
    eq = sim.equity
    r = eq[1:] / eq[:-1] - 1
    ppy = 365 * 24
    assert m["total_return"] == pytest.approx(eq[-1] / 5000 - 1, rel=1e-12)
    assert m["cagr"] == pytest.approx((eq[-1] / 5000) ** (ppy / len(r)) - 1, rel=1e-9)
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(ppy), rel=1e-9)
    downside = math.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert m["sortino"] == pytest.approx(r.mean() / downside * math.sqrt(ppy), rel=1e-9)
    mdd = np.max(1 - eq / np.maximum.accumulate(eq))
    assert m["max_drawdown"] == pytest.approx(mdd, rel=1e-12) and m["max_drawdown"] > 0
    assert m["calmar"] == pytest.approx(m["cagr"] / mdd, rel=1e-9)
    pnl = sim.trades["pnl"]
    assert m["trades"] == len(pnl)
    assert m["win_rate"] == pytest.approx(np.mean(pnl > 0))
    assert m["profit_factor"] == pytest.approx(pnl[pnl > 0].sum() / -pnl[pnl <= 0].sum(), rel=1e-9)
    assert m["exposure"] == pytest.approx(np.mean(sim.units != 0))
    assert m["fees_paid"] == pytest.approx(sim.trades["fees"].sum(), rel=1e-9)
    assert m["funding_paid"] == pytest.approx(sim.trades["funding"].sum(), rel=1e-9)
    assert m["final_equity"] == eq[-1]


def test_turnover_is_traded_notional_over_mean_equity():
    bars = random_bars(1500, seed=6)
    target = np.abs(np.sign(random_target(len(bars), seed=7)))  # long or flat, all in: no resizing
    sim = simulate(bars, target, stop=np.full(len(bars), 0.01))
    t = sim.trades
    closed = t["reason"] != "end"
    notional = np.sum(np.abs(t["units"]) * t["entry_price"]) + np.sum(
        np.abs(t["units"] * t["exit_price"])[closed]
    )
    m = compute_metrics(sim, bars.periods_per_year)
    assert m["turnover"] == pytest.approx(notional / sim.equity.mean(), rel=1e-9)


def test_sharpe_is_annualised_with_the_bars_of_a_365_day_year():
    hourly, daily = random_bars(timeframe="1h"), random_bars(timeframe="1d")
    target = random_target(len(hourly))
    s_h = compute_metrics(simulate(hourly, target), hourly.periods_per_year)["sharpe"]
    s_d = compute_metrics(simulate(daily, target), daily.periods_per_year)["sharpe"]
    assert s_h / s_d == pytest.approx(math.sqrt(24), rel=1e-9)


def test_no_trades_gives_zero_ratios_and_every_metric_finite():
    bars = random_bars(500)
    m = compute_metrics(simulate(bars, np.zeros(len(bars))), bars.periods_per_year)
    assert all(math.isfinite(v) for v in m.values())
    assert m["trades"] == 0 and m["sharpe"] == 0 and m["sortino"] == 0 and m["profit_factor"] == 0
    assert m["max_drawdown"] == 0 and m["calmar"] == 0 and m["total_return"] == 0 and m["win_rate"] == 0


def test_a_run_that_never_loses_is_capped_not_infinite():
    n = 200
    c = 100 * 1.001 ** np.arange(n)
    bars = Bars.from_arrays(np.arange(n) * 3_600_000, c, c, c, c)
    m = compute_metrics(simulate(bars, np.ones(n), costs=Costs(fee=0.0)), bars.periods_per_year)
    assert m["max_drawdown"] == 0 and m["sortino"] == CAP and m["calmar"] == CAP
    assert m["profit_factor"] == CAP and m["cagr"] == CAP and m["win_rate"] == 1.0
    assert all(math.isfinite(v) for v in m.values())


def test_fold_stats_equal_the_metrics_of_the_same_windows():
    bars = random_bars(4000, seed=9)
    target = random_target(len(bars), seed=10)
    costs = Costs(fee=0.0004, slippage=0.0001)
    bounds = np.array([[500, 1500], [1500, 2500], [2500, 4000]], dtype=np.int64)
    out = fold_stats(bars, target, costs, bounds, with_sums=True)
    assert out.shape == (3, len(FOLD_COLUMNS) + 5)
    for row, (a, b) in zip(out, bounds, strict=True):
        sim = simulate(bars, target, costs=costs, start=a, end=b)
        m = compute_metrics(sim, bars.periods_per_year)
        assert row[:4] == pytest.approx([m[k] for k in FOLD_COLUMNS], rel=1e-12)
        r = sim.equity[1:] / sim.equity[:-1] - 1
        assert row[4:] == pytest.approx([len(r), r.sum(), (r**2).sum(), (r**3).sum(), (r**4).sum()], rel=1e-9)


def test_a_window_is_the_same_run_as_the_sliced_series():
    bars = random_bars(1000, seed=2)
    target = random_target(len(bars), seed=3)
    window = backtest(bars, target, start=300, end=800)
    sliced = backtest(bars.slice(300, 800), target[300:800])
    assert np.allclose(window.equity, sliced.equity, rtol=1e-12)
    assert window.metrics == pytest.approx(sliced.metrics, rel=1e-12)
    assert np.array_equal(window.trades["entry_idx"], sliced.trades["entry_idx"] + 300)


def test_docs_backtest_md_defines_every_metric():
    from tests.conftest import REPO

    text = (REPO / "docs/backtest.md").read_text()
    missing = [key for key in METRIC_KEYS if f"`{key}`" not in text]
    assert not missing, f"docs/backtest.md does not define {missing}"


def test_fold_stats_follow_the_plans_stops_and_refuse_malformed_bounds():
    from gaorg.errors import InputError
    from gaorg.strategies.compose import TargetPlan

    bars = random_bars(2000, seed=12)
    n = len(bars)
    plan = TargetPlan(random_target(n, seed=13), np.full(n, 0.01), np.full(n, 0.02))
    bounds = np.array([[100, 1000], [1000, 2000]])
    out = fold_stats(bars, plan, Costs(), bounds)
    sim = simulate(bars, plan, start=1000, end=2000)
    assert set(sim.trades["reason"]) >= {"stop", "take"}
    m = compute_metrics(sim, bars.periods_per_year)
    assert out[1] == pytest.approx([m[k] for k in FOLD_COLUMNS], rel=1e-12)
    with pytest.raises(InputError, match="int64"):
        fold_stats(bars, plan, Costs(), np.array([0, 100]))
    with pytest.raises(InputError, match="window"):
        fold_stats(bars, plan, Costs(), np.array([[0, n + 1]]))
