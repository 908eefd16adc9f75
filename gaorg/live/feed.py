"""Feeds of closed bars: a replay of stored bars (paper runs, tests, demos) and an exchange feed
(ccxt polling of closed candles; ``watch_ohlcv`` where the exchange and ccxt.pro offer it).

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
from gaorg.errors import TransientExchangeError
from gaorg.live.types import Bar

log = logging.getLogger("gaorg.live.feed")


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
    """Closed bars from a ccxt exchange, polled every ``poll_seconds`` (bounded by ``max_polls``).

    Only candles whose close time has passed are used (the exchange also returns the open one).
    A bar is stale when its close is older than ``stale_bars`` bar lengths; a hole between two
    closed bars marks the later one as a gap.
    """

    def __init__(self, exchange: Any, symbol: str, timeframe: str, after_ts: int | None = None,
                 poll_seconds: float = 5.0, stale_bars: float = 1.5, history: int = 0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 max_polls: int | None = None) -> None:
        self.ex, self.symbol, self.timeframe = exchange, symbol, timeframe
        self.tf = timeframe_ms(timeframe)
        self.last_ts = after_ts
        self.poll_seconds, self.stale_bars = poll_seconds, stale_bars
        self.clock, self.sleep, self.max_polls = clock, sleep, max_polls
        self.warmup = history
        self.history: Bars | None = None

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

    def __iter__(self) -> Iterator[tuple[Bar, bool]]:
        polls = 0
        while self.max_polls is None or polls < self.max_polls:
            polls += 1
            since = self.last_ts + self.tf if self.last_ts is not None else None
            try:
                rows = self.closed(self._fetch(since))
            except TransientExchangeError as exc:
                log.warning("feed poll failed, retrying at the next poll: %s", exc)
                rows = []
            for r in rows:
                ts = int(r[0])
                if self.last_ts is not None and ts <= self.last_ts:
                    continue
                gap = self.last_ts is not None and ts - self.last_ts != self.tf
                self.last_ts = ts
                yield Bar(ts, float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5]), 0.0, gap), \
                    self.is_stale(ts)
            if self.max_polls is None or polls < self.max_polls:
                self.sleep(self.poll_seconds)
