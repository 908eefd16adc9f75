"""Fetching a universe: every USDC perpetual of an exchange (or the top N by 24 h volume, or a list).

Each symbol goes through :func:`~gaorg.data.fetch.fetch_into` (paged, resumable, every page its own
transaction), so a symbol that fails keeps the pages it stored and never touches the others'; the
next run resumes each symbol after its newest stored bar.

Concurrency: ``workers`` threads, each with its own ccxt client (ccxt clients are not shared
between threads). ccxt throttles each client by request weight, ``rateLimit`` ms a unit; every
worker's client is given ``rateLimit × workers``, so all of them together stay within the rate one
client is allowed (Hyperliquid: 1,200 weight a minute; its info calls weigh 20, about one a second)
while their requests overlap in flight.
The store's one DuckDB connection is shared behind a lock (writes are small next to the network).

Delisted perpetuals (``active`` False; Hyperliquid marks them ``isDelisted``) are skipped unless
``include_delisted``: then their history is fetched up to the delisting, so a basket can be built
without survivorship. ``min_bars``: a perpetual with nothing stored yet whose first bar is fewer
than ``min_bars`` bars before now is skipped as too short (one small request tells; a delisted
one's length is only known after fetching it, so the rule does not apply to it).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaorg.config import did_you_mean
from gaorg.data.exchange import DEFAULT_RETRY, RetryPolicy, call, load_markets
from gaorg.data.fetch import DEFAULT_PAGE_LIMIT, FetchReport, fetch_into
from gaorg.data.timeframes import timeframe_ms
from gaorg.data.times import iso
from gaorg.errors import GaorgError, InputError, NotFoundError, shown

DEFAULT_WORKERS = 4


@dataclass(frozen=True)
class Perpetual:
    """A perpetual of the exchange: ccxt symbol, whether it trades (not delisted), 24 h notional volume."""

    symbol: str
    active: bool
    volume: float


def perpetuals(exchange: Any, settle: str = "USDC", retry: RetryPolicy = DEFAULT_RETRY) -> list[Perpetual]:
    """Every linear perpetual of ``exchange`` settled in ``settle``, delisted ones included, by symbol."""
    markets = load_markets(exchange, retry)
    out = []
    for m in markets.values():
        if not m.get("swap") or m.get("settle") != settle:
            continue
        info = m.get("info") or {}
        try:
            volume = float(info.get("dayNtlVlm") or (m.get("quoteVolume") or 0.0))
        except (TypeError, ValueError):
            volume = 0.0
        out.append(Perpetual(m["symbol"], m.get("active") is not False, volume))
    return sorted(out, key=lambda p: p.symbol)


def read_symbols_file(path: str | Path) -> list[str]:
    """Symbols listed in a text file: one or more a line (commas or spaces between), ``#`` comments."""
    import stat

    path = Path(path)
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise InputError(f"the symbols file {shown(path)} is {what}; give a text file with one symbol a line")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"no symbols file {shown(path)}; give a text file with one symbol a line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the symbols file {shown(path)}: {getattr(exc, 'strerror', None) or exc}; "
                         "give a readable UTF-8 text file with one symbol a line") from None
    names: list[str] = []
    for line in text.splitlines():
        for word in line.split("#", 1)[0].replace(",", " ").split():
            if word not in names:
                names.append(word)
    if not names:
        raise InputError(f"the symbols file {shown(path)} lists no symbol; put one a line, e.g. BTC/USDC:USDC")
    return names


def choose(universe: Sequence[Perpetual], *, top: int | None = None, symbols: Sequence[str] | None = None,
           include_delisted: bool = False) -> tuple[list[Perpetual], list[dict[str, str]]]:
    """The perpetuals to fetch and the ones skipped (``{"symbol", "reason"}``).

    ``symbols``: exactly these (an unknown one is an InputError naming a close one); ``top``: the
    ``top`` most traded over 24 h among those not skipped (ties by symbol); neither: all.
    """
    by_symbol = {p.symbol: p for p in universe}
    if symbols is not None:
        unknown = [s for s in symbols if s not in by_symbol]
        if unknown:
            coin = [p.symbol for p in universe if p.symbol.split("/", 1)[0] == unknown[0]]  # BTC: BTC/USDC:USDC
            hint = f" (did you mean {coin[0]!r}?)" if coin else did_you_mean(unknown[0], by_symbol)
            raise NotFoundError(f"the exchange has no USDC perpetual {unknown[0]!r}{hint}"
                                f"{f' (and {len(unknown) - 1} more unknown)' if len(unknown) > 1 else ''}; "
                                "perpetuals look like BTC/USDC:USDC")
        picked = [by_symbol[s] for s in symbols]
    else:
        picked = list(universe)
    skipped = [{"symbol": p.symbol, "reason": "delisted"} for p in picked if not p.active and not include_delisted]
    kept = [p for p in picked if p.active or include_delisted]
    if top is not None:
        kept = sorted(kept, key=lambda p: (-p.volume, p.symbol))[:top]
    return kept, skipped


