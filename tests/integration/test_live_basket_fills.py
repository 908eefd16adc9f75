"""A basket's fills read once per bar-close on one exchange account (the real ccxt client, the stand-in
Hyperliquid on 127.0.0.1, real DuckDB state).

Twenty symbols entering together read ``userFills`` once, and record the same orders, fills, fees,
positions and protective triggers as the per-order reads; a kill between a bar-close's orders and its
fill read is resolved at restart with nothing sent twice and every position protected.
"""

from __future__ import annotations

import math
import signal
from pathlib import Path

import duckdb
import numpy as np
import pytest

from gaorg.config import Settings
from gaorg.data.store import to_ms
from gaorg.data.synth import synth_bars
from gaorg.live import portfolio
from gaorg.live.brokers.account import AccountView
from gaorg.live.brokers.ccxt_broker import CcxtBroker, exchange_from_env
from gaorg.live.config import LiveConfig, RiskLimits
from gaorg.live.registry import FileRegistry
from gaorg.live.runner import Runner
from gaorg.live.types import trigger_cloid
from gaorg.strategies.genome import save_genome
from gaorg.testing.hyperliquid_exchange import StandInExchange
from tests.integration.live_kit import genome, run_forked, store_bars

pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")

WALLET = "0x" + "cd" * 20
KEY = "0x" + "7a" * 32
COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "LTC",
         "BCH", "NEAR", "APT", "ARB", "OP", "SUI", "INJ", "TIA", "SEI", "ATOM")
BASKET = [f"{c}/USDC:USDC" for c in COINS]
N, BARS = 110, 5


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("GAORG_HYPERLIQUID_WALLET", WALLET)
    monkeypatch.setenv("GAORG_HYPERLIQUID_PRIVATE_KEY", KEY)


def cfg_of(symbols, url: str, bars: int) -> LiveConfig:
    return LiveConfig(model="g", symbols=tuple(symbols), timeframe="1h", broker="exchange", feed="replay",
                      api_url=url, rate_limit_ms=1.0, start="2023-01-03", max_bars=bars, window=100,
                      limits=RiskLimits(max_orders_per_minute=10_000))


def records(home: Path, cfg: LiveConfig) -> dict:
    """What the live state holds of every symbol (no timestamps of the wall clock)."""
    con = duckdb.connect(str(home / "live.duckdb"), read_only=True)
    try:
        out = {}
        for sym in cfg.symbols:
            key = [cfg.for_symbol(sym).state_key]
            out[sym] = {
                "orders": con.execute("SELECT cloid, bar_ts, reason, target, units, status, filled, avg_price, fee, "
                                      "error FROM orders WHERE state_key = ? ORDER BY bar_ts, cloid", key).fetchall(),
                "fills": con.execute("SELECT fill_id, cloid, units, price, fee, kind FROM fills WHERE state_key = ? "
                                     "ORDER BY fill_id", key).fetchall(),
                "equity": con.execute("SELECT ts, equity FROM equity WHERE state_key = ? ORDER BY ts", key).fetchall(),
                "units": con.execute("SELECT units FROM positions WHERE state_key = ?", key).fetchall(),
                "bars": con.execute("SELECT bars FROM progress WHERE state_key = ?", key).fetchall()}
        return out
    finally:
        con.close()


def protection(ex: StandInExchange) -> list[tuple]:
    """The open trigger orders on the stand-in (coin, kind, level, size, cloid)."""
    return sorted((r["coin"], r["orderType"], r["triggerPx"], r["sz"], r["cloid"])
                  for r in ex.frontend_open_orders({}) if r["isTrigger"])


def reads_per_close(ex: StandInExchange, got: dict) -> dict[int, int]:
    """``userFills`` requests at the stand-in per bar-close: those after its first order, before the next's."""
    bar_of = {o[0]: o[1] for rows in got.values() for o in rows["orders"]}
    out: dict[int, int] = {}
    close = None
    with ex.state.lock:
        for r in ex.state.requests:
            if r.type == "order":
                close = bar_of.get(r.body["action"]["orders"][0]["c"], close)  # a trigger: its entry's bar-close
            elif r.type == "userFills":
                out[close] = out.get(close, 0) + 1
    return out


