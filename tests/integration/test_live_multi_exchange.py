"""A basket on one exchange account: the real ccxt client against the stand-in Hyperliquid on 127.0.0.1.

Twenty symbols size on their weights of the account's equity within the basket's gross exposure limit
and continue after a restart; two symbols killed with SIGKILL at each point of the order cycle and
restarted continue with nothing sent twice and nothing lost.
"""

from __future__ import annotations

import signal

import duckdb
import numpy as np
import pytest

from gaorg.config import Settings
from gaorg.data.store import to_ms
from gaorg.data.synth import synth_bars
from gaorg.live.config import LiveConfig
from gaorg.live.registry import FileRegistry
from gaorg.live.runner import Runner
from gaorg.strategies.genome import save_genome
from gaorg.testing.hyperliquid_exchange import StandInExchange
from tests.integration.live_kit import genome, run_forked, store_bars

pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")

BTC, ETH = "BTC/USDC:USDC", "ETH/USDC:USDC"
WALLET = "0x" + "cd" * 20
KEY = "0x" + "7a" * 32
N = 110
BARS = 30
WEIGHTS = {BTC: 0.6, ETH: 0.4}


@pytest.fixture
def market(gaorg_home, monkeypatch):
    series = {BTC: synth_bars(BTC, "1h", N, seed=5), ETH: synth_bars(ETH, "1h", N, seed=11)}
    store_bars(gaorg_home, *series.values())
    monkeypatch.setenv("GAORG_HYPERLIQUID_WALLET", WALLET)
    monkeypatch.setenv("GAORG_HYPERLIQUID_PRIVATE_KEY", KEY)
    return series, save_genome(genome(stops=False), gaorg_home / "g.json")


def stand_in(series) -> StandInExchange:
    ex = StandInExchange(list(series.values()), cash=10_000.0)
    return ex


def config(url: str) -> LiveConfig:
    return LiveConfig(model="g", symbols=(BTC, ETH), weights=dict(WEIGHTS), timeframe="1h", broker="exchange",
                      feed="replay", api_url=url, rate_limit_ms=1.0, start="2023-01-03", max_bars=BARS)


def stored(home, cfg: LiveConfig, sym: str, con=None):
    key = cfg.for_symbol(sym).state_key
    own = con is None
    con = duckdb.connect(str(home / "live.duckdb"), read_only=True) if own else con
    try:
        q = lambda sql: con.execute(sql, [key]).fetchall()  # noqa: E731
        orders = dict(q("SELECT cloid, status FROM orders WHERE state_key = ?"))
        fills = [u for (u,) in q("SELECT units FROM fills WHERE state_key = ?")]
        pos = q("SELECT units FROM positions WHERE state_key = ?")
        done = q("SELECT bars FROM progress WHERE state_key = ?")
        equity = dict(q("SELECT ts, equity FROM equity WHERE state_key = ?"))
        signals = q("SELECT bar_ts, target, filled, avg_price FROM orders WHERE state_key = ? AND reason = 'signal' "
                    "AND status = 'filled' ORDER BY bar_ts")
    finally:
        if own:
            con.close()
    return {"orders": orders, "fills": fills, "units": pos[0][0] if pos else 0.0, "bars": done[0][0] if done else 0,
            "equity": equity, "signals": signals}


COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "LTC",
         "BCH", "NEAR", "APT", "ARB", "OP", "SUI", "INJ", "TIA", "SEI", "ATOM")
BASKET = [f"{c}/USDC:USDC" for c in COINS]
GROSS = 6_000.0  # the basket's gross exposure limit: 60% of the account
LONG = 24  # bars of each of the 20 symbols (a restart after half of them)


