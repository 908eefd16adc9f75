"""Exchange-side stops: the ccxt broker's protective trigger orders against the stand-in Hyperliquid on
127.0.0.1 (the real ccxt client), fired by candles published to the stand-in, with restarts and kill -9."""

from __future__ import annotations

import math
import signal

import numpy as np
import pytest

from gaorg.backtest.engine import Costs, simulate
from gaorg.data.bars import Bars
from gaorg.data.exchange import RetryPolicy, make_exchange
from gaorg.live.brokers.ccxt_broker import CcxtBroker
from gaorg.live.config import LiveConfig, LiveCosts
from gaorg.live.feed import ReplayFeed
from gaorg.live.types import Bar, Order, client_order_id, trigger_cloid
from gaorg.strategies.compose import targets
from gaorg.strategies.genome import save_genome
from gaorg.testing.hyperliquid_exchange import StandInExchange
from tests.integration.live_kit import SYMBOL, bars, config, executor, genome, run_forked, store_bars

pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")

WALLET = "0x" + "ab" * 20
KEY = "0x" + "5e" * 32
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
HOUR = 3_600_000


@pytest.fixture
def stand_in():
    with StandInExchange([bars(50)], timeout_delay=1.5) as s:
        s.prices["BTC"] = 100.0
        yield s


def client(stand_in):
    return make_exchange("hyperliquid", credentials={"walletAddress": WALLET, "privateKey": KEY}, api_url=stand_in.url,
                         timeout_ms=700, rate_limit_ms=1)


@pytest.fixture
def broker(stand_in):
    return CcxtBroker(client(stand_in), SYMBOL, retry=FAST)


def entry(target: float, units: float, n: int = 1, stop: float = 0.05, take: float = 0.2) -> Order:
    return Order(client_order_id("test", n, "signal"), SYMBOL, n, target, units, 100.0, stop=stop, take=take)


def triggers(stand_in) -> dict[str, dict]:
    """The open trigger orders on the stand-in, by kind, as frontendOpenOrders lists them."""
    rows = stand_in.frontend_open_orders({})
    return {("take" if r["orderType"].startswith("Take") else "stop"): r for r in rows if r["isTrigger"]}


def publish(stand_in, o: float, h: float, lo: float, c: float) -> int:
    """Publish the next 1h candle of BTC (the stand-in fires the triggers it crosses); its open time."""
    t = int(stand_in.state.candles[("BTC", "1h")].ts[-1]) + HOUR
    stand_in.publish_candle("BTC", "1h", (t, o, h, lo, c, 1.0))
    return t


def test_an_entry_places_its_stop_and_take_on_the_exchange_reduce_only(broker, stand_in):
    e = entry(0.5, 2.0)
    assert broker.submit(e).status == "filled"
    trig = triggers(stand_in)
    assert set(trig) == {"stop", "take"}
    assert trig["stop"]["cloid"] == trigger_cloid(e.cloid, "stop") and trig["take"]["cloid"] == trigger_cloid(e.cloid, "take")
    for r in trig.values():
        assert r["side"] == "A" and r["reduceOnly"] is True and float(r["sz"]) == pytest.approx(2.0)
    assert float(trig["stop"]["triggerPx"]) == pytest.approx(95.0) and trig["stop"]["orderType"] == "Stop Market"
    assert float(trig["take"]["triggerPx"]) == pytest.approx(120.0) and trig["take"]["orderType"] == "Take Profit Market"
    # ccxt reads them back as Hyperliquid's stop-loss / take-profit orders
    parsed = {o["clientOrderId"]: o for o in client(stand_in).fetch_open_orders(SYMBOL)}
    stop = parsed[trigger_cloid(e.cloid, "stop")]
    assert stop["stopLossPrice"] == pytest.approx(95.0) and stop["side"] == "sell" and stop["reduceOnly"] is True
    assert parsed[trigger_cloid(e.cloid, "take")]["takeProfitPrice"] == pytest.approx(120.0)
    # a market trigger carries a worst acceptable price below the stop (ccxt's slippage)
    assert float(trig["stop"]["limitPx"]) < 95.0
    # submitted again (a retry, a restart): neither the entry nor its triggers are doubled
    broker.submit(e)
    assert len(triggers(stand_in)) == 2 and len(stand_in.account.fills) == 1


