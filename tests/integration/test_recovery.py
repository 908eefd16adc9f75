"""Crash recovery: the executor process is killed with SIGKILL at each point of the order cycle, then
restarted; the orders and positions it stores match the exchange's, and nothing is sent twice.

The executor runs in a forked child process (the modules are already imported: fast), which
``GAORG_TEST_CRASH_AT`` kills with SIGKILL; the stand-in exchange lives in the test process.
"""

from __future__ import annotations

import json
import signal

import duckdb
import pytest

from gaorg.live.config import LiveConfig
from gaorg.strategies.genome import save_genome
from gaorg.testing.hyperliquid_exchange import StandInExchange
from tests.integration.live_kit import SYMBOL, bars, genome, run_forked, store_bars

pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")

WALLET = "0x" + "cd" * 20
KEY = "0x" + "7a" * 32
N = 110
BARS = 30


@pytest.fixture
def market(gaorg_home, monkeypatch):
    b = bars(N, seed=5)
    store_bars(gaorg_home, b)
    monkeypatch.setenv("GAORG_HYPERLIQUID_WALLET", WALLET)
    monkeypatch.setenv("GAORG_HYPERLIQUID_PRIVATE_KEY", KEY)
    return b, save_genome(genome(stops=False), gaorg_home / "g.json")


def run_child(path, url, crash: str | None) -> int:
    """The runner on the stand-in exchange in a forked process (see ``live_kit.run_forked``)."""
    return run_forked(LiveConfig(model="g", symbol=SYMBOL, timeframe="1h", broker="exchange", feed="replay",
                                 api_url=url, rate_limit_ms=1.0, start="2023-01-03", max_bars=BARS), path, crash)


def stored(home):
    con = duckdb.connect(str(home / "live.duckdb"), read_only=True)
    try:
        orders = con.execute("SELECT cloid, status FROM orders").fetchall()
        fills = con.execute("SELECT units FROM fills").fetchall()
        pos = con.execute("SELECT units FROM positions").fetchall()
        bars_done = con.execute("SELECT bars FROM progress").fetchall()
    finally:
        con.close()
    return dict(orders), [u for (u,) in fills], pos[0][0] if pos else 0.0, bars_done[0][0] if bars_done else 0


def test_kills_at_each_point_of_the_order_cycle_lose_nothing_and_double_nothing(market, gaorg_home):
    b, path = market
    with StandInExchange([b], cash=10_000.0) as ex:
        ex.prices["BTC"] = float(b.close[-1])
        # 1. killed with the intent stored, nothing sent
        assert run_child(path, ex.url, "before_submit") == -signal.SIGKILL
        orders, *_ = stored(gaorg_home)
        assert orders == {} and ex.account.by_cloid == {}  # the intent is in the fsync'd journal only
        journal = (gaorg_home / "live.duckdb.intents").read_text().splitlines()
        intent = json.loads(journal[0])["cloid"]
        # 2. restarted: imports the journal, sends that intent (same cloid), killed before the reply is stored
        assert run_child(path, ex.url, "after_submit") == -signal.SIGKILL
        assert list(ex.account.by_cloid) == [intent]
        assert stored(gaorg_home)[0][intent] == "intent"
        # 3. restarted: reconciliation finds it filled by cloid; killed after the next fill is stored
        assert run_child(path, ex.url, "after_fill") == -signal.SIGKILL
        orders, *_ = stored(gaorg_home)
        assert orders[intent] == "filled"
        sent = len(ex.account.by_cloid)
        assert sent == 2
        # 4. restarted: goes on to max_bars without re-sending the last order
        assert run_child(path, ex.url, None) == 0
        orders, fills, units, done = stored(gaorg_home)
        assert done == BARS
        requests = [r.body["action"]["orders"][0]["c"] for r in ex.state.requests if r.type == "order"]
        assert len(requests) == len(set(requests))  # no cloid ever sent twice
        assert {c for c, s in orders.items() if s == "filled"} == set(ex.account.by_cloid)
        assert all(s not in ("intent", "submitted") for s in orders.values())
        exchange_units = ex.account.positions.get("BTC", 0.0)
        assert units == pytest.approx(exchange_units, abs=1e-9)
        assert sum(fills) == pytest.approx(exchange_units, abs=1e-9)
        assert len(fills) == len(ex.account.fills) >= 2
