"""The ccxt broker against the stand-in Hyperliquid on 127.0.0.1 (the real ccxt client), with faults."""

from __future__ import annotations

import pytest

from gaorg.data.exchange import RetryPolicy, make_exchange
from gaorg.errors import ConfigError
from gaorg.live.brokers.ccxt_broker import CcxtBroker, credentials_from_env
from gaorg.live.types import Order, client_order_id
from gaorg.testing.hyperliquid_exchange import StandInExchange
from tests.integration.live_kit import SYMBOL, bars

WALLET = "0x" + "ab" * 20
KEY = "0x" + "5e" * 32
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def stand_in():
    with StandInExchange([bars(50)], timeout_delay=1.5) as s:
        s.prices["BTC"] = 100.0
        yield s


@pytest.fixture
def broker(stand_in):
    ex = make_exchange("hyperliquid", credentials={"walletAddress": WALLET, "privateKey": KEY}, api_url=stand_in.url,
                       timeout_ms=700, rate_limit_ms=1)
    return CcxtBroker(ex, SYMBOL, retry=FAST)


def order(units: float, n: int = 0) -> Order:
    return Order(client_order_id("test", 1_700_000_000_000 + n, "signal"), SYMBOL, 0, 0.5, units, 100.0)


def test_a_market_order_fills_and_the_account_shows_the_position(broker, stand_in):
    res = broker.submit(order(2.5))
    assert res.status == "filled" and res.filled == pytest.approx(2.5) and res.avg_price == pytest.approx(100.0)
    assert res.fee == pytest.approx(2.5 * 100.0 * stand_in.fee)
    acct = broker.account(SYMBOL, 100.0)
    assert acct.units(SYMBOL) == pytest.approx(2.5)
    assert acct.equity == pytest.approx(10_000.0 - res.fee)
    assert broker.find(res.cloid).status == "filled"


def test_the_client_order_id_is_a_hyperliquid_cloid_and_travels_with_the_order(broker, stand_in):
    o = order(1.0)
    assert o.cloid.startswith("0x") and len(o.cloid) == 34 and int(o.cloid, 16) >= 0
    broker.submit(o)
    sent = [r.body for r in stand_in.state.requests if r.type == "order"]
    assert sent[0]["action"]["orders"][0]["c"] == o.cloid


def test_a_reply_lost_after_the_order_was_accepted_is_found_by_cloid_not_sent_again(broker, stand_in):
    stand_in.fail_order("lost")
    res = broker.submit(order(1.0))
    assert res.status == "filled" and res.filled == pytest.approx(1.0)
    assert stand_in.actions().count("order") == 1
    assert len(stand_in.account.fills) == 1


def test_a_timed_out_order_is_never_doubled_even_when_the_late_original_arrives(broker, stand_in):
    import time

    stand_in.fail("order", "timeout")  # the original is executed only after the client gave up
    res = broker.submit(order(1.0))
    assert res.status == "filled"
    time.sleep(stand_in.state.timeout_delay)  # let the late original reach the book: its cloid is refused
    assert len(stand_in.account.fills) == 1
    assert broker.account(SYMBOL, 100.0).units(SYMBOL) == pytest.approx(1.0)


@pytest.mark.parametrize("fault", ["429", "500", "503"])
def test_a_refused_request_is_retried_with_the_same_cloid_and_fills_once(broker, stand_in, fault):
    stand_in.fail("order", fault)
    res = broker.submit(order(1.0))
    assert res.status == "filled"
    assert stand_in.actions().count("order") == 2  # the first never reached the book
    assert len(stand_in.account.fills) == 1


def test_a_rejected_order_is_a_result_with_the_reason_not_an_exception(broker, stand_in):
    stand_in.fail_order("reject")
    res = broker.submit(order(1.0))
    assert res.status == "rejected" and "Insufficient margin" in res.error
    assert broker.account(SYMBOL, 100.0).units(SYMBOL) == 0.0


def test_a_partial_fill_is_reported_as_partial_with_the_filled_size(broker, stand_in):
    stand_in.fail_order("partial")
    res = broker.submit(order(-2.0))
    assert res.status == "partial" and res.filled == pytest.approx(-1.0)
    assert broker.account(SYMBOL, 100.0).units(SYMBOL) == pytest.approx(-1.0)