def test_a_bar_through_the_stop_fills_it_at_the_level_and_cancels_the_take(broker, stand_in):
    e = entry(0.5, 2.0)
    broker.submit(e)
    t = publish(stand_in, 100.0, 104.0, 96.0, 101.0)  # inside both levels
    assert broker.on_bar(SYMBOL, Bar(t, 100.0, 104.0, 96.0, 101.0)) == [] and len(triggers(stand_in)) == 2
    t = publish(stand_in, 99.0, 100.0, 94.0, 96.5)  # the low went through 95, the close came back above
    assert stand_in.account.positions["BTC"] == 0.0  # closed on the exchange inside the bar
    fills = broker.on_bar(SYMBOL, Bar(t, 99.0, 100.0, 94.0, 96.5))
    assert [(f.kind, f.units, f.price) for f in fills] == [("stop", pytest.approx(-2.0), pytest.approx(95.0))]
    assert fills[0].cloid == trigger_cloid(e.cloid, "stop")
    assert triggers(stand_in) == {}  # the take was cancelled (OCO)
    take = stand_in.account.orders[stand_in.account.by_cloid[trigger_cloid(e.cloid, "take")]]
    assert take["status"] == "canceled"
    assert broker.on_bar(SYMBOL, Bar(t + HOUR, 96.0, 130.0, 80.0, 90.0)) == []  # nothing left


def test_a_gap_through_the_stop_fills_at_the_open(broker, stand_in):
    broker.submit(entry(0.5, 2.0))
    t = publish(stand_in, 93.0, 94.0, 90.0, 92.0)
    fills = broker.on_bar(SYMBOL, Bar(t, 93.0, 94.0, 90.0, 92.0))
    assert [(f.kind, f.price) for f in fills] == [("stop", pytest.approx(93.0))]


def test_a_gap_beyond_the_triggers_slippage_bound_is_closed_at_the_bar_close(broker, stand_in):
    e = entry(0.5, 2.0)
    broker.submit(e)
    t = publish(stand_in, 85.0, 86.0, 84.0, 85.5)  # opens 10% below the stop: beyond ccxt's 5% bound
    stop = stand_in.account.orders[stand_in.account.by_cloid[trigger_cloid(e.cloid, "stop")]]
    assert stop["status"] == "canceled" and stand_in.account.positions["BTC"] == pytest.approx(2.0)
    stand_in.prices["BTC"] = 85.5
    fills = broker.on_bar(SYMBOL, Bar(t, 85.0, 86.0, 84.0, 85.5))
    assert [(f.kind, f.units, f.price) for f in fills] == [("stop", pytest.approx(-2.0), pytest.approx(85.5))]
    assert stand_in.account.positions["BTC"] == 0.0 and triggers(stand_in) == {}


def test_a_short_is_protected_by_buy_triggers_and_its_take_fills_at_the_level(broker, stand_in):
    e = entry(-0.5, -2.0)
    broker.submit(e)
    trig = triggers(stand_in)
    assert {k: (r["side"], float(r["triggerPx"])) for k, r in trig.items()} == {"stop": ("B", 105.0), "take": ("B", 80.0)}
    t = publish(stand_in, 90.0, 91.0, 79.5, 85.0)
    fills = broker.on_bar(SYMBOL, Bar(t, 90.0, 91.0, 79.5, 85.0))
    assert [(f.kind, f.units, f.price) for f in fills] == [("take", pytest.approx(2.0), pytest.approx(80.0))]
    assert triggers(stand_in) == {} and stand_in.account.positions["BTC"] == 0.0


