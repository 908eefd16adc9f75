"""What a one-symbol run covered and why it traded nothing: the lines a person reads after ``gaorg live``.

A replay of a registered version starts, unless ``--start`` says otherwise, at the start of that
version's hold-out on the symbol (the bars evolution never trained on, recorded by its run in the
``gaorg.rescore`` param and read through :func:`gaorg.tracking.rescore.rescore_basis`), with the bars
before it as the strategy's warm-up; a genome file, or a symbol outside the version's basket, replays
from the first stored bar. :class:`Tally` counts, bar by bar, what explains a run without orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gaorg.errors import GaorgError


def default_start(resolved: Any, symbol: str, exchange: str | None, settings: Any) -> tuple[str | None, str]:
    """(the replay's first bar in ms as text, or None for the first stored bar; how it was chosen)."""
    info = getattr(resolved, "info", None)
    if info is None:
        return None, "from the first stored bar (a genome file has no hold-out; --start chooses)"
    from gaorg.tracking.rescore import rescore_basis

    try:
        series, _, _ = rescore_basis(info, settings)
    except GaorgError as exc:
        return None, f"from the first stored bar (v{resolved.version}'s hold-out could not be read: {exc})"
    starts = [int(ms) for ex, sym, _tf, ms in series if sym == symbol and exchange in (None, ex)]
    if not starts:
        basket = ", ".join(sorted({sym for _ex, sym, _tf, _ms in series})) or "none recorded"
        return None, (f"from the first stored bar ({symbol} is not in v{resolved.version}'s hold-out basket: "
                      f"{basket}; --start chooses)")
    return str(min(starts)), f"from v{resolved.version}'s hold-out start: bars its evolution never trained on"


@dataclass
class Tally:
    """What the bars of one run did: counts that explain a run without orders."""

    lookback: int = 0
    first_ts: int | None = None
    bars: int = 0
    stale: int = 0  # stale or after a gap: no decision
    warming: int = 0  # decided on fewer bars than the strategy's lookback: flat by construction
    holding: int = 0  # a non-zero target
    refused: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, report: Any, window: int) -> None:
        """Count one processed bar (``window``: bars the strategy saw)."""
        if self.first_ts is None:
            self.first_ts = report.ts
        self.bars += 1
        if report.stale:
            self.stale += 1
        elif report.target is not None:
            self.warming += window < self.lookback
            self.holding += report.target != 0.0
        if report.refused is not None:
            self.refused += 1
            self.reasons[report.refused] = self.reasons.get(report.refused, 0) + 1

    def why_flat(self, units: float) -> str:
        """Why no order was sent (call when none was)."""
        n = self.bars
        if self.refused:
            why = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items()))
            return f"{self.refused} orders refused by the risk gate ({why})"
        if self.stale == n:
            return f"all {n} bars were stale or followed a gap: no order on such bars"
        if self.warming and self.holding == 0:
            if self.warming >= n - self.stale:
                return (f"flat for {n} bars: its entry needs {self.lookback} bars of warm-up and the replay "
                        "gave fewer (store more history before the start, or replay more bars)")
            return (f"flat for {n} bars: {self.warming} of them within its {self.lookback}-bar warm-up, then its "
                    "rules held no position")
        if self.holding == 0:
            return f"its rules held no position on these {n} bars (target 0 on every bar)"
        return f"it kept the position it had ({units:.6g} units): its target did not change on these {n} bars"


def iso(ms: int | None) -> str:
    """A bar time as ISO 8601 UTC (minutes)."""
    if ms is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")
