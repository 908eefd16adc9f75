"""`gaorg data fetch --universe | --top N | --symbols-file`: the real ccxt client against a stand-in
Hyperliquid serving 56 perpetuals (late listings, delistings, volumes), through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaorg.cli import main
from gaorg.data.store import MarketStore
from gaorg.testing.universe import universe_stand_in

H = 3_600_000
BARS = 60
FAST = ["--rate-limit-ms", "0", "--retries", "2", "--backoff", "0", "--timeout-ms", "2000", "--json"]


@pytest.fixture(scope="module")
def srv():
    with universe_stand_in(56, bars=BARS, delisted=3, page_limit=40, seed=3) as s:
        yield s


def run(capsys, srv, *args: str) -> tuple[int, dict, str]:
    code = main(["data", "fetch", "--api-url", srv.url, *FAST, *args])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]), err


def stored(home: Path) -> dict[str, np.ndarray]:
    with MarketStore(home / "market.duckdb", read_only=True) as st:
        return {s.symbol: st.read_bars("hyperliquid", s.symbol, "1h").ts for s in st.series()}


def test_universe_fetches_every_active_perpetual_skips_the_delisted_and_a_rerun_resumes(capsys, srv, gaorg_home):
    code, got, err = run(capsys, srv, "--universe")
    active = [x for x in srv.listings if x.active]
    assert code == 0 and got["listed"] == 56 and len(got["fetched"]) == len(active) == 53
    assert sorted(s["symbol"] for s in got["skipped"]) == sorted(x.symbol for x in srv.listings if x.delisted)
    assert {s["reason"] for s in got["skipped"]} == {"delisted"} and got["failed"] == []
    assert err.count("\nfetch ") + err.startswith("fetch ") == 53 and "fetch 53/53 " in err  # one line a symbol off a TTY
    assert "fetched 53 (" in err and "; all 53 now up to date), skipped 3, failed 0" in err
    series = stored(gaorg_home)
    assert len(series) == 53
    for x in active:  # every closed bar from its listing, the open one never
        assert series[x.symbol][0] == x.first and series[x.symbol][-1] == x.last - H, x.symbol
    listed = main(["data", "list", "--summary", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["universes"]
    assert listed == 0 and summary[0]["series"] == 53 and len(summary[0]["start_late"]) > 5
    assert main(["data", "gaps", "--json"]) == 0  # every series at once: the stand-in's have no gaps
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["series"] == 53
    seen = len(srv.state.requests)
    code, again, _ = run(capsys, srv, "--universe")
    starts = {r.body["req"]["coin"]: r.body["req"]["startTime"] for r in srv.state.requests[seen:]
              if r.type == "candleSnapshot"}
    assert code == 0 and sum(r["bars"] for r in again["fetched"]) <= 53  # at most the hour that just closed
    newest = {x.coin: series[x.symbol][-1] for x in active}
    assert all(start == newest[coin] + H for coin, start in starts.items())  # only after the newest stored bar


def test_top_n_fetches_the_most_traded_and_min_bars_skips_late_listings(capsys, srv, gaorg_home):
    code, got, _ = run(capsys, srv, "--top", "8", "--min-bars", str(BARS - 5))
    ranked = sorted((x for x in srv.listings if x.active), key=lambda x: -x.volume)[:8]
    late = {x.symbol for x in ranked if x.first > x.last - (BARS - 5) * H}
    assert code == 0 and late, "the seed should put a late listing among the top 8"
    assert {r["symbol"] for r in got["fetched"]} == {x.symbol for x in ranked} - late
    assert {s["symbol"] for s in got["skipped"] if s["reason"].startswith("too short")} == late
    assert set(stored(gaorg_home)) == {x.symbol for x in ranked} - late


def test_a_failing_symbol_fails_alone_and_a_delisted_one_is_fetched_up_to_its_delisting(capsys, srv, gaorg_home,
                                                                                       tmp_path):
    gone = next(x for x in srv.listings if x.delisted)
    names = [x.symbol for x in srv.listings if x.active][:5]
    listing = tmp_path / "basket.txt"
    listing.write_text("# a basket\n" + "\n".join(names[:3]) + f"\n{names[3]}, {names[4]}  # two on a line\n{gone.symbol}\n")
    bad = srv.listing(names[2])
    srv.fail("candleSnapshot", "500", "500", coin=bad.coin)  # both attempts of its first page
    code, got, _ = run(capsys, srv, "--symbols-file", str(listing), "--include-delisted")
    assert code == 1 and [f["symbol"] for f in got["failed"]] == [bad.symbol] and "500" in got["failed"][0]["error"]
    series = stored(gaorg_home)
    assert set(series) == (set(names) - {bad.symbol}) | {gone.symbol}
    assert series[gone.symbol][-1] == gone.last  # its last bar closed before the delisting
    assert next(r for r in got["fetched"] if r["symbol"] == gone.symbol)["complete"]
    code, got, _ = run(capsys, srv, "--symbols-file", str(listing))  # the rerun fetches the failed one
    assert code == 0 and set(stored(gaorg_home)) == set(names) | {gone.symbol}


@pytest.mark.parametrize("args, says", [
    (["--top", "0"], "--top 0"),
    (["--universe", "--symbol", "BTC/USDC:USDC"], "one or the other"),
    (["--symbols-file", "{tmp}"], "folder"),
    (["--symbols-file", "{tmp}/missing.txt"], "no symbols file"),
    (["--symbols-file", "{tmp}/typo.txt"], "did you mean"),
    (["--symbols-file", "{tmp}/coin.txt"], "no USDC perpetual 'U05' (did you mean 'U05/USDC:USDC'?)"),
    (["--universe", "--workers", "0"], "--workers 0: give how many symbols to fetch at a time"),
    (["--universe", "--min-bars", "-1"], "--min-bars -1 cannot be negative"),
])
def test_bad_universe_input_exits_2_and_stores_nothing(capsys, srv, gaorg_home, tmp_path, args, says):
    (tmp_path / "typo.txt").write_text("U0/USDC:USDC\n")
    (tmp_path / "coin.txt").write_text("U05\n")  # a coin's name, not its ccxt symbol
    code = main(["data", "fetch", "--api-url", srv.url, *FAST, *[a.format(tmp=tmp_path) for a in args]])
    err = capsys.readouterr().err
    assert code == 2 and says in err
    assert not (gaorg_home / "market.duckdb").exists()


def test_an_interrupt_stops_the_symbols_not_yet_started_and_keeps_what_was_stored(srv, tmp_path):
    from gaorg.data.exchange import make_exchange
    from gaorg.data.universe import choose, fetch_universe, perpetuals

    def client(rate_limit_ms):
        ex = make_exchange("hyperliquid", api_url=srv.url, rate_limit_ms=0)
        fetch = ex.fetch_ohlcv

        def interrupted_on_the_third(symbol, *args, **kwargs):
            if symbol == chosen[2].symbol:
                raise KeyboardInterrupt
            return fetch(symbol, *args, **kwargs)

        ex.fetch_ohlcv = interrupted_on_the_third
        return ex

    chosen, _ = choose(perpetuals(client(None)))
    seen = len(srv.state.requests)
    with MarketStore(tmp_path / "market.duckdb") as st, pytest.raises(KeyboardInterrupt):
        fetch_universe(st, client, chosen[:20], "1h", workers=1, progress=False)
    asked = {r.body["req"]["coin"] for r in srv.state.requests[seen:] if r.type == "candleSnapshot"}
    coins = [srv.listing(p.symbol).coin for p in chosen]
    # the worker may take one more symbol while the interrupt reaches the main thread; none after it
    assert set(coins[:2]) <= asked <= set(coins[:4]) - {coins[2]}
    with MarketStore(tmp_path / "market.duckdb", read_only=True) as st:
        kept = {s.symbol for s in st.series()}
    assert {p.symbol for p in chosen[:2]} <= kept <= {p.symbol for p in chosen[:4]} - {chosen[2].symbol}


def test_an_interrupt_stops_the_symbols_in_flight_before_their_next_page(tmp_path):
    """Ctrl-C (here: a KeyboardInterrupt out of one symbol's worker) stops a symbol another worker is
    paging through before its next page, instead of waiting for its last: what it stored stays."""
    import threading
    import time

    from gaorg.data.exchange import make_exchange
    from gaorg.data.universe import Perpetual, fetch_universe

    with universe_stand_in(4, bars=BARS, delisted=0, late=0.0, page_limit=5, seed=3) as s:
        first, other = (x.symbol for x in s.listings[:2])
        paging = threading.Event()

        def client(rate_limit_ms):
            ex = make_exchange("hyperliquid", api_url=s.url, rate_limit_ms=0)
            fetch = ex.fetch_ohlcv

            def paced(symbol, *args, **kwargs):
                if symbol == first:  # interrupted once the other symbol is paging
                    paging.wait(10)
                    raise KeyboardInterrupt
                paging.set()
                time.sleep(0.05)
                return fetch(symbol, *args, **kwargs)

            ex.fetch_ohlcv = paced
            return ex

        chosen = [Perpetual(first, True, 2.0), Perpetual(other, True, 1.0)]
        with MarketStore(tmp_path / "market.duckdb") as st, pytest.raises(KeyboardInterrupt):
            fetch_universe(st, client, chosen, "1h", workers=2, progress=False)
        coin = s.listing(other).coin
        pages = sum(1 for r in s.state.requests if r.type == "candleSnapshot" and r.body["req"]["coin"] == coin)
    assert 1 <= pages < BARS // 5 - 2  # it stopped within a page or two of the interrupt, not at its end
    with MarketStore(tmp_path / "market.duckdb", read_only=True) as st:
        kept = {x.symbol: x.rows for x in st.series()}
    assert set(kept) == {other} and 0 < kept[other] <= 5 * pages  # what it stored stays


def test_the_stand_ins_own_command_serves_a_universe_gaorg_fetches_until_ctrl_c(capsys, gaorg_home):
    """``python -m gaorg.testing.universe`` (docs/quickstart.md's way to try a universe fetch without
    the network): its URL on stdout, a fetch from it, exit 0 on Ctrl-C; a bad flag exits 2."""
    import signal
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "gaorg.testing.universe", "--coins", "6", "--bars", "40", "--timeframe", "1h",
           "--delisted", "1"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
            code = main(["data", "fetch", "--api-url", url, *FAST, "--universe", "--timeframe", "1h"])
            got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
            assert code == 0 and got["listed"] == 6 and len(got["fetched"]) == 5 and len(got["skipped"]) == 1
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 0
    bad = subprocess.run([*cmd[:3], "--timeframe", "7x"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown timeframe '7x'" in bad.stderr
