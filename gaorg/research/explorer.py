"""``01_data_explorer``: one stored series, its gaps and its coarser views, ready to plot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaorg.config import Settings
from gaorg.data.bars import Bars


@dataclass(frozen=True)
class SeriesView:
    """A series read from the store, its gap report and its resampled views (timeframe -> Bars)."""

    bars: Bars
    gaps: tuple[Any, ...]
    resampled: dict[str, Bars]

    def summary(self) -> dict[str, Any]:
        """Plain facts for the record and the notebook's table."""
        from gaorg.data.store import iso

        b = self.bars
        return {
            "exchange": b.exchange, "symbol": b.symbol, "timeframe": b.timeframe, "rows": len(b),
            "first": iso(int(b.ts[0])) if len(b) else None, "last": iso(int(b.ts[-1])) if len(b) else None,
            "gaps": len(self.gaps), "missing_bars": int(sum(g.bars for g in self.gaps)),
            "funding_bars": int((b.funding != 0).sum()),
            "resampled": {tf: len(v) for tf, v in self.resampled.items()},
        }


def load_view(settings: Settings, symbol: str, timeframe: str, exchange: str | None = None,
              start: str | None = None, end: str | None = None, resample_to: tuple[str, ...] = ()) -> SeriesView:
    """Read ``symbol`` at ``timeframe`` in ``[start, end)``, its gaps, and each ``resample_to`` view."""
    from gaorg.data.resample import resample_bars
    from gaorg.data.store import open_store
    from gaorg.data.timeframes import timeframe_ms

    for tf in (timeframe, *resample_to):
        timeframe_ms(tf)  # an unknown timeframe fails here with a "did you mean"
    with open_store(settings, read_only=True) as store:
        exchange = store.resolve_exchange(symbol, exchange, timeframe)
        bars = store.read_bars(exchange, symbol, timeframe, start, end)
        gaps = tuple(g for g in store.gaps(exchange, symbol, timeframe)
                     if len(bars) and g.end > bars.ts[0] and g.start <= bars.ts[-1])
    return SeriesView(bars, gaps, {tf: resample_bars(bars, tf) for tf in resample_to})
