"""The exchange feed over the websocket: the real ccxt.pro client against the stand-in's ``/ws``.

Closed bars only and in order, a reconnection that loses nothing (a hole is fetched), staleness when
the stand-in goes silent, polling where there is no websocket, a clean close (no thread, no session
left). Each feed is read by a thread, with timeouts, so a broken feed fails a test instead of hanging it.
"""

from __future__ import annotations

import gc
import logging
import queue
import socket
import threading
import time
import warnings

import pytest

from gaorg.data.exchange import make_exchange
from gaorg.errors import InputError
from gaorg.live.feed import ExchangeFeed
from gaorg.testing.hyperliquid import StandInHyperliquid
from gaorg.testing.hyperliquid_ws import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, encode_frame, read_frame
from tests.integration.live_kit import SYMBOL, bars

H = 3_600_000
B = bars(50)
T0 = int(B.ts[-1])  # the last bar the feed has seen: the live bars are T0 + k * H
END = object()


def t(k: int) -> int:
    return T0 + k * H


def candle(k: int, close: float) -> tuple[int, float, float, float, float, float]:
    return (t(k), close - 0.5, close + 1.0, close - 1.0, close, 5.0)


class Clock:
    """The feed's clock, moved by the test."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


class Reader:
    """Iterates a feed in a thread; the test takes bars with a timeout."""

    def __init__(self, feed: ExchangeFeed) -> None:
        self.feed, self.q = feed, queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for item in self.feed:
                self.q.put(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.q.put(exc)
        finally:
            self.q.put(END)

    def take(self, n: int, timeout: float = 10.0) -> list:
        out, deadline = [], time.monotonic() + timeout
        while len(out) < n:
            try:
                item = self.q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{len(out)} of {n} bars within {timeout}s: {out}") from None
            if isinstance(item, BaseException):
                raise item
            assert item is not END, f"the feed ended after {out}"
            out.append(item)
        return out

    def quiet(self, seconds: float) -> None:
        try:
            item = self.q.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"nothing expected, got {item}")

    def stop(self) -> None:
        self.feed.close()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the feed did not end after close()"


def until(cond, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def ws_threads() -> list[threading.Thread]:
    return [th for th in threading.enumerate() if th.name.startswith("gaorg-ws")]


@pytest.fixture
def stand_in():
    with StandInHyperliquid([B]) as s:
        yield s


def feed_of(s: StandInHyperliquid, clock: Clock, **kw) -> ExchangeFeed:
    ex = make_exchange("hyperliquid", api_url=s.url, rate_limit_ms=1, timeout_ms=3000)
    kw = {"after_ts": T0, "transport": "watch", "poll_seconds": 30.0, "backoff": 0.05, **kw}
    return ExchangeFeed(ex, SYMBOL, "1h", clock=clock, **kw)


def subscribed(s: StandInHyperliquid) -> None:
    until(lambda: s.ws.subscribers("BTC", "1h") > 0, what="the feed's subscription")


def test_closed_bars_arrive_over_the_websocket_in_order_and_the_open_candle_is_never_emitted(stand_in):
    s, clock = stand_in, Clock(t(1) + 600_000)
    reader = Reader(feed_of(s, clock))
    try:
        subscribed(s)
        polled = s.state.count("candleSnapshot")
        for close in (100.0, 101.0, 102.0):  # updates of the open candle
            assert s.publish_candle("BTC", "1h", candle(1, close)) == 1
        reader.quiet(0.3)
        clock.ms = t(2) + 60_000
        s.publish_candle("BTC", "1h", candle(2, 200.0))  # a later candle closes the first one
        [(bar, stale)] = reader.take(1)
        assert (bar.ts, bar.close, bar.high, bar.gap, stale) == (t(1), 102.0, 103.0, False, False)
        s.publish_candle("BTC", "1h", candle(2, 201.0))
        s.publish_candle("BTC", "1h", candle(3, 300.0))
        [(bar, stale)] = reader.take(1)
        assert (bar.ts, bar.close, bar.gap, stale) == (t(2), 201.0, False, False)
        reader.quiet(0.3)  # candle 3 is open
        assert s.state.count("candleSnapshot") == polled  # pushed, not polled
        assert reader.feed.transport_used == "watch"
    finally:
        reader.stop()


def test_a_pushed_candle_closes_when_its_close_time_passes(stand_in):
    s, clock = stand_in, Clock(t(1) + 600_000)
    reader = Reader(feed_of(s, clock, poll_seconds=0.2))
    try:
        subscribed(s)
        s.publish_candle("BTC", "1h", candle(1, 100.0))
        reader.quiet(0.5)
        clock.ms = t(2) + 1000  # no later candle: the clock closes it
        [(bar, stale)] = reader.take(1)
        assert (bar.ts, bar.close, stale) == (t(1), 100.0, False)
    finally:
        reader.stop()


def test_a_dropped_connection_reconnects_and_the_bars_published_meanwhile_are_fetched(stand_in):
    s, clock = stand_in, Clock(t(2) + 60_000)
    reader = Reader(feed_of(s, clock))  # polls every 30 s: the hole is filled on the reconnection
    try:
        subscribed(s)
        s.publish_candle("BTC", "1h", candle(1, 100.0))
        s.publish_candle("BTC", "1h", candle(2, 200.0))
        assert [b.ts for b, _ in reader.take(1)] == [t(1)]
        handshakes = s.state.count("ws")
        s.fail("ws", "503")  # the first reconnection is refused
        assert s.drop_ws() == 1
        s.publish_candle("BTC", "1h", candle(2, 222.0))  # candle 2 ends while the feed is away
        for k in (3, 4):
            s.publish_candle("BTC", "1h", candle(k, 100.0 * k))
        until(lambda: s.state.count("ws") >= handshakes + 2, what="a second reconnection")
        subscribed(s)
        clock.ms = t(5) + 60_000  # (moved after the feed knows of the drop: else candle 2 closes by the clock)
        polled = s.state.count("candleSnapshot")
        s.publish_candle("BTC", "1h", candle(5, 500.0))  # open: bars 2-4 are fetched at once
        got = reader.take(3)
        assert [(b.ts, b.close, b.gap, st) for b, st in got] == [
            (t(2), 222.0, False, True), (t(3), 300.0, False, False), (t(4), 400.0, False, False)]
        assert s.state.count("candleSnapshot") == polled + 1
        s.publish_candle("BTC", "1h", candle(6, 600.0))
        assert [(b.ts, b.close, b.gap) for b, _ in reader.take(1)] == [(t(5), 500.0, False)]
        reader.quiet(0.2)  # no bar twice
    finally:
        reader.stop()


def test_a_bar_the_exchange_never_had_is_a_gap_after_the_fetch_tried(stand_in):
    s, clock = stand_in, Clock(t(3) + 60_000)
    reader = Reader(feed_of(s, clock))
    try:
        subscribed(s)
        s.publish_candle("BTC", "1h", candle(2, 200.0))  # candle 1 never existed
        s.publish_candle("BTC", "1h", candle(3, 300.0))
        [(bar, stale)] = reader.take(1)
        assert (bar.ts, bar.gap, stale) == (t(2), True, False)
        assert s.state.count("candleSnapshot") == 1  # the fill was tried once
    finally:
        reader.stop()


def test_a_silent_websocket_is_polled_and_its_late_bars_are_flagged_stale(stand_in):
    s, clock = stand_in, Clock(t(1) + 60_000)
    reader = Reader(feed_of(s, clock, poll_seconds=0.2))
    try:
        subscribed(s)
        s.publish_candle("BTC", "1h", candle(1, 100.0))
        s.silence_ws()  # the connection stays open, nothing more arrives over it
        for k in (2, 3, 4):
            assert s.publish_candle("BTC", "1h", candle(k, 100.0 * k)) == 0
        clock.ms = t(4) + H + 60_000  # bar 4 closed a minute ago; bars 1 and 2 are over 1.5 bars old
        got = reader.take(4)
        assert [(b.ts, b.gap, st) for b, st in got] == [
            (t(1), False, True), (t(2), False, True), (t(3), False, False), (t(4), False, False)]
        assert s.ws.connections() == 1  # nothing reconnected: the bars were polled
    finally:
        reader.stop()


def test_transport_poll_and_an_exchange_without_websocket_candles_poll(stand_in, monkeypatch):
    import ccxt.pro

    s, clock = stand_in, Clock(t(3) + 60_000)
    for k in (1, 2):
        s.publish_candle("BTC", "1h", candle(k, 100.0 * k))
    polled = feed_of(s, clock, transport="poll", max_polls=1, sleep=lambda _: None)
    assert [b.ts for b, _ in polled] == [t(1), t(2)] and polled.transport_used == "poll"
    describe = ccxt.pro.hyperliquid.describe
    monkeypatch.setattr(ccxt.pro.hyperliquid, "describe",
                        lambda self: self.deep_extend(describe(self), {"has": {"watchOHLCV": False}}))
    auto = feed_of(s, clock, transport="auto", max_polls=1, sleep=lambda _: None)
    assert [b.ts for b, _ in auto] == [t(1), t(2)] and auto.transport_used == "poll"
    with pytest.raises(InputError, match="websocket"):
        list(feed_of(s, clock, transport="watch"))
    assert s.state.count("ws") == 0  # no websocket was opened


def test_a_websocket_that_keeps_failing_gives_way_to_polling(stand_in, caplog):
    s, clock = stand_in, Clock(t(3) + 60_000)
    for k in (1, 2):
        s.publish_candle("BTC", "1h", candle(k, 100.0 * k))
    s.fail("ws", "503", "503", "503")
    caplog.set_level(logging.WARNING, "gaorg.live.feed")
    reader = Reader(feed_of(s, clock, poll_seconds=0.2, reconnects=2))
    try:
        got = reader.take(2)
        assert [b.ts for b, _ in got] == [t(1), t(2)]
        until(lambda: reader.feed.transport_used == "poll", what="the fallback to polling")
        assert s.state.count("ws") == 3 and not ws_threads()
        assert "gave up" in caplog.text
        s.publish_candle("BTC", "1h", candle(3, 300.0))
        clock.ms = t(4)
        assert [b.ts for b, _ in reader.take(1)] == [t(3)]
    finally:
        reader.stop()


def test_the_feed_closes_its_thread_and_client_when_the_loop_ends_or_it_is_collected(stand_in, caplog):
    s, clock = stand_in, Clock(t(1) + 600_000)
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feed = feed_of(s, clock)
        it = iter(feed)
        threading.Timer(0.5, lambda: (s.publish_candle("BTC", "1h", candle(1, 1.0)),
                                      s.publish_candle("BTC", "1h", candle(2, 2.0)))).start()
        bar, _ = next(it)  # the runner's loop, then a break
        assert bar.ts == t(1) and len(ws_threads()) == 1
        del it
        until(lambda: not ws_threads(), what="the websocket thread to end")
        until(lambda: s.ws.connections() == 0, what="the connection to close")
        feed2 = feed_of(s, clock, after_ts=t(1))
        it2 = iter(feed2)
        threading.Timer(0.5, lambda: s.publish_candle("BTC", "1h", candle(3, 3.0))).start()
        assert next(it2)[0].ts == t(2)
        del feed2, it2  # garbage: closed as well
        gc.collect()
        until(lambda: not ws_threads(), what="the websocket thread to end")
        gc.collect()
    text = caplog.text + " ".join(str(w.message) for w in caught)
    assert "Unclosed" not in text and "release all resources" not in text


def test_the_stand_in_speaks_rfc_6455_to_a_raw_client(stand_in):
    host, port = stand_in.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        f = sock.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += f.read(1)
        assert head.startswith(b"HTTP/1.1 101") and b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
        mask = b"\x11\x22\x33\x44"
        sock.sendall(encode_frame(OP_PING, b"hi", mask))
        assert read_frame(f.read, require_mask=False) == (True, OP_PONG, b"hi")
        sock.sendall(encode_frame(OP_TEXT, b'{"method":"ping"}', mask))
        assert read_frame(f.read, require_mask=False) == (True, OP_TEXT, b'{"channel":"pong"}')
        sub = b'{"method":"subscribe","subscription":{"type":"candle","coin":"BTC","interval":"1h"}}'
        sock.sendall(encode_frame(OP_TEXT, sub[:20], mask, fin=False) + encode_frame(0, sub[20:], mask))
        _, op, data = read_frame(f.read, require_mask=False)
        assert op == OP_TEXT and b"subscriptionResponse" in data
        stand_in.publish_candle("BTC", "1h", candle(1, 7.0))
        _, _, data = read_frame(f.read, require_mask=False)
        assert data.startswith(b'{"channel":"candle","data":{"t":%d' % t(1))
        sock.sendall(encode_frame(OP_CLOSE, b"\x03\xe8", mask))
        assert read_frame(f.read, require_mask=False) == (True, OP_CLOSE, b"\x03\xe8")
        sock.sendall(b"")
    with socket.create_connection((host, int(port)), timeout=5) as sock:  # not an upgrade: refused
        sock.sendall(f"GET /ws HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.0 400")


def test_a_cut_http_connection_is_a_transient_fault_the_poll_retries(stand_in):
    s, clock = stand_in, Clock(t(2) + 60_000)
    s.publish_candle("BTC", "1h", candle(1, 100.0))
    s.fail("candleSnapshot", "drop")
    feed = feed_of(s, clock, transport="poll", max_polls=1, sleep=lambda _: None)
    feed.ex.timeout = 2000
    assert [b.ts for b, _ in feed] == [t(1)]
    assert s.state.count("candleSnapshot") >= 2  # cut, then answered


def test_the_websocket_client_is_built_from_the_runners_client():
    from gaorg.live.feed_ws import pro_exchange

    stand_in = pro_exchange(make_exchange("hyperliquid", api_url="http://127.0.0.1:8123", timeout_ms=700,
                                          rate_limit_ms=3))
    assert stand_in.urls["api"]["ws"]["public"] == "ws://127.0.0.1:8123/ws"
    assert stand_in.urls["api"]["public"] == "http://127.0.0.1:8123" and stand_in.urls["api"]["private"] == stand_in.urls["api"]["public"]
    assert (stand_in.timeout, stand_in.rateLimit) == (700, 3)
    assert stand_in.options["builderFee"] is False and stand_in.options["refSet"] is True
    assert not stand_in.apiKey and not stand_in.privateKey  # candles are public: no key travels
    testnet = pro_exchange(make_exchange("hyperliquid", testnet=True))
    assert testnet.urls["api"]["ws"]["public"] == "wss://api.hyperliquid-testnet.xyz/ws"
    real = pro_exchange(make_exchange("hyperliquid"))
    assert real.urls["api"]["ws"]["public"] == "wss://api.hyperliquid.xyz/ws"


def test_a_baskets_feeds_share_one_websocket_client_connection_and_thread(caplog):
    """Three symbols' feeds on one CandleHub: each gets its own closed bars in order over one connection
    and one thread, and the last feed's close ends the thread and closes the client."""
    from gaorg.live.feed_ws import CandleHub, pro_exchange

    syms = [SYMBOL, "ETH/USDC:USDC", "SOL/USDC:USDC"]
    series = [bars(50, seed=3 + i) for i in range(3)]
    series = [type(b).from_arrays(B.ts, b.open, b.high, b.low, b.close, b.volume, symbol=sym, timeframe="1h")
              for b, sym in zip(series, syms, strict=True)]
    caplog.set_level(logging.WARNING)
    with StandInHyperliquid(series) as s:
        clock = Clock(t(1) + 600_000)
        ex = make_exchange("hyperliquid", api_url=s.url, rate_limit_ms=1, timeout_ms=3000)
        ex.load_markets()
        hub = CandleHub(lambda: pro_exchange(ex))
        readers = [Reader(ExchangeFeed(ex, sym, "1h", after_ts=T0, clock=clock, transport="watch", poll_seconds=30.0,
                                       backoff=0.05, hub=hub)) for sym in syms]
        try:
            coins = [sym.split("/")[0] for sym in syms]
            until(lambda: all(s.ws.subscribers(c, "1h") > 0 for c in coins), what="every subscription")
            for k, c in enumerate(coins):
                s.publish_candle(c, "1h", candle(1, 100.0 + k))
                s.publish_candle(c, "1h", candle(2, 200.0 + k))
            for k, r in enumerate(readers):
                [(bar, stale)] = r.take(1)
                assert (bar.ts, bar.close, stale) == (t(1), 100.0 + k, False)
            assert s.state.count("ws") == 1 and len(ws_threads()) == 1  # one connection, one thread
        finally:
            for r in readers:
                r.stop()
        until(lambda: not ws_threads(), what="the hub's thread to end")
        until(lambda: s.ws.connections() == 0, what="the connection to close")
    assert "Unclosed" not in caplog.text