def test_a_signal_exit_cancels_both_triggers(broker, stand_in):
    e = entry(0.5, 2.0)
    broker.submit(e)
    close = Order(client_order_id("test", 2, "signal"), SYMBOL, 2, 0.0, -2.0, 100.0, reduce_only=True)
    assert broker.submit(close).status == "filled"
    assert triggers(stand_in) == {} and stand_in.account.positions["BTC"] == 0.0
    for kind in ("stop", "take"):
        assert stand_in.account.orders[stand_in.account.by_cloid[trigger_cloid(e.cloid, kind)]]["status"] == "canceled"
    assert stand_in.actions()[-2:] == ["cancelByCloid", "cancelByCloid"]  # after the close filled
    publish(stand_in, 100.0, 130.0, 70.0, 100.0)  # a stale trigger could not fire any more
    assert stand_in.account.positions["BTC"] == 0.0 and len(stand_in.account.fills) == 2


def test_a_flip_replaces_the_triggers_and_a_resize_resizes_them(broker, stand_in):
    first = entry(0.5, 2.0)
    broker.submit(first)
    flip = entry(-0.5, -4.0, n=2, stop=0.1, take=0.1)
    assert broker.submit(flip).status == "filled"
    trig = triggers(stand_in)
    assert {r["cloid"] for r in trig.values()} == {trigger_cloid(flip.cloid, k) for k in ("stop", "take")}
    assert {k: (r["side"], float(r["triggerPx"]), float(r["sz"])) for k, r in trig.items()} == {
        "stop": ("B", 110.0, 2.0), "take": ("B", 90.0, 2.0)}
    actions = stand_in.actions()
    assert actions[-4:] == ["order", "order", "cancelByCloid", "cancelByCloid"]  # new ones first, then the old
    stand_in.prices["BTC"] = 102.0
    more = entry(-0.75, -1.0, n=3, stop=0.1, take=0.1)
    broker.submit(more)
    trig = triggers(stand_in)
    assert {k: (float(r["triggerPx"]), float(r["sz"])) for k, r in trig.items()} == {
        "stop": (pytest.approx(112.2), 3.0), "take": (pytest.approx(91.8), 3.0)}  # levels from the new fill


def test_the_stand_in_rejects_a_reduce_only_order_that_would_increase_a_position(broker, stand_in):
    res = broker.submit(Order(client_order_id("test", 9, "x"), SYMBOL, 9, 0.0, -1.0, 100.0, reduce_only=True))
    assert res.status == "rejected" and "Reduce only" in res.error
    broker.submit(entry(0.5, 2.0, stop=math.nan, take=math.nan))
    res = broker.submit(Order(client_order_id("test", 10, "x"), SYMBOL, 10, 0.0, 1.0, 100.0, reduce_only=True))
    assert res.status == "rejected" and stand_in.account.positions["BTC"] == pytest.approx(2.0)
    assert triggers(stand_in) == {}  # NaN levels: no trigger


def test_a_trigger_that_could_not_be_placed_is_placed_on_the_next_bar(broker, stand_in):
    e = entry(0.5, 2.0)
    stand_in.fail("order", "ok", "503", "503", "503", "503")  # the entry goes through, the stop never does
    assert broker.submit(e).status == "filled"
    assert set(triggers(stand_in)) == {"take"}
    t = publish(stand_in, 100.0, 101.0, 99.0, 100.0)
    assert broker.on_bar(SYMBOL, Bar(t, 100.0, 101.0, 99.0, 100.0)) == []
    assert set(triggers(stand_in)) == {"stop", "take"}
    assert triggers(stand_in)["stop"]["cloid"] == trigger_cloid(e.cloid, "stop")


# -- the executor: restarts -----------------------------------------------------------------------
def drive(ex, stand_in, b, until) -> int:
    """Step the executor over ``b`` from bar 60 (the market price: each bar's close) until ``until(ex)``."""
    ex.warm(b.slice(0, 60))
    for i in range(60, len(b)):
        stand_in.prices["BTC"] = float(b.close[i])
        ex.step(Bar(int(b.ts[i]), float(b.open[i]), float(b.high[i]), float(b.low[i]), float(b.close[i])))
        if until(ex):
            return i
    raise AssertionError("the condition was never met")