@dataclass
class UniverseReport:
    """What a universe fetch did: a report per symbol fetched, the symbols skipped and failed."""

    exchange: str
    timeframe: str
    listed: int
    fetched: list[FetchReport] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "timeframe": self.timeframe, "listed": self.listed,
                "fetched": [r.to_dict() for r in self.fetched], "skipped": self.skipped, "failed": self.failed,
                "bars": sum(r.bars for r in self.fetched), "funding": sum(r.funding for r in self.fetched),
                "seconds": round(self.seconds, 3)}

    def describe(self) -> str:
        bars, funding = sum(r.bars for r in self.fetched), sum(r.funding for r in self.fetched)
        early = [r for r in self.fetched if not r.complete]
        done = len(self.fetched) - len(early)  # reached the newest bar (or a delisting) in this run
        state = "" if not self.fetched else f"; {'all' if not early else f'{done} of'} {len(self.fetched)} now up to date"
        lines = [f"{self.exchange} {self.timeframe}: {self.listed} USDC perpetuals listed; fetched "
                 f"{len(self.fetched)} ({bars} new bars, {funding} funding rates{state}), skipped {len(self.skipped)}, "
                 f"failed {len(self.failed)} in {self.seconds:.1f} s"]
        reasons: dict[str, list[str]] = {}
        for s in self.skipped:
            reasons.setdefault(s["reason"], []).append(s["symbol"])
        for reason, names in reasons.items():
            lines.append(f"  skipped ({reason}): {_names(names)}")
        if early:
            lines.append(f"  stopped early (run again to resume): {_names([r.symbol for r in early])}")
        for f in self.failed:
            lines.append(f"  failed: {f['symbol']}: {f['error']}")
        if self.failed:
            lines.append("  what the others fetched is stored; run the same command again to retry the failed ones")
        return "\n".join(lines)


def _names(names: list[str], most: int = 12) -> str:
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


