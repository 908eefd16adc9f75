"""`gaorg data ...` and `gaorg demo` as real processes: outputs, and every bad input of the issue.

Each bad input exits with status 2, says what is wrong, and leaves the store exactly as it was.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from gaorg.config import Settings
from gaorg.data.store import MarketStore
from gaorg.data.synth import synth_market
from gaorg.testing.hyperliquid import StandInHyperliquid

H = 3_600_000
T0 = 1_704_067_200_000
HEADER = "timestamp,open,high,low,close,volume"


def rows(n: int = 5) -> list[str]:
    return [f"{T0 + i * H},{100 + i},{102 + i},{99 + i},{101 + i},5" for i in range(n)]


def snapshot(path: Path) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return tuple(tuple(con.execute(q).fetchall()) for q in (
            "SELECT * FROM series ORDER BY id", "SELECT * FROM bars ORDER BY series_id, ts",
            "SELECT * FROM funding ORDER BY exchange, symbol, ts"))
    finally:
        con.close()


@pytest.fixture
def seeded(gaorg_home: Path) -> Path:
    """A store holding one imported series (local BTC 1h) and a synthetic one with funding."""
    settings = Settings.from_env()
    settings.ensure_home()
    m = synth_market("SYN", "1h", 48, seed=1)
    with MarketStore(settings.market_db) as store:
        table = np.array([r.split(",") for r in rows(5)], dtype=float)
        store.write_bars("local", "BTC", "1h", {"ts": table[:, 0].astype(np.int64), "open": table[:, 1],
                                                "high": table[:, 2], "low": table[:, 3], "close": table[:, 4],
                                                "volume": table[:, 5]})
        b = m.bars
        store.write_bars("synthetic", "SYN", "1h", {k: getattr(b, k) for k in ("ts", "open", "high", "low", "close",
                                                                                  "volume")})
        store.write_funding("synthetic", "SYN", m.funding_ts, m.funding_rate)
    return settings.market_db


def csv(tmp_path: Path, lines: list[str], header: str = HEADER) -> str:
    path = tmp_path / "in.csv"
    path.write_text("\n".join([header, *lines]) + "\n" if header or lines else "")
    return str(path)


def swap(lines: list[str], i: int, field: int, value: str) -> list[str]:
    parts = lines[i].split(",")
    parts[field] = value
    return [*lines[:i], ",".join(parts), *lines[i + 1:]]


BAD_FILES = {
    "empty file": (lambda: [], "", "is empty"),
    "missing column": (lambda: [r.rsplit(",", 1)[0] for r in rows()], "timestamp,open,high,low,close",
                       "missing column(s) volume"),
    "unparseable timestamp": (lambda: swap(rows(), 2, 0, "2024-13-45"), HEADER, "cannot be read (line 4"),
    "duplicate timestamps": (lambda: swap(rows(), 3, 0, str(T0 + 2 * H)), HEADER, "duplicate timestamp"),
    "out-of-order rows": (lambda: [rows()[i] for i in (0, 2, 1, 3, 4)], HEADER, "out of time order (line 4"),
    "off the grid": (lambda: swap(rows(), 1, 0, str(T0 + H + 60_000)), HEADER, "off the timeframe grid (line 3"),
    "NaN price": (lambda: swap(rows(), 1, 4, "NaN"), HEADER, "missing (NaN)"),
    "negative price": (lambda: swap(rows(), 1, 1, "-3"), HEADER, "non-positive prices (line 3"),
    "high below low": (lambda: swap(rows(), 2, 2, "50"), HEADER, "high below low (line 4"),
    "mixed timezone offsets": (lambda: ["2024-01-01T00:00:00+00:00,1,2,0.5,1.5,3",
                                        "2024-01-01T03:00:00+02:00,1,2,0.5,1.5,3"], HEADER, "mixed timezone offsets"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_exits_2_with_a_clear_message_and_the_store_unchanged(cli, seeded, tmp_path, case):
    make, header, words = BAD_FILES[case]
    before = snapshot(seeded)
    res = cli("data", "import", csv(tmp_path, make(), header), "--symbol", "BTC", "--timeframe", "1h", "--json")
    assert res.code == 2, res.stderr
    assert words in res.json["error"]
    assert snapshot(seeded) == before


@pytest.mark.parametrize("case", ["empty file", "unparseable timestamp"])
def test_a_file_that_cannot_be_read_creates_no_store(cli, gaorg_home, tmp_path, case):
    """The store is opened while the file is parsed: when the parse fails, a store made for it goes."""
    make, header, words = BAD_FILES[case]
    res = cli("data", "import", csv(tmp_path, make(), header), "--symbol", "BTC", "--timeframe", "1h", "--json")
    assert res.code == 2 and words in res.json["error"], res.stderr
    assert sorted(p.name for p in gaorg_home.glob("market.duckdb*")) == []


def test_repair_drops_and_dedupes_with_a_report(cli, seeded, tmp_path):
    lines = swap(rows(6), 2, 2, "50") + [rows(6)[4]]
    res = cli("data", "import", csv(tmp_path, lines), "--symbol", "ETH", "--timeframe", "1h", "--repair", "--json")
    assert res.code == 0, res.stderr
    assert res.json["repair"] == {"rows_in": 7, "rows_out": 5, "sorted": True,
                                  "dropped": {"high below low": 1, "duplicate timestamps": 1}}
    assert "repaired 7 rows -> 5" in res.stderr


def test_unknown_exchange_unknown_symbol_and_unoffered_timeframe_exit_2(cli, seeded):
    before = snapshot(seeded)
    bars = synth_market("BTC/USDC:USDC", "1h", 10, seed=0).bars
    with StandInHyperliquid([bars]) as srv:
        res = [
            cli("data", "fetch", "--exchange", "hyperliqid", "--json"),
            cli("data", "fetch", "--symbol", "DOGE/USDC:USDC", "--api-url", srv.url, "--json"),
            cli("data", "fetch", "--exchange", "kraken", "--symbol", "BTC/USD", "--timeframe", "3m", "--json"),
            cli("data", "gaps", "--symbol", "NOPE", "--timeframe", "1h", "--json"),
        ]
    assert [r.code for r in res] == [2, 2, 2, 2], [r.stderr for r in res]
    assert "did you mean 'hyperliquid'" in res[0].json["error"]
    assert "no market 'DOGE/USDC:USDC'" in res[1].json["error"]
    assert "does not offer the timeframe '3m'" in res[2].json["error"]
    assert res[3].json["kind"] == "NotFoundError"
    assert snapshot(seeded) == before


def test_a_store_locked_by_another_process_exits_2(cli, seeded, tmp_path):
    before = snapshot(seeded)
    code = f"import duckdb, time; c = duckdb.connect({str(seeded)!r}); print('held', flush=True); time.sleep(30)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        res = cli("data", "import", csv(tmp_path, rows()), "--symbol", "X", "--timeframe", "1h", "--json")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert res.code == 2
    assert res.json["kind"] == "StoreLockedError" and f"process {holder.pid}" in res.json["error"]
    time.sleep(0.05)
    assert snapshot(seeded) == before


def test_list_json_gives_every_series_with_iso_times(cli, seeded):
    res = cli("data", "list", "--json")
    assert res.code == 0
    series = res.json["series"]
    assert [(s["exchange"], s["symbol"]) for s in series] == [("local", "BTC"), ("synthetic", "SYN")]
    assert set(series[0]) == {"exchange", "symbol", "timeframe", "first", "last", "rows", "missing"}
    assert series[0]["first"] == "2024-01-01T00:00:00Z" and series[0]["rows"] == 5


def test_synth_then_gaps_and_resample_without_naming_the_exchange(cli):
    assert cli("data", "synth", "--symbols", "A,B", "--bars", "48", "--seed", "3").code == 0
    gaps = cli("data", "gaps", "--symbol", "A", "--timeframe", "1h", "--json")
    assert gaps.code == 0 and gaps.json["exchange"] == "synthetic" and gaps.json["gaps"] == []
    res = cli("data", "resample", "--symbol", "B", "--timeframe", "1h", "--to", "4h", "--json")
    assert res.code == 0 and res.json["inserted"] == 12


def test_import_of_the_users_layout_and_fetch_through_the_cli(cli, tmp_path):
    banner = tmp_path / "cdd.csv"
    banner.write_text("https://example.com data export\nunix,date,open,high,low,close,Volume BTC\n"
                      + "".join(f"{T0 + i * H},x,{100 + i},{102 + i},{99 + i},{101 + i},5\n" for i in (2, 1, 0)))
    res = cli("data", "import", str(banner), "--symbol", "BTC", "--timeframe", "1h",
              "--columns", "timestamp=unix,volume=Volume BTC", "--json")
    assert res.code == 0, res.stderr
    assert res.json["inserted"] == 3 and res.json["first"] == "2024-01-01T00:00:00Z"
    now = int(time.time() * 1000)
    m = synth_market("ETH/USDC:USDC", "1h", 30, seed=2, start_ms=(now // H - 29) * H)
    with StandInHyperliquid([m.bars], funding={"ETH": (m.funding_ts, m.funding_rate)}, page_limit=10) as srv:
        res = cli("data", "fetch", "--symbol", "ETH/USDC:USDC", "--since", str(int(m.bars.ts[0])),
                  "--api-url", srv.url, "--backoff", "0.001", "--json")
    assert res.code == 0, res.stderr
    assert res.json["bars"] == 29 and res.json["complete"] and res.json["funding"] > 0
    listed = {s["symbol"]: s for s in cli("data", "list", "--json").json["series"]}
    assert listed["ETH/USDC:USDC"]["exchange"] == "hyperliquid" and listed["BTC"]["exchange"] == "local"


def test_the_demos_data_steps_create_a_synthetic_and_an_imported_market_and_summarise_it(settings):
    # the full `gaorg demo` (evolution, promotion, live) is tested in tests/integration/test_demo.py
    from gaorg.demo import DemoRun, imported_market, store_summary, synthetic_market

    run = DemoRun(settings, bars=500)
    for step in (synthetic_market, imported_market, store_summary):
        step(run)
    series = {(s["exchange"], s["symbol"]): s for s in run.payload["series"]}
    assert series[("local", "BTC/USDT")]["rows"] == 720
    assert series[("synthetic", "SYNTH-BTC")]["rows"] == 500
    assert "rows were newest first: reversed" in run.payload["imported"]["notes"]
    assert any("market store" in line for line in run.lines)
