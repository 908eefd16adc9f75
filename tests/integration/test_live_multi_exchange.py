"""Two symbols on one exchange account: the real ccxt client against the stand-in Hyperliquid on 127.0.0.1.

Each symbol sizes on its weight of the account's equity; a run killed with SIGKILL at each point of the
order cycle and restarted continues both symbols with nothing sent twice and nothing lost.
"""

from __future__ import annotations

import signal

import duckdb
import pytest

from gaorg.config import Settings
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


def stored(home, cfg: LiveConfig, sym: str):
    key = cfg.for_symbol(sym).state_key
    con = duckdb.connect(str(home / "live.duckdb"), read_only=True)
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
        con.close()
    return {"orders": orders, "fills": fills, "units": pos[0][0] if pos else 0.0, "bars": done[0][0] if done else 0,
            "equity": equity, "signals": signals}


def test_two_symbols_trade_one_exchange_account_each_on_its_weight(market, gaorg_home):
    series, path = market
    with stand_in(series) as ex:
        for sym, b in series.items():
            ex.prices[sym.split("/")[0]] = float(b.close[-1])
        cfg = config(ex.url)
        summary = Runner(cfg, Settings.from_env(), FileRegistry(path)).run()
        assert summary.broker == "hyperliquid" and summary.stopped == f"max_bars {BARS} reached"
        fee = cfg.costs.fee
        for sym in series:
            coin = sym.split("/")[0]
            got = stored(gaorg_home, cfg, sym)
            assert got["bars"] == BARS and summary.symbols[sym]["total_bars"] == BARS
            assert got["units"] == pytest.approx(ex.account.positions.get(coin, 0.0), abs=1e-9)
            assert sum(got["fills"]) == pytest.approx(ex.account.positions.get(coin, 0.0), abs=1e-9)
            # the first entry: the account's equity at that bar times the symbol's weight and target
            bar_ts, target, filled, _ = got["signals"][0]
            close = float(series[sym].close[list(series[sym].ts).index(bar_ts)])
            want = got["equity"][bar_ts] * WEIGHTS[sym] * abs(target) / (close * (1 + fee))
            assert abs(filled) == pytest.approx(want, abs=1e-4)
        # one account: both symbols' orders reached the same exchange account, each for its own coin
        coins = {f["coin"] for f in ex.account.fills}
        assert coins == {"BTC", "ETH"}
        assert summary.equity == pytest.approx(ex.account_value(), rel=1e-9)


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
