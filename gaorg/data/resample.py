"""Resampling to a coarser timeframe: open first, high max, low min, close last, volume and funding summed.

Buckets are aligned to the epoch (a day starts at 00:00 UTC, 4h bars at 00, 04, 08 ... UTC) and only
complete buckets are kept: a bucket with a missing source bar would misstate its high, low and volume.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.data.timeframes import TIMEFRAMES, can_resample, timeframe_ms
from gaorg.errors import InputError


def resample_bars(bars: Bars, target: str) -> Bars:
    """``bars`` aggregated into complete bars of ``target`` (which must be a multiple of its timeframe)."""
    if not can_resample(bars.timeframe, target):
        coarser = [t for t in TIMEFRAMES if t != bars.timeframe and can_resample(bars.timeframe, t)]
        raise InputError(
            f"cannot resample {bars.timeframe} bars to {target}; choose a coarser multiple: {', '.join(coarser)}"
        )
    src, dst = bars.timeframe_ms, timeframe_ms(target)
    per = dst // src
    ts = np.asarray(bars.ts)
    bucket = ts - ts % dst
    if len(ts) == 0:
        starts = np.zeros(0, dtype=np.int64)
    else:
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    counts = np.diff(np.r_[starts, len(ts)])
    full = counts == per
    first = starts[full]
    last = first + per - 1

    def total(a: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.asarray(a), starts)[full] if len(starts) else np.zeros(0)

    high = np.maximum.reduceat(np.asarray(bars.high), starts)[full] if len(starts) else np.zeros(0)
    low = np.minimum.reduceat(np.asarray(bars.low), starts)[full] if len(starts) else np.zeros(0)
    return Bars.from_arrays(
        bucket[first],
        np.asarray(bars.open)[first],
        high,
        low,
        np.asarray(bars.close)[last],
        total(bars.volume),
        total(bars.funding),
        exchange=bars.exchange,
        symbol=bars.symbol,
        timeframe=target,
    )


def resample_in_store(store, exchange: str | None, symbol: str, source: str, target: str):
    """Read a stored series, resample it and write the result as the ``target`` series; a WriteReport."""
    bars = store.read_bars(exchange, symbol, source)
    out = resample_bars(bars, target)
    if len(out) == 0:
        raise InputError(f"{symbol} {source} has no complete {target} bucket to write (only {len(bars)} bars)")
    frame = {"ts": out.ts, "open": out.open, "high": out.high, "low": out.low, "close": out.close,
             "volume": out.volume}
    return store.write_bars(bars.exchange, symbol, target, frame)