def trade(home: Path, series: dict, path: Path, shared: bool, monkeypatch) -> tuple[dict, dict[int, int]]:
    """``BARS`` bar-closes of the basket: the live state's records, the fill reads per bar-close, and
    what a per-order lookup (orderStatus + userFills, by cloid) finds of each filled order."""
    monkeypatch.setattr(portfolio, "SHARED_FILL_READS", shared)
    settings = Settings(home=home, tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    store_bars(home, *series.values())
    first = int(np.searchsorted(series[BASKET[0]].ts, to_ms("2023-01-03")))
    with StandInExchange(list(series.values()), cash=10_000.0) as ex:
        for sym, b in series.items():  # fills near the replayed closes (IOC orders allow 5%)
            ex.prices[sym.split("/")[0]] = float(b.close[first + BARS // 2])
        cfg = cfg_of(BASKET, ex.url, BARS)
        Runner(cfg, settings, FileRegistry(path)).run()
        got = records(home, cfg)
        reads = reads_per_close(ex, got)
        sent = [o["c"] for r in ex.state.requests if r.type == "order" for o in r.body["action"]["orders"]]
        assert len(sent) == len(set(sent))  # no cloid sent twice
        broker = CcxtBroker(exchange_from_env(cfg), BASKET[0])
        for sym in BASKET:  # each order as a lookup by cloid reads it; the state's position is the exchange's
            for cloid, *_, status, filled, avg, fee, _ in got[sym]["orders"] if shared else ():
                found = broker.find(cloid)
                assert (status, filled, avg, fee) == (found.status, found.filled, found.avg_price, found.fee)
                assert [f for f in got[sym]["fills"] if f[1] == cloid] == [
                    (f.fill_id, f.cloid, f.units, f.price, f.fee, f.kind) for f in found.fills]
            assert sum(f[2] for f in got[sym]["fills"]) == pytest.approx(ex.account.positions.get(sym[:-10], 0.0),
                                                                        abs=1e-9)
        return got, reads


def test_twenty_entries_read_their_fills_once_and_record_what_per_order_reads_record(gaorg_home, keys, monkeypatch):
    """The first bar-close (most of the 20 symbols enter) reads userFills once instead of once per order,
    and the orders, fills, fees, equity and positions recorded are those of the per-order reads."""
    init = AccountView.__init__

    def unhurried(self, *a, **kw) -> None:  # the account read again on a new bar or an action only, not with
        init(self, *a, **kw)  # the machine's speed: both runs size every order on the same reads
        self.max_age = math.inf

    monkeypatch.setattr(AccountView, "__init__", unhurried)
    series = {s: synth_bars(s, "1h", N, seed=5 + i) for i, s in enumerate(BASKET)}
    path = save_genome(genome(stops=False), gaorg_home / "g.json")
    shared, reads = trade(gaorg_home / "shared", series, path, True, monkeypatch)
    alone, alone_reads = trade(gaorg_home / "alone", series, path, False, monkeypatch)
    assert shared == alone  # orders (sizes, status, average price, fee), fills (ids, prices, fees), equity: the same
    filled: dict[int, int] = {}
    for rows in shared.values():
        for o in rows["orders"]:
            filled[o[1]] = filled.get(o[1], 0) + (o[5] in ("filled", "partial"))
    first = min(filled)
    assert filled[first] >= 15 and reads[first] == 1 and alone_reads[first] == filled[first]
    assert len(reads) >= 2  # a later bar-close with an order too
    assert reads == {ts: 1 for ts, n in filled.items() if n} and alone_reads == {ts: n for ts, n in filled.items() if n}
    assert all(o[5] not in ("intent", "submitted") for rows in shared.values() for o in rows["orders"])


# -- kill -9 between a bar-close's orders and its one fill read -----------------------------------
TWO = BASKET[:2]


def test_a_kill_before_the_bar_close_s_fill_read_recovers_the_positions_and_protects_them(gaorg_home, keys):
    series = {s: synth_bars(s, "1h", N, seed=5 + i) for i, s in enumerate(TWO)}
    store_bars(gaorg_home, *series.values())
    path = save_genome(genome(stops=True), gaorg_home / "g.json")
    with StandInExchange(list(series.values()), cash=10_000.0) as ex:
        for sym, b in series.items():
            ex.prices[sym.split("/")[0]] = float(b.close[-1])
        cfg = cfg_of(TWO, ex.url, 12)
        assert run_forked(cfg, path, "before_fills") == -signal.SIGKILL
        entries = dict(ex.account.by_cloid)
        assert entries and protection(ex) == []  # orders filled, their fills not read, nothing protects them
        last_order = max(i for i, r in enumerate(ex.state.requests) if r.type == "order")
        assert not any(r.type == "userFills" for r in ex.state.requests[last_order:])
        assert run_forked(cfg, path, None) == 0
        sent = [o["c"] for r in ex.state.requests if r.type == "order" for o in r.body["action"]["orders"]]
        assert len(sent) == len(set(sent))  # no cloid (order or trigger) ever sent twice
        got = records(gaorg_home, cfg)
        for sym in TWO:
            coin = sym.split("/")[0]
            units = ex.account.positions.get(coin, 0.0)
            mine = got[sym]
            assert mine["bars"] == [(12,)] and len(mine["equity"]) == 12  # each bar once
            assert all(o[5] not in ("intent", "submitted") for o in mine["orders"])
            last = mine["equity"][-1][0]
            if not any(o[1] == last and o[5] == "filled" for o in mine["orders"]):  # else marked before it
                assert mine["units"][0][0] == pytest.approx(units, abs=1e-9)
            assert sum(f[2] for f in mine["fills"]) == pytest.approx(units, abs=1e-9)
            filled = {o[0] for o in mine["orders"] if o[5] == "filled"}
            assert filled == {f["cloid"] for f in ex.account.fills if f["coin"] == coin}
            assert filled & set(entries)  # the killed bar-close's order, resolved by cloid
            trig = [t for t in protection(ex) if t[0] == coin]  # the final position protected, once each
            assert len(trig) == (2 if units else 0)
            assert all(float(t[3]) == pytest.approx(abs(units)) for t in trig)
        for cloid in entries:  # the killed bar-close's entries got their triggers at restart
            assert {trigger_cloid(cloid, k) for k in ("stop", "take")} <= set(sent)


# -- a fired trigger's fills: read once ---------------------------------------------------------------
def test_a_fired_stop_is_read_once_by_the_bar_s_check_and_the_executor_s_record(keys):
    """The bar's check finds the stop filled (orderStatus + userFills); the executor's record of it asks
    again and is answered from that read, the same result."""
    from gaorg.live.types import Bar, Order, client_order_id
    from tests.integration.live_kit import SYMBOL, bars

    with StandInExchange([bars(50)]) as ex:
        ex.prices["BTC"] = 100.0
        cfg = LiveConfig(model="g", symbol=SYMBOL, broker="exchange", api_url=ex.url, rate_limit_ms=1.0)
        broker = CcxtBroker(exchange_from_env(cfg), SYMBOL)
        entry = Order(client_order_id("test", 1, "signal"), SYMBOL, 1, 0.5, 2.0, 100.0, stop=0.05, take=0.2)
        assert broker.submit(entry).status == "filled"
        t = int(ex.state.candles[("BTC", "1h")].ts[-1]) + 3_600_000
        ex.publish_candle("BTC", "1h", (t, 99.0, 100.0, 94.0, 96.5, 1.0))  # through the stop at 95
        before = len(ex.state.requests)
        (fill,) = broker.on_bar(SYMBOL, Bar(t, 99.0, 100.0, 94.0, 96.5))
        asked = [r.type for r in ex.state.requests[before:]]
        found = broker.find(fill.cloid)  # the executor's record of the exit
        assert [r.type for r in ex.state.requests[before:]] == asked  # no request more
        assert asked.count("userFills") == 1 and asked.count("orderStatus") >= 1
        assert found.status == "filled" and [(f.units, f.price, f.kind) for f in found.fills] == [(-2.0, 95.0, "stop")]
        fresh = CcxtBroker(exchange_from_env(cfg), SYMBOL).find(fill.cloid)  # a new broker reads it: the same
        assert (fresh.status, fresh.filled, fresh.avg_price, fresh.fee, fresh.fills) == (
            found.status, found.filled, found.avg_price, found.fee, found.fills)
