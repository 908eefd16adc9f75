"""The engine follows DESIGN.md's backtest contract, case by case, with numbers worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.backtest.engine import HYPERLIQUID_TAKER_FEE, Costs, simulate
from gaorg.data.bars import Bars
from gaorg.errors import InputError

NAN = np.nan


def make_bars(o, h=None, low=None, c=None, funding=None) -> Bars:
    o = np.asarray(o, dtype=float)
    c = o if c is None else np.asarray(c, dtype=float)
    h = np.maximum(o, c) if h is None else np.asarray(h, dtype=float)
    low = np.minimum(o, c) if low is None else np.asarray(low, dtype=float)
    ts = np.arange(len(o), dtype=np.int64) * 3_600_000
    return Bars.from_arrays(ts, o, h, low, c, funding=funding)


def test_default_fee_is_hyperliquids_taker_fee_and_no_slippage():
    assert Costs().fee == HYPERLIQUID_TAKER_FEE == 0.00045
    assert Costs().slippage == 0.0


def test_flat_target_keeps_the_cash_and_makes_no_trades():
    sim = simulate(make_bars([100, 101, 99, 102]), np.zeros(4), costs=Costs(init_cash=1000))
    assert np.array_equal(sim.equity, [1000, 1000, 1000, 1000])
    assert len(sim.trades) == 0 and sim.fees_paid == 0


def test_long_entry_fills_at_next_open_with_slippage_and_fee_included_in_units():
    bars = make_bars(o=[100, 110, 120, 130], c=[105, 115, 125, 135])
    fee, slip = 0.001, 0.01
    sim = simulate(bars, [1, 1, 0, 0], costs=Costs(fee=fee, slippage=slip, init_cash=1000))
    fill_in = 110 * (1 + slip)
    units = 1000 / (fill_in * (1 + fee))
    assert sim.units[1] == pytest.approx(units, rel=1e-12)
    assert sim.equity[0] == 1000  # the decision at bar 0 is not filled before bar 1's open
    assert sim.equity[1] == pytest.approx(units * 115, rel=1e-12)  # all cash spent, fee included
    fill_out = 130 * (1 - slip)  # target 0 decided at bar 2's close, filled at bar 3's open
    cash = units * fill_out * (1 - fee)
    assert sim.equity[3] == pytest.approx(cash, rel=1e-12)
    (trade,) = sim.trades
    assert (trade["entry_idx"], trade["exit_idx"], trade["reason"]) == (1, 3, "signal")
    assert trade["entry_price"] == pytest.approx(fill_in) and trade["exit_price"] == pytest.approx(fill_out)
    assert trade["pnl"] == pytest.approx(cash - 1000, rel=1e-12)
    assert sim.fees_paid == pytest.approx(units * fill_in * fee + units * fill_out * fee, rel=1e-12)


def test_short_position_gains_when_price_falls_and_sells_at_the_lower_slipped_price():
    bars = make_bars(o=[100, 100, 90, 80], c=[100, 95, 85, 80])
    slip, fee = 0.01, 0.0
    sim = simulate(bars, [-1, -1, 0, 0], costs=Costs(fee=fee, slippage=slip, init_cash=1000))
    fill_in = 100 * (1 - slip)
    units = -1000 / fill_in
    assert sim.units[1] == pytest.approx(units)
    assert sim.equity[1] == pytest.approx(1000 + units * (95 - fill_in))  # cash 2000-ish minus liability
    fill_out = 80 * (1 + slip)
    assert sim.equity[3] == pytest.approx(1000 + units * (fill_out - fill_in))
    assert sim.equity[3] > 1000


def test_units_are_held_until_the_target_changes_no_rebalancing():
    bars = make_bars(o=[100, 100, 200, 50, 100], c=[100, 200, 50, 100, 100])
    sim = simulate(bars, [0.5, 0.5, 0.5, 0.5, 0.5], costs=Costs(fee=0.0, init_cash=1000))
    assert np.all(sim.units[1:] == sim.units[1])  # the fraction drifts, the units do not
    assert sim.stats is not None and len(sim.trades) == 1


def test_a_size_change_trades_only_the_difference():
    bars = make_bars(o=[100, 100, 100, 100], c=[100, 100, 100, 100])
    fee = 0.001
    sim = simulate(bars, [1.0, 0.5, 0.5, 0.5], costs=Costs(fee=fee, init_cash=1000))
    u1 = 1000 / (100 * (1 + fee))
    eq_open = 1000 - u1 * 100 * fee  # cash left after entry (0) + units at the open
    u2 = eq_open * 0.5 / (100 * (1 + fee))
    assert sim.units[1] == pytest.approx(u1) and sim.units[2] == pytest.approx(u2)
    assert sim.fees_paid == pytest.approx((u1 + (u1 - u2)) * 100 * fee)
    assert len(sim.trades) == 2  # a new trade record for the new size
    first, second = sim.trades
    assert first["fees"] == pytest.approx((u1 + (u1 - u2)) * 100 * fee)  # a reduction closes part of it
    assert second["entry_fee"] == 0.0


def test_a_size_increase_charges_the_new_record_with_the_fee_of_the_difference():
    bars = make_bars(o=[100, 100, 100, 100], c=[100, 100, 100, 100])
    fee = 0.001
    sim = simulate(bars, [0.5, 1.0, 1.0, 1.0], costs=Costs(fee=fee, init_cash=1000))
    first, second = sim.trades
    assert first["fees"] == first["entry_fee"] == pytest.approx(sim.units[1] * 100 * fee)
    assert second["entry_fee"] == pytest.approx((sim.units[2] - sim.units[1]) * 100 * fee)


def test_a_flip_from_long_to_short_is_one_trade_of_both_sizes():
    bars = make_bars(o=[100, 100, 100, 100], c=[100, 100, 100, 100])
    fee = 0.001
    sim = simulate(bars, [1, -1, -1, -1], costs=Costs(fee=fee, init_cash=1000))
    u1 = 1000 / (100 * (1 + fee))
    eq = 1000 - u1 * 100 * fee
    u2 = -eq / (100 * (1 + fee))
    assert sim.units[2] == pytest.approx(u2)
    assert sim.fees_paid == pytest.approx((u1 + (u1 - u2)) * 100 * fee)
    long, short = sim.trades
    assert long["units"] > 0 > short["units"] and long["exit_idx"] == short["entry_idx"] == 2
    # the flip's fee is split: the closing part to the long, the opening part to the short
    assert long["fees"] == pytest.approx(2 * u1 * 100 * fee)
    assert short["fees"] == pytest.approx(-u2 * 100 * fee)


def test_long_stop_fills_at_the_level_inside_the_bar_then_stays_flat_until_the_target_changes():
    o = [100, 100, 99, 99, 99, 99, 99]
    low = [100, 100, 94, 98, 98, 98, 98]
    bars = make_bars(o=o, low=low, h=o, c=o)
    stop = np.full(7, 0.05)
    sim = simulate(bars, [1, 1, 1, 1, 0, 1, 1], stop=stop, costs=Costs(fee=0.0, init_cash=1000))
    first, second = sim.trades
    assert first["reason"] == "stop" and first["exit_idx"] == 2
    assert first["exit_price"] == pytest.approx(95.0)  # 100 * (1 - 0.05)
    assert np.all(sim.units[2:5] == 0)  # target still 1 at bars 2-3: no re-entry
    assert second["entry_idx"] == 6  # target 0 at bar 4, 1 at bar 5 -> entry at open 6
    assert sim.equity[2] == pytest.approx(1000 * 95 / 100)


def test_a_gap_through_the_stop_fills_at_the_open_the_worse_price():
    bars = make_bars(o=[100, 100, 90, 90], c=[100, 100, 92, 90])
    sim = simulate(bars, [1, 1, 1, 1], stop=np.full(4, 0.05), costs=Costs(fee=0.0, init_cash=1000))
    (trade,) = sim.trades
    assert trade["reason"] == "stop" and trade["exit_price"] == 90.0 and trade["exit_idx"] == 2


def test_take_profit_fills_at_the_level_and_a_gap_up_at_the_better_open():
    bars = make_bars(
        o=[100, 100, 105, 100, 100, 120], h=[100, 100, 111, 100, 100, 125], c=[100, 100, 105, 100, 100, 120]
    )
    target = [1, 1, 0, 1, 1, 1]
    sim = simulate(bars, target, take=np.full(6, 0.10), costs=Costs(fee=0.0, init_cash=1000))
    a, b = sim.trades
    assert a["reason"] == "take" and a["exit_price"] == pytest.approx(110.0)
    assert b["reason"] == "take" and b["exit_price"] == 120.0  # opened above the 110 level


def test_when_stop_and_take_are_both_touched_in_one_bar_the_stop_wins():
    bars = make_bars(o=[100, 100, 100, 100], h=[100, 100, 120, 100], low=[100, 100, 80, 100])
    sim = simulate(bars, [1] * 4, stop=np.full(4, 0.1), take=np.full(4, 0.1), costs=Costs(fee=0.0))
    assert sim.trades[0]["reason"] == "stop" and sim.trades[0]["exit_price"] == pytest.approx(90.0)


def test_short_stop_is_above_the_entry_and_fills_with_slippage_against_the_trader():
    bars = make_bars(o=[100, 100, 100, 100], h=[100, 100, 106, 100], low=[100, 100, 99, 100])
    slip = 0.001
    sim = simulate(bars, [-1] * 4, stop=np.full(4, 0.05), costs=Costs(fee=0.0, slippage=slip))
    entry = 100 * (1 - slip)
    assert sim.trades[0]["exit_price"] == pytest.approx(entry * 1.05 * (1 + slip))


def test_stop_distance_is_fixed_at_the_entry_bar():
    bars = make_bars(o=[100, 100, 100, 100], low=[100, 100, 93, 100])
    stop = np.array([0.05, 0.01, 0.01, 0.01])  # tighter later: must not move the level
    sim = simulate(bars, [1] * 4, stop=stop, costs=Costs(fee=0.0))
    assert sim.trades[0]["exit_price"] == pytest.approx(95.0)


def test_funding_is_paid_by_longs_and_received_by_shorts_at_the_close():
    funding = np.array([0.0, 0.001, 0.001, 0.0])
    bars = make_bars(o=[100] * 4, c=[100, 110, 120, 120], funding=funding)
    long = simulate(bars, [1] * 4, costs=Costs(fee=0.0, init_cash=1000))
    short = simulate(bars, [-1] * 4, costs=Costs(fee=0.0, init_cash=1000))
    units = 1000 / 100
    assert long.funding_paid == pytest.approx(units * (110 + 120) * 0.001)
    assert short.funding_paid == pytest.approx(-units * (110 + 120) * 0.001)
    assert long.equity[2] == pytest.approx(units * 120 - units * (110 + 120) * 0.001)
    assert long.trades[0]["funding"] == pytest.approx(long.funding_paid)


def test_a_window_starts_flat_even_if_the_target_before_it_was_long():
    bars = make_bars(o=[100, 100, 110, 120], c=[100, 105, 115, 125])
    sim = simulate(bars, [1, 1, 1, 1], costs=Costs(fee=0.0, init_cash=1000), start=1, end=4)
    assert len(sim.equity) == 3 and sim.equity[0] == 1000  # flat through bar 1
    assert sim.trades[0]["entry_idx"] == 2 and sim.trades[0]["reason"] == "end"


def test_trade_pnls_and_funding_add_up_to_the_change_in_equity():
    rng = np.random.default_rng(7)
    n = 3000
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.r_[100, c[:-1]] * np.exp(rng.normal(0, 0.002, n))
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(o, c) * (1 - rng.uniform(0, 0.01, n))
    bars = make_bars(o, h, low, c, funding=rng.normal(0.0001, 0.0002, n))
    target = np.round(rng.uniform(-1, 1, n) * 4) / 4
    target = np.repeat(target[::10], 10)[:n]
    stop = np.where(rng.random(n) < 0.5, rng.uniform(0.005, 0.03, n), NAN)
    take = np.where(rng.random(n) < 0.5, rng.uniform(0.005, 0.03, n), NAN)
    sim = simulate(bars, target, stop=stop, take=take, costs=Costs(fee=0.0005, slippage=0.0003))
    assert set(sim.trades["reason"]) >= {"signal", "stop", "take"}
    assert sim.trades["pnl"].sum() == pytest.approx(sim.final_equity - 10_000, rel=1e-9, abs=1e-6)
    assert sim.trades["fees"].sum() == pytest.approx(sim.fees_paid, rel=1e-9)
    assert sim.trades["funding"].sum() == pytest.approx(sim.funding_paid, rel=1e-9, abs=1e-9)


def test_equity_up_to_a_bar_ignores_every_later_price():
    rng = np.random.default_rng(3)
    n = 400
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    bars = make_bars(np.r_[100, c[:-1]], c=c)
    target = np.repeat(rng.choice([-1.0, 0.0, 0.5, 1.0], n // 8), 8)
    base = simulate(bars, target, stop=np.full(n, 0.02), costs=Costs(slippage=0.001)).equity
    c2 = c.copy()
    c2[200:] *= 1.5
    later = make_bars(np.r_[100, c2[:-1]], c=c2)
    other = simulate(later, target, stop=np.full(n, 0.02), costs=Costs(slippage=0.001)).equity
    assert np.array_equal(base[:200], other[:200]) and not np.array_equal(base, other)


@pytest.mark.parametrize("start", [0, 37])
def test_the_units_after_each_bar_explain_the_equity_between_trades(start):
    """``units`` is rebuilt from the trade table (not written per bar): between fills the equity
    moves by exactly units x the close's move, and units change only on a bar where a trade fills."""
    rng = np.random.default_rng(7 + start)
    n = 600
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.r_[100, c[:-1]] * (1 + rng.normal(0, 0.002, n))
    bars = make_bars(o, np.maximum(o, c) * 1.004, np.minimum(o, c) * 0.996, c)
    target = np.repeat(rng.choice([-1.0, 0.0, 0.5, 1.0], n // 6), 6)
    stop, take = np.full(n, 0.01), np.where(rng.random(n) < 0.5, 0.015, NAN)
    sim = simulate(bars, target, stop, take, costs=Costs(slippage=0.001), start=start)
    units, equity = sim.units, sim.equity
    assert len(units) == n - start and not units.flags.writeable
    fill_bars = set(sim.trades["entry_idx"]) | set(sim.trades["exit_idx"])
    assert {"stop", "take", "signal"} <= set(sim.trades["reason"])
    for i in range(1, n - start):
        if start + i in fill_bars:
            continue
        assert units[i] == units[i - 1], i
        assert equity[i] - equity[i - 1] == pytest.approx(units[i] * (c[start + i] - c[start + i - 1]), abs=1e-7)
    for t in sim.trades:  # flat after a stop or take, holding the trade's units before its exit
        if t["reason"] in ("stop", "take"):
            assert units[t["exit_idx"] - start] == 0.0
        if t["exit_idx"] > t["entry_idx"]:
            assert units[t["entry_idx"] - start] == t["units"]


@pytest.mark.parametrize("bad", [NAN, 1.5, -1.01, np.inf])
def test_a_target_outside_minus_one_to_one_or_nan_is_refused_with_its_bar(bad):
    target = np.zeros(5)
    target[3] = bad
    with pytest.raises(InputError, match=r"target at bar 3 .*\[-1, 1\]"):
        simulate(make_bars([100] * 5), target)


def test_a_negative_stop_distance_is_refused():
    with pytest.raises(InputError, match="stop distance at bar 0"):
        simulate(make_bars([100] * 5), np.ones(5), stop=np.full(5, -0.1))


def test_target_of_the_wrong_length_and_a_window_outside_the_bars_are_refused():
    bars = make_bars([100] * 5)
    with pytest.raises(InputError, match="one value per bar"):
        simulate(bars, np.zeros(4))
    with pytest.raises(InputError, match="window"):
        simulate(bars, np.zeros(5), start=3, end=9)


@pytest.mark.parametrize("kwargs", [{"fee": -0.001}, {"slippage": 0.5}, {"init_cash": 0.0}])
def test_costs_refuse_values_that_are_not_fractions_or_cash(kwargs):
    with pytest.raises(InputError):
        Costs(**kwargs)