def test_at_restart_triggers_of_a_position_gone_are_cancelled_and_missing_ones_placed_again(tmp_path):
    b = bars(300)
    with StandInExchange([b]) as s:
        cfg = config(b, broker="exchange")
        ex = executor(tmp_path / "live.duckdb", cfg, broker=CcxtBroker(client(s), SYMBOL, retry=FAST))
        drive(ex, s, b, lambda e: e.broker.triggers.p is not None)
        ex.state.close()
        assert len(triggers(s)) == 2
        # 1. the triggers vanished while the executor was down (cancelled by hand): placed again, new cloids
        raw = client(s)
        for r in triggers(s).values():
            raw.cancel_order(r["cloid"], SYMBOL, {"clientOrderId": r["cloid"]})
        again = executor(tmp_path / "live.duckdb", cfg, broker=CcxtBroker(client(s), SYMBOL, retry=FAST))
        again.reconcile()
        trig = triggers(s)
        entry_cloid = again.broker.triggers.p.entry
        assert {r["cloid"] for r in trig.values()} == {trigger_cloid(entry_cloid, k, 1) for k in ("stop", "take")}
        units = s.account.positions["BTC"]
        assert all(float(r["sz"]) == pytest.approx(abs(units)) and (r["side"] == "B") == (units < 0)
                   for r in trig.values())
        again.reconcile()  # a second start changes nothing
        assert triggers(s) == trig
        again.state.close()
        # 2. the position was closed by hand while the executor was down: its triggers are cancelled
        raw.create_order(SYMBOL, "market", "buy" if units < 0 else "sell", abs(units), float(b.close[-1]),
                         {"reduceOnly": True})
        assert s.account.positions["BTC"] == 0.0
        third = executor(tmp_path / "live.duckdb", cfg, broker=CcxtBroker(client(s), SYMBOL, retry=FAST))
        third.reconcile()
        assert triggers(s) == {} and third.broker.triggers.p is None


def test_without_exchange_stops_no_trigger_is_placed_and_levels_are_checked_at_the_bar_close(tmp_path):
    b = bars(300)
    with StandInExchange([b]) as s:
        cfg = config(b, broker="exchange", exchange_stops=False)
        ex = executor(tmp_path / "live.duckdb", cfg, broker=CcxtBroker(client(s), SYMBOL, retry=FAST))
        assert ex.broker.exchange_stops is False
        drive(ex, s, b, lambda e: any(f["kind"] in ("stop", "take") for f in e.state.fills()))
        sent = [o for r in s.state.requests if r.type == "order" for o in r.body["action"]["orders"]]
        assert sent and not any("trigger" in o["t"] for o in sent)
        exits = [f for f in ex.state.fills() if f["kind"] in ("stop", "take")]
        assert exits and all(f["cloid"] in {o["c"] for o in sent if o["r"]} for f in exits)  # market exits


# -- kill -9 between the entry fill and its triggers ----------------------------------------------
N, BARS = 110, 30


def run_child(path, url, crash: str | None) -> int:
    """The runner on the stand-in exchange in a forked process (see ``live_kit.run_forked``)."""
    return run_forked(LiveConfig(model="g", symbol=SYMBOL, timeframe="1h", broker="exchange", feed="replay",
                                 api_url=url, rate_limit_ms=1.0, start="2023-01-03", max_bars=BARS), path, crash)


