"""Fetching with the real ccxt client against the stand-in Hyperliquid on 127.0.0.1, faults included."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from gaorg.data.bars import Bars
from gaorg.data.exchange import RetryPolicy, call, known_exchanges, make_exchange, translate_error
from gaorg.data.fetch import fetch_into
from gaorg.data.store import MarketStore
from gaorg.data.synth import synth_market
from gaorg.errors import (
    ExchangeError,
    InputError,
    NotFoundError,
    PermanentExchangeError,
    RateLimitedError,
    TransientExchangeError,
    ValidationError,
)
from gaorg.testing.hyperliquid import StandInHyperliquid

H = 3_600_000
N = 350  # bars served; the newest is still open
PAGE = 100  # the stand-in's per-call limit
SYMBOL = "BTC/USDC:USDC"
FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.005)


@pytest.fixture(scope="module")
def market():
    now = int(time.time() * 1000)
    start = (now // H - (N - 1)) * H  # the last bar opens this hour: still open
    return synth_market(SYMBOL, "1h", N, seed=11, start_ms=start, exchange="hyperliquid")


@pytest.fixture
def server(market):
    # Hyperliquid stamps funding a few ms after the hour
    funding = {"BTC": (market.funding_ts + 31, market.funding_rate)}
    with StandInHyperliquid([market.bars], funding=funding, page_limit=PAGE, timeout_delay=0.5) as srv:
        yield srv


@pytest.fixture
def store(tmp_path: Path):
    with MarketStore(tmp_path / "market.duckdb") as s:
        yield s


def client(server, **kw):
    return make_exchange("hyperliquid", api_url=server.url, timeout_ms=kw.pop("timeout_ms", 250),
                         rate_limit_ms=kw.pop("rate_limit_ms", 1), **kw)


def fetch(store, server, exchange=None, **kw):
    kw.setdefault("retry", FAST)
    kw.setdefault("page_limit", 5000)
    return fetch_into(store, exchange or client(server), SYMBOL, "1h", **kw)


def test_fetch_pages_past_the_limit_and_never_stores_the_open_bar(store, server, market):
    report = fetch(store, server, since=int(market.bars.ts[0]))
    bars = store.read_bars("hyperliquid", SYMBOL, "1h")
    assert report.complete and report.bars == N - 1
    assert server.state.count("candleSnapshot") == 4  # 350 bars at 100 a page
    np.testing.assert_array_equal(bars.ts, market.bars.ts[:-1])
    np.testing.assert_allclose(bars.close, market.bars.close[:-1])
    assert bars.ts[-1] + H <= time.time() * 1000


def test_funding_history_is_stored_on_whole_seconds_and_aligned_to_the_bars(store, server, market):
    fetch(store, server, since=int(market.bars.ts[0]))
    ts, rate = store.read_funding("hyperliquid", SYMBOL)
    now = time.time() * 1000
    served = market.funding_ts[market.funding_ts + 31 <= now]
    np.testing.assert_array_equal(ts, served)
    bars = store.read_bars("hyperliquid", SYMBOL, "1h")
    np.testing.assert_allclose(bars.funding, market.bars.funding[:-1])


def test_a_second_fetch_resumes_after_the_newest_stored_bar(store, server, market):
    cut = int(market.bars.ts[200])
    first = fetch(store, server, since=int(market.bars.ts[0]), until=cut)
    assert first.bars == 200 and store.last_ts("hyperliquid", SYMBOL, "1h") == cut - H
    seen = len(server.state.requests)
    second = fetch(store, server)
    starts = [r.body["req"]["startTime"] for r in server.state.requests[seen:] if r.type == "candleSnapshot"]
    assert starts[0] == cut
    assert second.bars == N - 1 - 200
    assert len(store.read_bars("hyperliquid", SYMBOL, "1h")) == N - 1


@pytest.mark.parametrize("fault", ["timeout", "429", "500", "503"])
def test_transient_faults_are_retried_and_the_fetch_completes(store, server, market, fault):
    server.fail("candleSnapshot", "ok", fault, fault)
    report = fetch(store, server, since=int(market.bars.ts[0]))
    assert report.complete and report.bars == N - 1
    assert report.retries == 2
    assert server.state.count("candleSnapshot") == 4 + 2


def test_a_short_page_does_not_end_the_fetch(store, server, market):
    server.fail("candleSnapshot", "short", "ok", "short")
    report = fetch(store, server, since=int(market.bars.ts[0]))
    assert report.complete and len(store.read_bars("hyperliquid", SYMBOL, "1h")) == N - 1


def test_an_empty_page_stops_the_fetch_and_the_next_run_resumes(store, server, market):
    server.fail("candleSnapshot", "ok", "empty")
    first = fetch(store, server, since=int(market.bars.ts[0]))
    assert not first.complete and first.bars == PAGE and "empty page" in first.notes[0]
    second = fetch(store, server)
    assert second.complete and len(store.read_bars("hyperliquid", SYMBOL, "1h")) == N - 1


def test_an_interrupted_fetch_keeps_the_stored_pages_and_resumes(store, server, market):
    server.fail("candleSnapshot", "ok", "ok", *["502"] * FAST.attempts)
    with pytest.raises(TransientExchangeError, match="gave up after 4 attempts"):
        fetch(store, server, since=int(market.bars.ts[0]))
    assert len(store.read_bars("hyperliquid", SYMBOL, "1h")) == 2 * PAGE
    report = fetch(store, server)
    assert report.complete
    np.testing.assert_array_equal(store.read_bars("hyperliquid", SYMBOL, "1h").ts, market.bars.ts[:-1])


def test_the_rate_limit_spaces_the_requests(store, server, market):
    ex = client(server, rate_limit_ms=30)  # candleSnapshot costs 4 units: 120 ms apart
    fetch(store, server, exchange=ex, since=int(market.bars.ts[0]), funding=False)
    at = [r.at for r in server.state.requests if r.type == "candleSnapshot"]
    # ccxt's leaky bucket holds one unit of credit (30 ms): a request may come up to that much early
    # after a late one, so the gaps are >= 90 ms less arrival jitter, and 120 ms on average
    assert len(at) == 4 and at[-1] - at[0] >= 3 * 0.1 and min(np.diff(at)) >= 0.06


def test_unknown_symbol_and_timeframe_are_input_errors(store, server):
    ex = client(server)
    with pytest.raises(NotFoundError, match="no market 'BTC/USDT:USDT'.*did you mean 'BTC/USDC:USDC'"):
        fetch_into(store, ex, "BTC/USDT:USDT", "1h", retry=FAST)
    with pytest.raises(InputError, match="unknown timeframe '3d'"):
        fetch_into(store, ex, SYMBOL, "3d", retry=FAST)
    kraken = make_exchange("kraken")
    with pytest.raises(InputError, match="kraken does not offer the timeframe '3m'"):
        fetch_into(store, kraken, "BTC/USD", "3m", retry=FAST)
    assert store.series() == []


def test_an_unknown_exchange_is_named_with_a_suggestion():
    import ccxt

    with pytest.raises(NotFoundError, match="unknown exchange 'hyperliqid'.*did you mean 'hyperliquid'"):
        make_exchange("hyperliqid")
    assert known_exchanges() == sorted(ccxt.exchanges)


def test_testnet_uses_the_sandbox_urls():
    ex = make_exchange("hyperliquid", testnet=True)
    assert ex.urls["api"]["public"] == "https://api.hyperliquid-testnet.xyz"
    assert ex.options["sandboxMode"] is True


def test_builder_fee_and_referrer_are_off_and_send_nothing(server):
    ex = client(server)
    assert ex.options["builderFee"] is False and ex.options["approvedBuilderFee"] is False
    assert ex.handle_builder_fee_approval() is True
    assert ex.set_ref() is True
    assert not [r for r in server.state.requests if r.path == "/exchange"]


def test_ccxt_errors_are_translated_once_into_gaorg_errors():
    import ccxt

    cases = {
        ccxt.RateLimitExceeded("slow down"): RateLimitedError,
        ccxt.DDoSProtection("slow down"): RateLimitedError,
        ccxt.RequestTimeout("timed out"): TransientExchangeError,
        ccxt.ExchangeNotAvailable("502"): TransientExchangeError,
        ccxt.BadSymbol("no such market"): NotFoundError,
        ccxt.AuthenticationError("bad key"): PermanentExchangeError,
        ccxt.InsufficientFunds("poor"): PermanentExchangeError,
        ccxt.InvalidOrder("tick size"): PermanentExchangeError,
        RuntimeError("odd"): ExchangeError,
    }
    for exc, kind in cases.items():
        got = translate_error(exc, "where")
        assert type(got) is kind and got.args[0].startswith("where: ")
    already = RateLimitedError("x")
    assert translate_error(already) is already


def test_permanent_errors_are_not_retried():
    import ccxt

    calls = []

    def refuse():
        calls.append(1)
        raise ccxt.InsufficientFunds("not enough margin")

    with pytest.raises(PermanentExchangeError, match="not enough margin"):
        call(refuse, retry=FAST)
    assert len(calls) == 1


def test_a_bad_bar_from_the_exchange_stops_at_its_page_or_is_dropped_with_repair(tmp_path, market):
    b = market.bars
    high = np.array(b.high)
    high[150] = b.low[150] / 2  # page 2 carries a bar with high below low
    bad = Bars.from_arrays(b.ts, b.open, high, b.low, b.close, b.volume, exchange=b.exchange, symbol=b.symbol,
                           timeframe="1h")
    with StandInHyperliquid([bad], page_limit=PAGE) as srv, MarketStore(tmp_path / "m.duckdb") as store:
        with pytest.raises(ValidationError, match="high below low"):
            fetch(store, srv, since=int(b.ts[0]), funding=False)
        assert len(store.read_bars("hyperliquid", SYMBOL, "1h")) == PAGE  # page 1 kept, page 2 rejected whole
        report = fetch(store, srv, repair=True, funding=False)
        assert report.complete
        stored = store.read_bars("hyperliquid", SYMBOL, "1h")
    assert len(stored) == N - 2 and int(b.ts[150]) not in set(stored.ts.tolist())


def test_translated_messages_drop_url_query_strings_that_may_carry_keys():
    import ccxt

    exc = ccxt.AuthenticationError("binance GET https://api.binance.com/api/v3/account?apiKey=SECRET&signature=abc 401")
    text = str(translate_error(exc))
    assert "SECRET" not in text and "signature" not in text
    assert "https://api.binance.com/api/v3/account?<redacted>" in text
