"""``Bars``: one series of OHLCV bars with funding, as numpy arrays. The unit every domain passes.

Timestamps are bar open times in UTC epoch milliseconds. ``funding[i]`` is the sum of the funding
rates whose funding time falls in ``(ts[i], ts[i] + timeframe]``: the position held through bar i
pays ``-units * close[i] * funding[i]`` at its close (0.0 where a series has no funding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaorg.data.timeframes import bars_per_year, timeframe_ms

FIELDS = ("open", "high", "low", "close", "volume", "funding")


@dataclass(frozen=True, eq=False)
class Bars:
    """A read-only series: ``ts`` (int64 ms) and float64 ``open high low close volume funding``."""

    exchange: str
    symbol: str
    timeframe: str
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    funding: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in FIELDS:
            arr = getattr(self, name)
            if len(arr) != n:
                raise ValueError(f"Bars.{name} has {len(arr)} values, ts has {n}")
        for name in ("ts", *FIELDS):
            arr = getattr(self, name)
            if arr.flags.writeable:
                arr = arr.view()
                arr.flags.writeable = False
                object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.exchange, self.symbol, self.timeframe)

    @property
    def timeframe_ms(self) -> int:
        return timeframe_ms(self.timeframe)

    @property
    def periods_per_year(self) -> float:
        return bars_per_year(self.timeframe)

    def slice(self, start: int, stop: int) -> Bars:
        """Bars ``[start, stop)`` by position (views, no copy)."""
        return Bars(
            self.exchange,
            self.symbol,
            self.timeframe,
            *(getattr(self, name)[start:stop] for name in ("ts", *FIELDS)),
        )

    def columns(self) -> dict[str, np.ndarray]:
        """The columns a store write takes (``ts`` and OHLCV; funding is stored apart), as views."""
        return {"ts": self.ts, "open": self.open, "high": self.high, "low": self.low, "close": self.close,
                "volume": self.volume}

    def to_frame(self):  # -> pandas.DataFrame (pandas imported lazily)
        """A DataFrame indexed by a tz-naive UTC ``DatetimeIndex`` named ``time``.

        tz-naive on purpose: vectorbt's metrics are ~65x slower on a tz-aware index.
        """
        import pandas as pd

        index = pd.DatetimeIndex(self.ts.astype("datetime64[ms]"), name="time")
        return pd.DataFrame({name: np.asarray(getattr(self, name)) for name in FIELDS}, index=index)

    @classmethod
    def from_arrays(
        cls,
        ts: np.ndarray,
        open: np.ndarray,  # noqa: A002 - the OHLCV name
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray | None = None,
        funding: np.ndarray | None = None,
        *,
        exchange: str = "local",
        symbol: str = "SYNTH",
        timeframe: str = "1h",
    ) -> Bars:
        """Build from arrays (copied to int64 / float64); missing volume and funding are zeros."""
        n = len(ts)
        f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        return cls(
            exchange,
            symbol,
            timeframe,
            np.ascontiguousarray(ts, dtype=np.int64),
            f64(open),
            f64(high),
            f64(low),
            f64(close),
            f64(np.zeros(n) if volume is None else volume),
            f64(np.zeros(n) if funding is None else funding),
        )


def align_funding(ts: np.ndarray, timeframe_ms: int, funding_ts: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Per bar, the sum of the funding ``rates`` with time in ``(ts[i], ts[i] + timeframe_ms]``.

    Events outside every bar (before the first, in a gap, after the last) are left out.
    """
    out = np.zeros(len(ts))
    if len(ts) == 0 or len(funding_ts) == 0:
        return out
    ts = np.asarray(ts)
    f_ts, rates = np.asarray(funding_ts), np.asarray(rates, dtype=np.float64)
    i = np.searchsorted(ts, f_ts, side="left") - 1  # the last bar with ts[i] < t
    ok = (i >= 0) & (f_ts <= ts[np.maximum(i, 0)] + timeframe_ms)
    return np.bincount(i[ok], weights=rates[ok], minlength=len(ts)).astype(np.float64)
