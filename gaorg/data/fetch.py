"""Fetching bars and funding from a ccxt exchange into the store, page by page, resumable.

Each page is validated and written in its own transaction, so an interrupted fetch keeps every
page already stored and the next run resumes after the newest stored bar. The still-open bar
(``ts + timeframe > now``) is never stored. Pages shorter than the exchange's limit do not end the
fetch (exchanges cap pages differently); an empty page does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gaorg.data.exchange import DEFAULT_RETRY, RetryPolicy, call, check_market, check_timeframe, load_markets
from gaorg.data.store import MarketStore, iso
from gaorg.data.timeframes import timeframe_ms
from gaorg.errors import InputError

DEFAULT_PAGE_LIMIT = 5000  # Hyperliquid's candles per call; other exchanges cap lower and return short pages
FUNDING_PAGE_LIMIT = 500


@dataclass
class FetchReport:
    """What a fetch stored: bars and funding rows, pages asked, retries, and whether it reached the end."""

    exchange: str
    symbol: str
    timeframe: str
    bars: int = 0
    funding: int = 0
    pages: int = 0
    retries: int = 0
    first: int | None = None
    last: int | None = None
    complete: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "symbol": self.symbol, "timeframe": self.timeframe,
                "bars": self.bars, "funding": self.funding, "pages": self.pages, "retries": self.retries,
                "first": iso(self.first), "last": iso(self.last), "complete": self.complete, "notes": self.notes}

    def describe(self) -> str:
        span = f" ({iso(self.first)} .. {iso(self.last)})" if self.first is not None else ""
        state = "up to date" if self.complete else "stopped early; run the same command again to resume"
        text = (f"{self.exchange} {self.symbol} {self.timeframe}: stored {self.bars} bars{span} and "
                f"{self.funding} funding rates in {self.pages} pages, {self.retries} retries; {state}")
        return "\n".join([text, *self.notes])


def fetch_into(
    store: MarketStore,
    exchange: Any,
    symbol: str,
    timeframe: str,
    *,
    store_exchange: str | None = None,
    since: int | None = None,
    until: int | None = None,
    page_limit: int = DEFAULT_PAGE_LIMIT,
    funding: bool = True,
    repair: bool = False,
    retry: RetryPolicy = DEFAULT_RETRY,
    now_ms: Callable[[], int] | None = None,
    stop: Callable[[], bool] | None = None,
) -> FetchReport:
    """Fetch closed bars of ``symbol`` (and its funding history, for perpetuals) into ``store``.

    Starts at ``since`` if given, else after the newest stored bar, else ``page_limit`` bars back.
    Each page is validated like any write; ``repair`` drops bad bars of a page instead of stopping.
    ``store_exchange`` is the exchange name in the store (default ``exchange.id``). ``stop()`` true
    ends the fetch before its next page (a universe fetch's Ctrl-C: what is stored stays).
    """
    name = store_exchange or exchange.id
    report = FetchReport(name, symbol, timeframe)

    def counted(attempt: int, error: Exception, wait: float) -> None:
        report.retries += 1

    policy = dict(retry=retry, on_retry=counted)
    tf = timeframe_ms(timeframe)
    check_timeframe(exchange, timeframe)
    load_markets(exchange, retry)
    market = check_market(exchange, symbol)
    now = now_ms or exchange.milliseconds
    end = int(until) if until is not None else None
    last = store.last_ts(name, symbol, timeframe)
    if since is not None:
        cursor = int(since)
    elif last is not None:
        cursor = last + tf
    else:
        cursor = (now() // tf - page_limit) * tf
    cursor -= cursor % tf
    stop = stop or (lambda: False)
    _fetch_bars(store, exchange, name, symbol, timeframe, tf, cursor, end, page_limit, now, report, policy, repair,
                stop)
    if funding and market.get("swap") and exchange.has.get("fetchFundingRateHistory") and not stop():
        _fetch_funding(store, exchange, name, symbol, since, end, now, report, policy, stop)
    if stop():
        report.complete = False
        report.notes.append("stopped before its next page; run again to resume")
    return report


def _fetch_bars(store, exchange, name, symbol, timeframe, tf, cursor, end, page_limit, now, report, policy,
                repair, stop) -> None:
    limit_ts = lambda: now() if end is None else min(end, now())  # noqa: E731 - bars must close before this
    max_pages = 10 + (limit_ts() - cursor) // tf // 1 + 1  # a bound: at least one new bar per page
    for _ in range(int(max_pages)):
        if stop():
            return
        if cursor + tf > limit_ts():
            report.complete = True
            return
        params = {} if end is None else {"until": end - 1}
        rows = call(exchange.fetch_ohlcv, symbol, timeframe, since=cursor, limit=page_limit, params=params,
                    where=f"{exchange.id} fetch_ohlcv {symbol} {timeframe}", **policy)
        report.pages += 1
        if not rows:
            report.notes.append(f"the exchange returned an empty page at {iso(cursor)}")
            return
        page = np.asarray([r[:6] for r in rows], dtype=np.float64)
        ts = page[:, 0].astype(np.int64)
        horizon = limit_ts()
        keep = (ts >= cursor) & (ts + tf <= horizon)
        saw_open = bool(np.any((ts >= cursor) & (ts + tf > horizon)))
        if keep.any():
            frame = {"ts": ts[keep], "open": page[keep, 1], "high": page[keep, 2], "low": page[keep, 3],
                     "close": page[keep, 4], "volume": np.nan_to_num(page[keep, 5])}
            written = store.write_bars(name, symbol, timeframe, frame, repair=repair)
            report.bars += written.inserted + written.replaced
            report.first = written.first if report.first is None else report.first
            report.last = written.last
            cursor = written.last + tf
        elif not saw_open:
            report.notes.append(f"the exchange returned no bar after {iso(cursor)}")
            return
        if saw_open:
            report.complete = True
            return
    report.notes.append("stopped after the page bound; run again to continue")


def _fetch_funding(store, exchange, name, symbol, since, end, now, report, policy, stop) -> None:
    """Funding from ``since`` if given, else after the newest stored rate, else from the first bar."""
    last = store.last_funding_ts(name, symbol)
    if since is not None:
        cursor = since
    elif last is not None:
        cursor = last + 1000
    else:
        cursor = store.first_ts(name, symbol, report.timeframe)
    if cursor is None:
        return
    for _ in range(10_000):  # bounded: 500 hourly rates a page is 57 years
        if stop():
            return
        if cursor > (now() if end is None else min(end, now())):
            return
        params = {} if end is None else {"until": end}
        rows = call(exchange.fetch_funding_rate_history, symbol, since=int(cursor), limit=FUNDING_PAGE_LIMIT,
                    params=params, where=f"{exchange.id} fetch_funding_rate_history {symbol}", **policy)
        report.pages += 1
        rows = [r for r in rows if r.get("timestamp") is not None and r.get("fundingRate") is not None
                and r["timestamp"] >= cursor]
        if not rows:
            return
        raw = np.asarray([r["timestamp"] for r in rows], dtype=np.int64)
        rate = np.asarray([r["fundingRate"] for r in rows], dtype=np.float64)
        # Hyperliquid stamps funding a few ms after the hour: store whole seconds so the hour's
        # rate belongs to the bar that ends on the hour (Bars contract: (ts, ts + tf]).
        report.funding += store.write_funding(name, symbol, raw - raw % 1000, rate)
        cursor = int(raw.max()) + 1
    raise InputError("funding history did not end after 10,000 pages")
