"""A stage's basket: the series of each symbol at the stage's timeframe, from bars or the store.

A timeframe that is not stored is resampled from the coarsest stored finer timeframe that
divides it (1h from 15m, 1d from 1h); one that no stored series reaches is a clear InputError.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from gaorg.data.bars import Bars
from gaorg.data.timeframes import TIMEFRAMES, can_resample
from gaorg.errors import InputError, NotFoundError

DataSource = Mapping[tuple[str, str], Bars] | Any  # a mapping (symbol, timeframe) -> Bars, or a MarketStore


def load_basket(source: DataSource, symbols: tuple[str, ...], timeframe: str,
                exchange: str | None = None) -> tuple[Bars, ...]:
    """The series of ``symbols`` at ``timeframe`` (resampled when only a finer one exists)."""
    if isinstance(source, Mapping):
        return tuple(_from_mapping(source, s, timeframe) for s in symbols)
    return tuple(_from_store(source, s, timeframe, exchange) for s in symbols)


def fingerprint(bars: tuple[Bars, ...]) -> str:
    """A hash of the basket's timestamps and closes: a resumed run must see the same data."""
    h = hashlib.sha256()
    for b in bars:
        h.update(f"{b.exchange}/{b.symbol}/{b.timeframe}/{len(b)}".encode())
        h.update(b.ts.tobytes())
        h.update(b.close.tobytes())
    return h.hexdigest()[:16]


def _resample(bars: Bars, timeframe: str) -> Bars:
    from gaorg.data.resample import resample_bars

    return resample_bars(bars, timeframe)


def _finer(have: list[str], timeframe: str) -> str | None:
    options = [tf for tf in have if tf != timeframe and can_resample(tf, timeframe)]
    return max(options, key=lambda tf: TIMEFRAMES[tf]) if options else None


def _from_mapping(source: Mapping[tuple[str, str], Bars], symbol: str, timeframe: str) -> Bars:
    if (symbol, timeframe) in source:
        return source[(symbol, timeframe)]
    have = [tf for (s, tf) in source if s == symbol]
    if not have:
        known = sorted({s for s, _ in source})
        raise NotFoundError(f"no series for symbol {symbol!r}; the data holds {', '.join(known)}")
    finer = _finer(have, timeframe)
    if finer is None:
        raise InputError(_cannot(symbol, timeframe, have))
    return _resample(source[(symbol, finer)], timeframe)


def _from_store(store: Any, symbol: str, timeframe: str, exchange: str | None) -> Bars:
    exchange = store.resolve_exchange(symbol, exchange)  # NotFoundError names what is stored
    have = [s.timeframe for s in store.series() if s.symbol == symbol and s.exchange == exchange]
    if not have:
        raise NotFoundError(f"no series for {exchange} {symbol} in the store; `gaorg data list` shows it")
    if timeframe in have:
        return store.read_bars(exchange, symbol, timeframe)
    finer = _finer(have, timeframe)
    if finer is None:
        raise InputError(_cannot(f"{exchange} {symbol}", timeframe, have))
    return _resample(store.read_bars(exchange, symbol, finer), timeframe)


def _cannot(what: str, timeframe: str, have: list[str]) -> str:
    return (
        f"{what}: no stored timeframe can be resampled to {timeframe} (stored: {', '.join(sorted(have))}); "
        f"use a timeframe that is a multiple of a stored one, or store finer bars"
    )