class Progress:
    """One bar over the symbols on a terminal; one line per symbol on stderr otherwise (a log, a pipe)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self.bar = None
        if enabled and sys.stderr.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="fetch", unit="symbol")

    def step(self, symbol: str, what: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"{symbol}: {what}")
        elif self.enabled:
            print(f"fetch {self.done}/{self.total} {symbol}: {what}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Serialised:
    """The store behind a lock: the workers share its one DuckDB connection, one call at a time."""

    def __init__(self, store: Any) -> None:
        self._store, self._lock = store, threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return locked


def fetch_universe(
    store: Any,
    client: Callable[[float | None], Any],
    chosen: Sequence[Perpetual],
    timeframe: str,
    *,
    listed: int | None = None,
    skipped: Sequence[dict[str, str]] = (),
    store_exchange: str | None = None,
    workers: int = DEFAULT_WORKERS,
    since: int | None = None,
    until: int | None = None,
    min_bars: int = 0,
    page_limit: int = DEFAULT_PAGE_LIMIT,
    funding: bool = True,
    repair: bool = False,
    retry: RetryPolicy = DEFAULT_RETRY,
    progress: bool = True,
) -> UniverseReport:
    """Fetch ``chosen`` into ``store`` with ``workers`` threads; ``client(rate_limit_ms)`` makes a
    ccxt client (None: ccxt's rate). A symbol that fails is reported, the others go on."""
    if workers < 1:
        raise InputError(f"--workers {workers}: use at least 1")
    t0 = time.monotonic()
    workers = min(workers, max(1, len(chosen)))  # the clients share one client's rate: no idle shares
    base = float(client(None).rateLimit or 0.0)
    local = threading.local()
    halt = threading.Event()  # Ctrl-C: the symbols in flight stop before their next page
    shared = _Serialised(store)
    tf = timeframe_ms(timeframe)

    def one(p: Perpetual) -> tuple[str, Any]:
        if not hasattr(local, "exchange"):
            local.exchange = client(base * workers)
        ex = local.exchange
        name = store_exchange or ex.id
        try:
            if min_bars > 0 and p.active and shared.last_ts(name, p.symbol, timeframe) is None:
                if _too_short(ex, p.symbol, timeframe, tf, min_bars, until, retry):
                    return "skipped", {"symbol": p.symbol, "reason": f"too short: under {min_bars} bars"}
            report = fetch_into(shared, ex, p.symbol, timeframe, store_exchange=name, since=since, until=until,
                                page_limit=page_limit, funding=funding, repair=repair, retry=retry, stop=halt.is_set)
        except GaorgError as exc:
            return "failed", {"symbol": p.symbol, "error": str(exc)}
        if not p.active and not report.complete and report.notes and "empty page" in report.notes[-1]:
            # a delisted perpetual's history ends at its delisting: an empty page there is its end
            last = shared.last_ts(name, p.symbol, timeframe)
            report.complete = True
            report.notes[-1] = f"delisted: its history ends at {iso(last)}" if last is not None else "delisted: no bars"
        return "fetched", report

    report = UniverseReport(store_exchange or "", timeframe, len(chosen) + len(skipped) if listed is None else listed,
                            skipped=list(skipped))
    bar = Progress(len(chosen), progress)
    results: dict[str, tuple[str, Any]] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gaorg-fetch")
    try:
        futures = {pool.submit(one, p): p.symbol for p in chosen}
        for fut in as_completed(futures):
            kind, what = fut.result()
            results[futures[fut]] = (kind, what)
            bar.step(futures[fut], f"{what.bars} bars" if kind == "fetched" else what.get("reason") or "failed")
    except BaseException:  # Ctrl-C or a bug: the symbols not started are not started, those in flight
        halt.set()  # stop before their next page (waiting for the call under way); pages stored stay
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
    for p in chosen:  # the summary in the order asked, whatever order the threads finished in
        kind, what = results[p.symbol]
        {"fetched": report.fetched, "skipped": report.skipped, "failed": report.failed}[kind].append(what)
        if kind == "fetched" and not report.exchange:
            report.exchange = what.exchange
    report.seconds = time.monotonic() - t0
    return report


def _too_short(exchange: Any, symbol: str, timeframe: str, tf: int, min_bars: int, until: int | None,
               retry: RetryPolicy) -> bool:
    """Whether ``symbol`` has no bar ``min_bars`` bars before now (or ``until``): listed too late.

    Asks for the few bars around that time only (one small request)."""
    end = min(int(until), exchange.milliseconds()) if until is not None else exchange.milliseconds()
    at = (end // tf - min_bars) * tf
    rows = call(exchange.fetch_ohlcv, symbol, timeframe, since=at - tf, params={"until": at + tf},
                retry=retry, where=f"{exchange.id} fetch_ohlcv {symbol} {timeframe} (history probe)")
    return not any(r[0] <= at for r in rows)


@dataclass(frozen=True)
class StoredUniverse:
    """The stored series of one exchange and timeframe, summed up: how many, their spans, which start
    late (listed after the first) and which end early (delisted, or not fetched up to the newest)."""

    exchange: str
    timeframe: str
    series: int
    first: int
    last: int
    rows_min: int
    rows_median: int
    rows_max: int
    missing: int
    late: tuple[str, ...]
    early: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        from gaorg.data.times import iso

        return {"exchange": self.exchange, "timeframe": self.timeframe, "series": self.series,
                "first": iso(self.first), "last": iso(self.last), "rows_min": self.rows_min,
                "rows_median": self.rows_median, "rows_max": self.rows_max, "missing": self.missing,
                "start_late": list(self.late), "end_early": list(self.early)}

    def describe(self) -> str:
        d = self.to_dict()
        text = (f"{self.exchange} {self.timeframe}: {self.series} series, {d['first']} .. {d['last']}, "
                f"{self.rows_min}/{self.rows_median}/{self.rows_max} bars (min/median/max), "
                f"{self.missing} missing; {len(self.late)} start late, {len(self.early)} end early")
        if self.early:
            text += f" (delisted or not fetched up to date: {_names(list(self.early), 8)})"
        return text


def summarise(infos: Sequence[Any]) -> list[StoredUniverse]:
    """One :class:`StoredUniverse` per exchange and timeframe of ``infos`` (``MarketStore.series()``)."""
    import numpy as np

    groups: dict[tuple[str, str], list[Any]] = {}
    for s in infos:
        groups.setdefault((s.exchange, s.timeframe), []).append(s)
    out = []
    for (exchange, timeframe), group in sorted(groups.items()):
        first, last = min(s.first for s in group), max(s.last for s in group)
        rows = np.array([s.rows for s in group])
        out.append(StoredUniverse(
            exchange, timeframe, len(group), first, last, int(rows.min()), int(np.median(rows)), int(rows.max()),
            sum(s.missing for s in group), tuple(s.symbol for s in group if s.first > first),
            tuple(s.symbol for s in group if s.last < last)))
    return out