def test_twenty_symbols_trade_one_account_on_their_weights_within_the_gross_limit_and_restart(gaorg_home, monkeypatch):
    """20 symbols, weights from a config file (BTC 24%, the rest an equal split of 76%), one stand-in account:
    each entry is sized on its weight of the account, the gross exposure limit refuses what would pass it,
    and a restart halfway continues every symbol where it stopped, nothing sent twice."""
    from gaorg.live.config import load_live_config

    series = {s: synth_bars(s, "1h", N, seed=5 + i) for i, s in enumerate(BASKET)}
    store_bars(gaorg_home, *series.values())
    monkeypatch.setenv("GAORG_HYPERLIQUID_WALLET", WALLET)
    monkeypatch.setenv("GAORG_HYPERLIQUID_PRIVATE_KEY", KEY)
    path = save_genome(genome(stops=False), gaorg_home / "g.json")
    first_bar = int(np.searchsorted(series[BASKET[0]].ts, to_ms("2023-01-03")))
    with stand_in(series) as ex:
        for sym, b in series.items():  # fills near the replayed closes (IOC orders allow 5%)
            ex.prices[sym.split("/")[0]] = float(b.close[first_bar + LONG // 2])
        f = gaorg_home / "live.yaml"
        f.write_text(f"symbols: [{', '.join(BASKET)}]\nweights: {{'{BASKET[0]}': 0.24, '*': 0.76}}\n"
                     f"timeframe: 1h\nbroker: exchange\nfeed: replay\napi_url: {ex.url}\nrate_limit_ms: 1\n"
                     f"start: '2023-01-03'\nlimits: {{max_total_notional: {GROSS}}}\n")
        halfway = load_live_config(f, {"model": "g", "max_bars": LONG // 2})
        cfg = load_live_config(f, {"model": "g", "max_bars": LONG})
        assert cfg.weight(BASKET[0]) == 0.24 and cfg.weight(BASKET[19]) == pytest.approx(0.04)
        first = Runner(halfway, Settings.from_env(), FileRegistry(path)).run()
        assert first.stopped == f"max_bars {LONG // 2} reached" and len(first.symbols) == 20
        summary = Runner(cfg, Settings.from_env(), FileRegistry(path)).run()  # a restart: each symbol goes on
        assert summary.stopped == f"max_bars {LONG} reached"
        fee, entered, refused = cfg.costs.fee, 0, 0
        con = duckdb.connect(str(gaorg_home / "live.duckdb"), read_only=True)
        for sym, b in series.items():
            coin = sym.split("/")[0]
            got = stored(gaorg_home, cfg, sym, con)
            assert got["bars"] == LONG and summary.symbols[sym]["total_bars"] == LONG
            assert sorted(got["equity"]) == [int(t) for t in b.ts[first_bar:first_bar + LONG]]  # none twice or skipped
            if not any(t == b.ts[first_bar + LONG - 1] for t, *_ in got["signals"]):  # else: marked before it
                assert got["units"] == pytest.approx(ex.account.positions.get(coin, 0.0), abs=1e-9)
            assert sum(got["fills"]) == pytest.approx(ex.account.positions.get(coin, 0.0), abs=1e-9)
            if got["signals"]:  # the first entry: the account's equity at that bar times its weight and target
                entered += 1
                bar_ts, target, filled, _ = got["signals"][0]
                close = float(b.close[list(b.ts).index(bar_ts)])
                want = got["equity"][bar_ts] * cfg.weight(sym) * abs(target) / (close * (1 + fee))
                assert abs(filled) == pytest.approx(want, abs=1e-4)
            codes = [c for k, c in con.execute("SELECT kind, code FROM risk_events WHERE state_key = ?",
                                               [cfg.for_symbol(sym).state_key]).fetchall() if k == "refused"]
            assert set(codes) <= {"max_total_notional", "reducing"}  # over the limit by price moves: reducing
            refused += codes.count("max_total_notional")
            assert got["signals"] or "max_total_notional" in codes  # each symbol: its weight's target, or the limit
        con.close()
        # the gross limit bound: some entries were refused, and the account's gross stayed near it
        assert entered >= 10 and refused >= 1
        gross = sum(abs(u) * ex.price(c) for c, u in ex.account.positions.items())
        assert gross <= GROSS * 1.1 < 0.9 * ex.account_value()
        requests = [r.body["action"]["orders"][0]["c"] for r in ex.state.requests if r.type == "order"]
        assert len(requests) == len(set(requests))  # no cloid sent twice, across the restart
        assert {f["coin"] for f in ex.account.fills} <= set(COINS)
        # one read of the account serves a bar-close: the last mark may precede another coin's order (its fee)
        assert summary.equity == pytest.approx(ex.account_value(), rel=1e-4)


def run_child(path, url, crash: str | None) -> int:
    """The runner in a forked process (see ``live_kit.run_forked``)."""
    return run_forked(config(url), path, crash)


def test_kills_at_each_point_of_the_order_cycle_continue_both_symbols_with_nothing_doubled(market, gaorg_home):
    series, path = market
    with stand_in(series) as ex:
        for sym, b in series.items():
            ex.prices[sym.split("/")[0]] = float(b.close[-1])
        cfg = config(ex.url)
        assert run_child(path, ex.url, "before_submit") == -signal.SIGKILL
        assert ex.account.by_cloid == {}
        assert (gaorg_home / "live.duckdb.intents").read_text().strip()  # the intent, journalled only
        assert run_child(path, ex.url, "after_submit") == -signal.SIGKILL
        assert len(ex.account.by_cloid) == 1
        assert run_child(path, ex.url, "after_fill") == -signal.SIGKILL
        assert run_child(path, ex.url, None) == 0
        requests = [r.body["action"]["orders"][0]["c"] for r in ex.state.requests if r.type == "order"]
        assert len(requests) == len(set(requests))  # no cloid ever sent twice
        filled_everywhere: set[str] = set()
        for sym in series:
            coin = sym.split("/")[0]
            got = stored(gaorg_home, cfg, sym)
            assert got["bars"] == BARS
            assert all(s not in ("intent", "submitted") for s in got["orders"].values())
            exchange_units = ex.account.positions.get(coin, 0.0)
            assert got["units"] == pytest.approx(exchange_units, abs=1e-9)
            assert sum(got["fills"]) == pytest.approx(exchange_units, abs=1e-9)
            coin_cloids = {f["cloid"] for f in ex.account.fills if f["coin"] == coin}
            assert {c for c, s in got["orders"].items() if s == "filled"} == coin_cloids
            assert coin_cloids  # both symbols traded
            filled_everywhere |= coin_cloids
        assert filled_everywhere == set(ex.account.by_cloid)
