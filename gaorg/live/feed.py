"""Feeds of closed bars: a replay of stored bars (paper runs, tests, demos) and an exchange feed
(ccxt.pro's websocket ``watch_ohlcv`` where the exchange has it, else ccxt polling of closed candles).

Each yields ``(Bar, stale)``: ``Bar.gap`` marks a bar that follows missing bars; ``stale`` says the
newest closed bar is older than the config allows (the exchange stopped publishing, the clock ran
ahead). The executor sends no order on a stale bar or after a gap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from gaorg.data.bars import Bars
from gaorg.data.timeframes import timeframe_ms
from gaorg.errors import InputError, TransientExchangeError
from gaorg.live.types import Bar

log = logging.getLogger("gaorg.live.feed")
TRANSPORTS = ("auto", "poll", "watch")


def bar_at(bars: Bars, i: int, gap: bool = False) -> Bar:
    return Bar(int(bars.ts[i]), float(bars.open[i]), float(bars.high[i]), float(bars.low[i]), float(bars.close[i]),
               float(bars.volume[i]), float(bars.funding[i]), gap)


class ReplayFeed:
    """Stored bars ``[start, end)`` replayed from just after ``after_ts`` at ``speed`` bars per second (0: at once).

    ``history`` holds the ``warmup`` bars before the first replayed one (the strategy's window).
    """

    def __init__(self, bars: Bars, after_ts: int | None = None, warmup: int = 0, speed: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep, first: int = 0) -> None:
        import numpy as np

        self.all = bars
        lo = first
        if after_ts is not None:
            lo = max(lo, int(np.searchsorted(bars.ts, after_ts, side="right")))
        self.first = lo
        self.history = bars.slice(max(0, lo - warmup), lo)
        self.speed, self.sleep = speed, sleep
        self.tf = bars.timeframe_ms

    @classmethod
    def from_store(cls, store, exchange: str | None, symbol: str, timeframe: str, start: Any = None,
                   end: Any = None, after_ts: int | None = None, warmup: int = 0, speed: float = 0.0) -> ReplayFeed:
        """Read the series from a MarketStore: the range plus ``warmup`` bars of history before it."""
        from gaorg.data.store import to_ms

        lo = to_ms(start)
        hist_from = None if lo is None else lo - (warmup + 1) * timeframe_ms(timeframe) * 4
        bars = store.read_bars(exchange, symbol, timeframe, hist_from, end)
        first = 0
        if lo is not None:
            import numpy as np

            first = int(np.searchsorted(bars.ts, lo, side="left"))
        return cls(bars, after_ts, warmup, speed, first=first)

    def __len__(self) -> int:
        return len(self.all) - self.first

    def __iter__(self) -> Iterator[tuple[Bar, bool]]:
        ts = self.all.ts
        delay = 1.0 / self.speed if self.speed > 0 else 0.0
        for i in range(self.first, len(self.all)):
            gap = i > 0 and int(ts[i] - ts[i - 1]) != self.tf
            if delay:
                self.sleep(delay)
            yield bar_at(self.all, i, gap), False


class ExchangeFeed:
    """Closed bars from a ccxt exchange: pushed over its websocket, or polled every ``poll_seconds``.

    ``transport``: ``auto`` watches (ccxt.pro ``watch_ohlcv``) where the exchange has it and polls
    otherwise; ``poll`` always polls; ``watch`` insists on the websocket (InputError without it).
    The websocket pushes the open candle again at each update: a candle is closed once a later
    candle is pushed or its close time has passed. A hole before a pushed candle (a reconnection,
    a silent stretch) is filled by a ``fetch_ohlcv`` of the missing range; while the websocket is
    down, or the next bar is overdue by ``poll_seconds``, the feed polls so that no bar is missed.
    A lost websocket is reconnected ``reconnects`` times in a row (backoff ``backoff * 2**k`` s),
    then the feed polls for good. Only candles whose close time has passed are taken from a poll.
    A bar is stale when its close is older than ``stale_bars`` bar lengths; a hole between two
    closed bars the exchange does not fill marks the later one as a gap. ``max_polls`` bounds the
    polls (the waits for a push, watching). :meth:`close` (or the end of the iteration) stops the
    websocket thread and closes its client. ``hub``: a basket's shared websocket client
    (:class:`~gaorg.live.feed_ws.CandleHub`) instead of this feed's own.
    """

    def __init__(self, exchange: Any, symbol: str, timeframe: str, after_ts: int | None = None,
                 poll_seconds: float = 5.0, stale_bars: float = 1.5, history: int = 0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 max_polls: int | None = None, *, transport: str = "auto", reconnects: int = 5,
                 backoff: float = 1.0, hub: Any = None) -> None:
        if transport not in TRANSPORTS:
            raise InputError(f"unknown feed transport {transport!r}; use one of {', '.join(TRANSPORTS)}")
        self.ex, self.symbol, self.timeframe = exchange, symbol, timeframe
        self.tf = timeframe_ms(timeframe)
        self.last_ts = after_ts
        self.poll_seconds, self.stale_bars = poll_seconds, stale_bars
        self.clock, self.sleep, self.max_polls = clock, sleep, max_polls
        self.transport, self.reconnects, self.backoff = transport, reconnects, backoff
        self.hub = hub  # a basket's shared websocket (feed_ws.CandleHub); None: this feed's own
        self.transport_used: str | None = None  # "watch" or "poll", once iterating
        self.warmup = history
        self.history: Bars | None = None
        self._stream: Any = None
        self._stopped = False

    def _fetch(self, since: int | None, limit: int | None = None) -> list[list[float]]:
        from gaorg.data.exchange import call

        return call(self.ex.fetch_ohlcv, self.symbol, self.timeframe, since, limit,
                    where=f"{self.ex.id} fetch_ohlcv {self.symbol}")

    def closed(self, rows: list[list[float]]) -> list[list[float]]:
        now = int(self.clock() * 1000)
        return [r for r in rows if int(r[0]) + self.tf <= now]

    def load_history(self) -> Bars:
        """The ``history`` closed bars before the first live one (the strategy's window)."""
        import numpy as np

        now = int(self.clock() * 1000)
        since = (self.last_ts + self.tf if self.last_ts is not None else now) - self.warmup * self.tf
        rows = self.closed(self._fetch(max(0, since)))
        if self.last_ts is not None:
            rows = [r for r in rows if int(r[0]) <= self.last_ts]
        elif rows:
            self.last_ts = int(rows[-1][0])
        arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
        self.history = Bars.from_arrays(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4],
                                        arr[:, 5], symbol=self.symbol, timeframe=self.timeframe)
        return self.history

    def is_stale(self, bar_ts: int) -> bool:
        lag = self.clock() * 1000 - (bar_ts + self.tf)
        return lag > self.stale_bars * self.tf

    def _emit(self, rows: list[list[float]]) -> Iterator[tuple[Bar, bool]]:
        """The rows newer than the last bar, in order, each once; a hole before one marks it a gap."""
        for r in sorted(rows, key=lambda r: r[0]):
            ts = int(r[0])
            if self.last_ts is not None and ts <= self.last_ts:
                continue
            gap = self.last_ts is not None and ts - self.last_ts != self.tf
            self.last_ts = ts
            yield Bar(ts, float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5]), 0.0, gap), \
                self.is_stale(ts)

    def _poll_once(self, pushed: int | None = None) -> list[list[float]] | None:
        """The closed candles after the last bar: closed by the clock, or older than the candle
        ``pushed`` last (None when the poll failed: tried again later)."""
        since = self.last_ts + self.tf if self.last_ts is not None else None
        try:
            rows = self._fetch(since)
            return [r for r in rows if pushed is not None and int(r[0]) < pushed] + \
                self.closed([r for r in rows if pushed is None or int(r[0]) >= pushed])
        except TransientExchangeError as exc:
            log.warning("feed poll failed, retrying at the next poll: %s", exc)
            return None

    def __iter__(self) -> Iterator[tuple[Bar, bool]]:
        self._polls = 0
        stream = None if self.transport == "poll" else self._open_stream()
        if stream is None:
            yield from self._poll()
            return
        try:
            yield from self._watch(stream)
        finally:
            self._close_stream()

    def _budget(self) -> bool:
        """One more poll (or wait) allowed by ``max_polls`` and no :meth:`close`; counts it."""
        if self._stopped or (self.max_polls is not None and self._polls >= self.max_polls):
            return False
        self._polls += 1
        return True

    def _poll(self) -> Iterator[tuple[Bar, bool]]:
        self.transport_used = "poll"
        while self._budget():
            yield from self._emit(self._poll_once() or [])
            if not self._stopped and (self.max_polls is None or self._polls < self.max_polls):
                self.sleep(self.poll_seconds)

    def _open_stream(self) -> Any:
        from gaorg.live.feed_ws import CandleStream, pro_exchange

        if self.hub is not None:
            self._stream = self.hub.stream(self.symbol, self.timeframe, self.reconnects, self.backoff)
            if self._stream is not None:
                return self._stream
        try:
            pro = pro_exchange(self.ex) if self.hub is None else None
        except Exception as exc:  # noqa: BLE001 - no websocket client: poll instead
            log.warning("no websocket client for %s (%s); polling", getattr(self.ex, "id", "?"), exc)
            pro = None
        if pro is None:
            if self.transport == "watch":
                raise InputError(f"{self.ex.id} offers no websocket candles (ccxt.pro watchOHLCV); "
                                 "use the poll transport")
            log.info("%s has no websocket candles in ccxt.pro; polling every %ss", self.ex.id, self.poll_seconds)
            return None
        self._stream = CandleStream(pro, self.symbol, self.timeframe, self.reconnects, self.backoff).start()
        return self._stream

    def _watch(self, stream: Any) -> Iterator[tuple[Bar, bool]]:
        from gaorg.live.feed_ws import drain

        self.transport_used = "watch"
        pending: dict[int, list[float]] = {}  # pushed candles after the last bar, by open time (latest push)
        filled: tuple[int, int] | None = None  # the hole (next bar, first pushed) a fetch has filled
        last_rest, rest_failed = time.monotonic(), False  # load_history has just fetched
        while self._budget():
            wait = self.poll_seconds
            if pending and not rest_failed:  # wake when the open candle closes by the clock
                wait = min(wait, max(0.01, (max(pending) + self.tf) / 1000 - self.clock()))
            for kind, payload in drain(stream.events, wait):
                if kind == "rows":
                    pending.update({int(r[0]): r for r in payload if self.last_ts is None or int(r[0]) > self.last_ts})
                elif kind == "closed":  # close() from another thread
                    return
                elif kind == "down":  # the open candle may change while disconnected: fetched again
                    log.warning("websocket feed down, reconnecting (polling meanwhile): %s", payload)
                    pending.clear()
                else:
                    log.warning("websocket feed gave up, polling from now on: %s", payload)
                    self._close_stream()
                    yield from self._poll()  # from the last bar on
                    return
            now = self.clock() * 1000
            newest = max(pending) if pending else None
            ready = [pending.pop(ts) for ts in sorted(pending) if ts < newest or ts + self.tf <= now]
            expect = self.last_ts + self.tf if self.last_ts is not None else None
            first = int(ready[0][0]) if ready else min(pending) if pending else None
            hole = expect is not None and first is not None and first > expect and filled != (expect, first)
            overdue = expect is not None and first is None and now > expect + self.tf + self.poll_seconds * 1000
            due = time.monotonic() - last_rest >= self.poll_seconds
            if hole and rest_failed and not due:  # a failed fill is tried again at the next poll
                pending.update({int(r[0]): r for r in ready})
                continue
            if hole or ((overdue or not stream.up) and due):
                last_rest = time.monotonic()
                fetched = self._poll_once(newest)
                rest_failed = fetched is None
                if rest_failed and hole:  # keep the pushed candles until the hole is filled
                    pending.update({int(r[0]): r for r in ready})
                    continue
                if hole:
                    filled = (expect, first)  # what the exchange lacks stays a gap
                merged = {int(r[0]): r for r in ready}
                merged.update({int(r[0]): r for r in fetched or []})  # the exchange's record of a closed bar
                ready = list(merged.values())
            yield from self._emit(ready)
            for ts in [ts for ts in pending if self.last_ts is not None and ts <= self.last_ts]:
                del pending[ts]

    def close(self) -> None:
        """End the iteration at its next wake (from any thread); stop the websocket thread, close its client."""
        self._stopped = True
        self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def __enter__(self) -> ExchangeFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to close
            pass
