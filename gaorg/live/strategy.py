"""A strategy in force: a validated genome, where it came from, and its target on a trailing window.

The target comes from :func:`gaorg.strategies.compose.targets`, the very function the backtest and
the evolution call, on the last ``window`` closed bars (at least the genome's lookback + 2). With a
window that covers the whole history the targets equal the backtest's bar for bar (every output at
bar i depends only on bars <= i).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gaorg.data.bars import Bars
from gaorg.errors import DataTooShortError
from gaorg.strategies.genome import Genome

FIELDS = ("ts", "open", "high", "low", "close", "volume", "funding")


@dataclass(frozen=True)
class Strategy:
    """A genome in force under ``model`` at ``version`` (a registry version, or ``file`` for a local genome)."""

    genome: Genome
    model: str
    version: str

    @property
    def genome_hash(self) -> str:
        return self.genome.canonical_hash()

    @property
    def lookback(self) -> int:
        return int(self.genome.lookback())

    def decide(self, window: Bars) -> tuple[float, float, float]:
        """(target, stop distance, take distance) after the window's last bar; flat while too short."""
        from gaorg.strategies.compose import targets

        try:
            plan = targets(self.genome, window)
        except DataTooShortError:
            return 0.0, math.nan, math.nan
        return float(plan.target[-1]), float(plan.stop[-1]), float(plan.take[-1])


class BarWindow:
    """The last ``size`` closed bars in preallocated arrays (amortised O(1) append, memory bounded)."""

    def __init__(self, size: int, exchange: str, symbol: str, timeframe: str) -> None:
        self.size = int(size)
        self.meta = (exchange, symbol, timeframe)
        cap = 2 * self.size
        self._arr = {f: np.empty(cap, dtype=np.int64 if f == "ts" else np.float64) for f in FIELDS}
        self.n = 0

    def __len__(self) -> int:
        return min(self.n, self.size)

    @property
    def last_ts(self) -> int | None:
        return int(self._arr["ts"][self.n - 1]) if self.n else None

    def append(self, ts: int, o: float, h: float, lo: float, c: float, v: float, f: float) -> None:
        if self.n == len(self._arr["ts"]):
            keep = self.size - 1
            for a in self._arr.values():
                a[:keep] = a[self.n - keep:self.n]
            self.n = keep
        i = self.n
        a = self._arr
        a["ts"][i], a["open"][i], a["high"][i], a["low"][i] = ts, o, h, lo
        a["close"][i], a["volume"][i], a["funding"][i] = c, v, f
        self.n += 1

    def extend(self, bars: Bars) -> None:
        for i in range(max(0, len(bars) - self.size), len(bars)):
            self.append(int(bars.ts[i]), bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i],
                        bars.funding[i])

    def bars(self) -> Bars:
        lo = max(0, self.n - self.size)
        return Bars(*self.meta, *(self._arr[f][lo:self.n] for f in FIELDS))
