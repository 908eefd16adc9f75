"""What a live run did (the command's payload), and the strategy a resolved version runs.

Shared by the one-symbol run (:mod:`gaorg.live.runner`) and the several-symbol one
(:mod:`gaorg.live.portfolio`), so neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gaorg.live.registry import Resolved
from gaorg.live.strategy import Strategy


@dataclass
class RunSummary:
    """What a run did (the CLI's payload)."""

    model: str
    version: str
    broker: str
    bars: int = 0  # processed by this run
    total_bars: int = 0  # processed in this live state, across restarts
    orders: int = 0
    refused: int = 0  # by the risk gate
    failed: int = 0  # sent, and rejected by the exchange or lost in an exchange error: a run that is not clean
    switches: list[dict[str, Any]] = field(default_factory=list)
    reconciled: list[dict[str, Any]] = field(default_factory=list)
    equity: float = float("nan")
    units: float = 0.0
    risk_state: str = "ACTIVE"
    last_ts: int | None = None
    first_ts: int | None = None  # the first bar this run processed
    replay: dict[str, Any] = field(default_factory=dict)  # from/to/bars and how the start was chosen
    fills: int = 0  # order, stop and take fills of this run (not funding)
    first_fills: list[dict[str, Any]] = field(default_factory=list)  # the first three of them
    start_equity: float | None = None  # equity when this run started
    idle: str | None = None  # why this run sent no order (None when it sent some)
    stopped: str = "feed ended"
    metrics_port: int | None = None
    api_port: int | None = None
    symbols: dict[str, dict[str, Any]] = field(default_factory=dict)  # per symbol: bars, orders, equity, ...

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("equity", "units"):
            if out[key] != out[key]:  # NaN: no bar in this live state yet / several symbols (see symbols)
                out[key] = None
        return out


def strategy_of(res: Resolved) -> Strategy:
    """The executor's strategy for a version the registry resolved."""
    return Strategy(res.genome, res.name, res.version)
