"""The paper path over a replay: parity with the backtest, restart where it stopped, limits and feed faults."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.backtest.engine import Costs, simulate
from gaorg.live.config import RiskLimits
from gaorg.live.feed import ReplayFeed
from gaorg.live.types import Bar
from gaorg.strategies.compose import targets
from tests.integration.live_kit import bars, config, executor, genome

START = 60


def run(ex, feed, stop_after=None):
    ex.warm(feed.history)
    for k, (bar, stale) in enumerate(feed):
        if stop_after is not None and k >= stop_after:
            break
        ex.step(bar, stale)
    ex.state.flush()


def test_paper_replay_matches_the_backtest_fill_for_fill(tmp_path):
    b = bars(400)
    g = genome()
    sim = simulate(b, targets(g, b), costs=Costs(0.0005, 0.001, 10_000.0), start=START)
    ex = executor(tmp_path / "live.duckdb", config(b), g)
    run(ex, ReplayFeed(b, warmup=5000, first=START))
    eq = ex.state.equity()
    np.testing.assert_array_equal([u for _, _, u in eq], sim.units)
    np.testing.assert_allclose([e for _, e, _ in eq], sim.equity, rtol=0, atol=1e-9)
    fills = [f for f in ex.state.fills() if f["kind"] == "order"]
    exits = [f for f in ex.state.fills() if f["kind"] in ("stop", "take")]
    assert len(sim.trades) > 5 and len(exits) == int(np.isin(sim.trades["reason"], ("stop", "take")).sum())
    # each entry of the backtest is a paper fill at the same bar and price
    entry_ts = set(b.ts[sim.trades["entry_idx"]].tolist())
    assert entry_ts <= {f["ts"] for f in fills}
    prices = {f["ts"]: f["price"] for f in fills}
    for t in sim.trades:
        assert prices[int(b.ts[t["entry_idx"]])] == pytest.approx(t["entry_price"], rel=1e-12)


def test_a_restart_resumes_after_the_last_processed_bar_with_the_same_result(tmp_path):
    b = bars(300)
    g = genome()
    once = executor(tmp_path / "a.duckdb", config(b), g)
    run(once, ReplayFeed(b, warmup=5000, first=START))
    first = executor(tmp_path / "b.duckdb", config(b), g)
    run(first, ReplayFeed(b, warmup=5000, first=START), stop_after=117)
    first.state.close()
    again = executor(tmp_path / "b.duckdb", config(b), g)
    assert again.last_ts == int(b.ts[START + 116])
    feed = ReplayFeed(b, after_ts=again.last_ts, warmup=5000, first=START)
    assert feed.first == START + 117
    run(again, feed)
    assert again.state.equity() == once.state.equity()
    assert again.state.progress()["bars"] == len(b) - START


def test_a_refused_order_is_an_event_with_a_reason_not_an_exception(tmp_path):
    b = bars(200)
    ex = executor(tmp_path / "live.duckdb", config(b, limits=RiskLimits(max_order_notional=100.0)))
    run(ex, ReplayFeed(b, warmup=5000, first=START))
    refused = [e for e in ex.state.risk_events() if e["kind"] == "refused"]
    assert refused and all(e["code"] == "max_order_notional" and "above" in e["reason"] for e in refused)
    assert all(u == 0.0 for _, _, u in ex.state.equity())
    assert [o for o in ex.state.orders() if o["status"] not in ("refused",)] == []


def test_the_drawdown_limit_halts_and_flattens(tmp_path):
    b = bars(400)
    ex = executor(tmp_path / "live.duckdb", config(b, limits=RiskLimits(max_drawdown=0.01, daily_loss=1.0)))
    run(ex, ReplayFeed(b, warmup=5000, first=START))
    halts = [e for e in ex.state.risk_events() if e["kind"] == "state" and e["code"] == "max_drawdown"]
    assert len(halts) == 1 and ex.risk.state.value == "HALTED"
    halt_orders = [o for o in ex.state.orders() if o["reason"] == "halt"]
    assert len(halt_orders) == 1 and halt_orders[0]["target"] == 0.0
    assert ex.state.equity()[-1][2] == 0.0  # flat after the flattening order filled
    after = [o for o in ex.state.orders() if o["bar_ts"] > halt_orders[0]["bar_ts"]]
    assert after == []  # nothing new while HALTED


def test_the_kill_file_halts_the_executor_and_flattens(tmp_path):
    b = bars(200)
    kill = tmp_path / "KILL"
    ex = executor(tmp_path / "live.duckdb", config(b), kill_file=kill)
    feed = ReplayFeed(b, warmup=5000, first=START)
    ex.warm(feed.history)
    for k, (bar, stale) in enumerate(feed):
        if k == 80:
            kill.touch()
        ex.step(bar, stale)
    codes = [e["code"] for e in ex.state.risk_events() if e["kind"] == "state"]
    assert codes == ["kill_switch"] and ex.units == 0.0


def test_no_order_is_sent_on_a_stale_bar_or_after_a_gap(tmp_path):
    b = bars(120)
    ex = executor(tmp_path / "live.duckdb", config(b), genome(stops=False))
    feed = ReplayFeed(b, warmup=5000, first=START)
    ex.warm(feed.history)
    for k, (bar, _) in enumerate(feed):
        report = ex.step(Bar(bar.ts, bar.open, bar.high, bar.low, bar.close, gap=k % 2 == 0), stale=True)
        assert report.order is None
    kinds = {e["code"] for e in ex.state.risk_events() if e["kind"] == "feed"}
    assert kinds == {"stale", "gap"} and ex.state.orders() == []


def test_the_replay_feed_marks_a_bar_after_missing_bars_as_a_gap():
    b = bars(50)
    holed = b.slice(0, 20), b.slice(23, 50)
    from gaorg.data.bars import Bars

    joined = Bars(b.exchange, b.symbol, b.timeframe, *(np.concatenate([getattr(h, f) for h in holed])
                                                       for f in ("ts", "open", "high", "low", "close", "volume",
                                                                 "funding")))
    gaps = [bar.ts for bar, _ in ReplayFeed(joined) if bar.gap]
    assert gaps == [int(b.ts[23])]


def test_a_strategy_changed_while_the_executor_was_down_is_switched_in_by_the_policy(tmp_path):
    b = bars(160)
    first = executor(tmp_path / "live.duckdb", config(b), genome(5, 20, stops=False))
    run(first, ReplayFeed(b, warmup=5000, first=START), stop_after=50)
    assert first.units != 0.0
    first.state.close()
    again = executor(tmp_path / "live.duckdb", config(b, switch_policy="flatten"), genome(8, 40, stops=False))
    feed = ReplayFeed(b, after_ts=again.last_ts, warmup=5000, first=START)
    again.warm(feed.history)
    bar, stale = next(iter(feed))
    again.step(bar, stale)
    assert [o["target"] for o in again.state.orders() if o["reason"] == "switch"] == [0.0]
    assert again.state.versions()[-1]["policy"] == "flatten"