def test_a_kill_after_the_entry_filled_before_its_triggers_places_them_once_at_restart(gaorg_home, monkeypatch):
    b = bars(N, seed=5)
    store_bars(gaorg_home, b)
    monkeypatch.setenv("GAORG_HYPERLIQUID_WALLET", WALLET)
    monkeypatch.setenv("GAORG_HYPERLIQUID_PRIVATE_KEY", KEY)
    path = save_genome(genome(stops=True), gaorg_home / "g.json")
    with StandInExchange([b], cash=10_000.0) as s:
        s.prices["BTC"] = float(b.close[-1])
        assert run_child(path, s.url, "before_triggers") == -signal.SIGKILL
        (entry_cloid,) = s.account.by_cloid  # the entry filled, nothing protects it
        assert s.account.positions["BTC"] != 0.0 and triggers(s) == {}
        assert run_child(path, s.url, None) == 0
        sent = [o["c"] for r in s.state.requests if r.type == "order" for o in r.body["action"]["orders"]]
        assert len(sent) == len(set(sent))  # no cloid (entry or trigger) ever sent twice
        assert {trigger_cloid(entry_cloid, k) for k in ("stop", "take")} <= set(sent)  # placed at restart
        units = s.account.positions["BTC"]
        trig = triggers(s)  # the open triggers protect the final position, once each
        assert len(s.frontend_open_orders({})) == len(trig)
        if units:
            assert set(trig) == {"stop", "take"}
            assert all(float(r["sz"]) == pytest.approx(abs(units)) and (r["side"] == "B") == (units < 0)
                       for r in trig.values())
        else:
            assert trig == {}


# -- the point of it: exchange fills at the backtest's prices ---------------------------------------
@pytest.mark.slow
def test_exchange_stop_and_take_fills_match_the_backtest_contract(tmp_path):
    start, fee = 60, 0.0005
    s0 = bars(400)  # prices near 950: the stand-in's tick (0.01) is 1e-5 of the price, like BTC's on Hyperliquid
    b = Bars.from_arrays(s0.ts, *(np.asarray(x) * 9.5 for x in (s0.open, s0.high, s0.low, s0.close)), s0.volume,
                         s0.funding, exchange=s0.exchange, symbol=s0.symbol, timeframe=s0.timeframe)
    g = genome()
    sim = simulate(b, targets(g, b), costs=Costs(fee, 0.0, 10_000.0), start=start)
    expected = [(int(t["exit_idx"]), str(t["reason"]), float(t["exit_price"])) for t in sim.trades
                if t["reason"] in ("stop", "take")]
    assert len(expected) >= 3
    with StandInExchange([b.slice(0, start + 1)], fee=fee) as s:
        cfg = config(b, broker="exchange", costs=LiveCosts(fee, 0.0, 10_000.0))
        ex = executor(tmp_path / "live.duckdb", cfg, g, broker=CcxtBroker(client(s), SYMBOL, retry=FAST))
        feed = ReplayFeed(b, warmup=5000, first=start)
        ex.warm(feed.history)
        got = []
        for bar, stale in feed:
            i = int(np.searchsorted(b.ts, bar.ts))
            if i + 1 < len(b):
                s.prices["BTC"] = float(b.open[i + 1])  # an order sent at the close fills at the next open
            ex.step(bar, stale)
            if i + 1 < len(b):
                before = len(s.account.fills)
                s.publish_candle("BTC", "1h", (int(b.ts[i + 1]), *(float(x[i + 1]) for x in
                                                                   (b.open, b.high, b.low, b.close, b.volume))))
                for f in s.account.fills[before:]:
                    rec = s.account.orders[f["oid"]]
                    got.append((i + 1, "take" if rec["orderType"].startswith("Take") else "stop", float(f["px"])))
        ex.state.flush()
    assert [(i, k) for i, k, _ in got] == [(i, k) for i, k, _ in expected]
    for (_, _, px), (_, _, want) in zip(got, expected, strict=True):
        assert px == pytest.approx(want, rel=2e-5)  # the trigger is the level on the exchange's price grid
    stored = [(f["kind"], f["price"]) for f in ex.state.fills() if f["kind"] in ("stop", "take")]
    assert stored == [(k, pytest.approx(px)) for _, k, px in got]  # the live state records them as exits
