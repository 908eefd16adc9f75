"""gaorg agrees with vectorbt's ``Portfolio.from_signals`` on long-only all-in signals (DESIGN.md).

The settings that make vectorbt follow gaorg's contract: signals shifted one bar (decided at a
close, filled at the next open), ``price=open``, ``size=np.inf`` (all in: vectorbt then buys
``cash / (1 + fees) / (open * (1 + slippage))`` units, gaorg's ``units = equity / (fill * (1 + fee))``),
``accumulate=False``, ``direction="longonly"``, the same ``fees`` and ``slippage``, a tz-naive index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaorg.backtest.engine import Costs, simulate
from gaorg.backtest.run import backtest
from gaorg.data.bars import Bars
from gaorg.data.synth import synth_bars
from tests.conftest import REPO

vbt = pytest.importorskip("vectorbt")
pytestmark = pytest.mark.slow  # importing vectorbt and warming its kernels takes ~15 s

REL = 1e-9


def random_walk(seed: int, n: int = 3000) -> Bars:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.012, n)))
    o = np.r_[100, c[:-1]] * np.exp(rng.normal(0, 0.002, n))  # opens gap away from the last close
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(o, c) * (1 - rng.uniform(0, 0.01, n))
    return Bars.from_arrays(np.arange(n, dtype=np.int64) * 3_600_000, o, h, low, c)


def btc_sample() -> Bars:
    """720 real BTC/USDT hourly bars shipped with the test kit (newest first in the file)."""
    frame = pd.read_csv(REPO / "gaorg/testing/sample_ohlcv.csv", skiprows=1).iloc[::-1]
    return Bars.from_arrays(
        frame["unix"].to_numpy(), *(frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    )


def without_funding(bars: Bars) -> Bars:
    """vectorbt has no funding payments: compare on the prices alone."""
    return Bars.from_arrays(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume)


SERIES = {
    "random_walk": lambda seed: random_walk(seed),
    "synthetic_regimes": lambda seed: without_funding(synth_bars("BTC", "1h", 3000, seed=seed)),
    "btc_sample": lambda seed: btc_sample(),
}


def random_long_only_signals(n: int, seed: int) -> np.ndarray:
    """All-in long or flat, held for random spells (geometric lengths, mean ~ 8 bars)."""
    rng = np.random.default_rng(seed)
    flips = rng.random(n) < 0.125
    return (np.cumsum(flips) % 2).astype(np.float64)


def vbt_from_signals(bars: Bars, target: np.ndarray, costs: Costs):
    frame = bars.to_frame()
    held = pd.Series(target, index=frame.index).shift(1, fill_value=0.0) > 0
    return vbt.Portfolio.from_signals(
        frame["close"],
        entries=held,
        exits=~held,
        price=frame["open"],
        size=np.inf,
        accumulate=False,
        direction="longonly",
        fees=costs.fee,
        slippage=costs.slippage,
        init_cash=costs.init_cash,
        freq="1h",
    )


@pytest.mark.parametrize("series", sorted(SERIES))
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fee,slippage", [(0.00045, 0.0), (0.001, 0.0005), (0.0, 0.0)])
def test_long_only_all_in_signals_match_vectorbt_from_signals(series, seed, fee, slippage):
    bars = SERIES[series](seed)
    target = random_long_only_signals(len(bars), seed + 100)
    costs = Costs(fee=fee, slippage=slippage, init_cash=10_000.0)
    ours = backtest(bars, target, costs).metrics
    pf = vbt_from_signals(bars, target, costs)
    assert ours["trades"] == pf.trades.count() > 20
    assert ours["final_equity"] == pytest.approx(pf.final_value(), rel=REL)
    assert ours["total_return"] == pytest.approx(pf.total_return(), rel=REL)
    assert ours["max_drawdown"] == pytest.approx(-pf.max_drawdown(), rel=REL)


def test_equity_curves_match_vectorbt_bar_by_bar():
    bars = without_funding(synth_bars("ETH", "1h", 2000, seed=5))
    target = random_long_only_signals(len(bars), 7)
    costs = Costs(fee=0.0007, slippage=0.0003)
    ours = simulate(bars, target, costs=costs).equity
    theirs = vbt_from_signals(bars, target, costs).value().to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=REL)


def test_to_portfolio_reproduces_shorts_flips_and_stops_exactly_without_funding():
    from gaorg.backtest.vbt import to_portfolio

    bars = random_walk(11, 1500)
    rng = np.random.default_rng(12)
    target = np.repeat(rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], 150), 10)
    stop = np.full(len(bars), 0.015)
    result = backtest(bars, _plan(target, stop), Costs(fee=0.0005, slippage=0.0002), start=100)
    assert {"stop", "signal"} <= set(result.trades["reason"])
    pf = to_portfolio(bars, result)
    np.testing.assert_allclose(pf.value().to_numpy(), result.equity, rtol=REL)
    assert pf.orders.fees.sum() == pytest.approx(result.sim.fees_paid, rel=REL)
    assert pf.total_return() == pytest.approx(result.metrics["total_return"], rel=REL)


def test_to_portfolio_value_is_equity_plus_the_funding_paid_so_far():
    from gaorg.backtest.vbt import to_portfolio

    bars = synth_bars("BTC", "1h", 1000, seed=3)
    assert np.any(bars.funding != 0)
    target = np.repeat(np.random.default_rng(4).choice([-1.0, 1.0], 100), 10)
    result = backtest(bars, target)
    value = to_portfolio(bars, result).value().to_numpy()
    paid = np.cumsum(result.units * bars.close * bars.funding)  # what gaorg paid, bar by bar
    np.testing.assert_allclose(value, result.equity + paid, rtol=REL)


def _plan(target, stop):
    from gaorg.strategies.compose import TargetPlan

    return TargetPlan(target, stop, np.full(len(target), np.nan))
