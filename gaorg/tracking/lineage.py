"""Data lineage of an evolution: which series it saw, over which times, with which content.

Each stage's basket is read the way evolution reads it (``gaorg.evolve.basket.load_basket``:
stored or resampled). The lineage names every series (exchange, symbol, timeframe), its first
and last bar, its length, where its hold-out starts, and one content hash over all of them (the
same fingerprint a resumed run checks). Promotion re-scores a version on the series and from the
hold-out start recorded here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from gaorg.data.bars import Bars


@dataclass(frozen=True)
class SeriesLineage:
    """One series as the run saw it; ``holdout_start`` is the open time of its first held-out bar."""

    exchange: str
    symbol: str
    timeframe: str
    first: int
    last: int
    rows: int
    holdout_start: int | None

    @property
    def key(self) -> str:
        return f"{self.exchange}/{self.symbol}/{self.timeframe}"


@dataclass(frozen=True)
class Lineage:
    """The series of every stage and a content hash over them."""

    series: tuple[SeriesLineage, ...]
    content_hash: str

    def for_timeframe(self, timeframe: str) -> tuple[SeriesLineage, ...]:
        return tuple(s for s in self.series if s.timeframe == timeframe)

    def params(self) -> dict[str, str]:
        """Run params: the series keys, their time ranges and the content hash."""
        out = {"data.content_hash": self.content_hash,
               "data.series": ",".join(s.key for s in self.series)}
        for s in self.series:
            out[f"data.{s.key}"] = f"{_iso(s.first)}..{_iso(s.last)} ({s.rows} bars)"
        return out

    def to_json(self) -> str:
        return json.dumps({"content_hash": self.content_hash, "series": [asdict(s) for s in self.series]},
                          indent=2)


def lineage_of(baskets: Mapping[str, tuple[Bars, ...]], holdout: float) -> Lineage:
    """The lineage of each stage's basket (timeframe -> its Bars) with hold-out fraction ``holdout``."""
    from gaorg.evolve.basket import fingerprint
    from gaorg.evolve.folds import holdout_start, holdout_starts

    series = []
    everything: list[Bars] = []
    for bars_list in baskets.values():
        shared = holdout_starts(bars_list, holdout)  # series of different spans: one hold-out time
        for i, b in enumerate(bars_list):
            everything.append(b)
            n = len(b)
            cut = shared[i] if shared is not None else holdout_start(n, holdout) if n else 0
            series.append(SeriesLineage(
                b.exchange, b.symbol, b.timeframe,
                int(b.ts[0]) if n else 0, int(b.ts[-1]) if n else 0, n,
                int(b.ts[cut]) if holdout > 0 and cut < n else None,
            ))
    return Lineage(tuple(series), fingerprint(tuple(everything)))


def baskets_of(config: Mapping[str, Any], data: Any) -> dict[str, tuple[Bars, ...]]:
    """Each stage's basket for a run's flat config (``EvolveConfig.to_params()``) from ``data``."""
    from gaorg.evolve.basket import load_basket

    symbols = _names(config.get("symbols", ""))
    exchange = config.get("exchange") or None
    return {tf: load_basket(data, symbols, tf, exchange) for tf in _names(config.get("timeframes", ""))}


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return tuple(s for s in str(value).split(",") if s)


def _iso(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