def test_the_same_intent_submitted_twice_is_never_doubled(broker, stand_in):
    o = order(1.0)
    broker.submit(o)
    again = broker.submit(o)  # e.g. a restart that re-decides the same bar
    assert len(stand_in.account.fills) == 1
    assert again.status == "filled"


def test_persistent_faults_end_in_a_transient_error_after_bounded_retries(broker, stand_in):
    from gaorg.errors import TransientExchangeError

    stand_in.fail("order", "503", "503", "503", "503", "503")
    with pytest.raises(TransientExchangeError, match="not placed after 4 attempts"):
        broker.submit(order(1.0))
    assert stand_in.actions().count("order") == 4
    assert stand_in.account.fills == []


def test_no_builder_fee_approval_or_referrer_ever_reaches_the_exchange(broker, stand_in):
    broker.submit(order(1.0))
    broker.submit(order(-1.0, 1))
    actions = stand_in.actions()
    assert actions == ["order", "order"]
    assert "approveBuilderFee" not in actions and "setReferrer" not in actions
    body = next(r.body for r in stand_in.state.requests if r.type == "order")
    assert "builder" not in body["action"]


def test_keys_come_from_the_environment_and_a_missing_key_names_the_variable_not_a_value():
    with pytest.raises(ConfigError, match="GAORG_HYPERLIQUID_PRIVATE_KEY"):
        credentials_from_env({"GAORG_HYPERLIQUID_WALLET": WALLET})
    creds = credentials_from_env({"GAORG_HYPERLIQUID_WALLET": WALLET, "GAORG_HYPERLIQUID_PRIVATE_KEY": KEY})
    assert creds == {"walletAddress": WALLET, "privateKey": KEY}


def test_the_exchange_feed_yields_closed_bars_only_and_flags_the_stale_ones(stand_in):
    from gaorg.live.feed import ExchangeFeed

    b = bars(50)
    ex = make_exchange("hyperliquid", api_url=stand_in.url, rate_limit_ms=1)
    now = (int(b.ts[-1]) + 30 * 60_000) / 1000  # half-way through the last bar: it is not closed
    feed = ExchangeFeed(ex, SYMBOL, "1h", after_ts=int(b.ts[40]), clock=lambda: now, sleep=lambda s: None,
                        max_polls=1, transport="poll")  # the websocket feed: tests/integration/test_live_ws.py
    got = list(feed)
    assert [bar.ts for bar, _ in got] == b.ts[41:49].tolist()
    assert [stale for _, stale in got] == [True] * 6 + [False, False]
    assert not any(bar.gap for bar, _ in got)


def test_without_exchange_stops_a_touched_stop_closes_the_position_at_the_bar_close(broker, stand_in):
    from gaorg.live.types import Bar

    broker.exchange_stops = False  # LiveConfig.exchange_stops: false (trigger orders: test_live_triggers.py)
    entry = Order(client_order_id("test", 1, "signal"), SYMBOL, 0, 0.5, 2.0, 100.0, stop=0.05, take=0.2)
    assert broker.submit(entry).status == "filled"
    assert stand_in.actions() == ["order"]  # no trigger order on the exchange
    assert broker.on_bar(SYMBOL, Bar(3_600_000, 100.0, 104.0, 96.0, 101.0)) == []  # inside both levels
    stand_in.prices["BTC"] = 94.0
    fills = broker.on_bar(SYMBOL, Bar(7_200_000, 99.0, 100.0, 94.5, 94.0))  # the low went through 95
    assert [f.kind for f in fills] == ["stop"] and fills[0].units == pytest.approx(-2.0)
    assert broker.account(SYMBOL, 94.0).units(SYMBOL) == 0.0
    closing = [r.body["action"]["orders"][0] for r in stand_in.state.requests if r.type == "order"][-1]
    assert closing["r"] is True and closing["b"] is False
    assert broker.on_bar(SYMBOL, Bar(10_800_000, 94.0, 94.0, 80.0, 85.0)) == []  # nothing left to close
