"""What the stand-in Hyperliquid serves and has seen, shared by its HTTP side
(:mod:`gaorg.testing.hyperliquid`, which re-exports both names) and its websocket
(:mod:`gaorg.testing.hyperliquid_ws`).
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gaorg.data.bars import Bars


@dataclass
class Request:
    """One request as the server saw it."""

    at: float  # time.monotonic()
    path: str
    type: str
    body: Any


@dataclass
class StandInState:
    """What the server serves and has seen; tests read and change it (under ``lock``)."""

    candles: dict[tuple[str, str], Bars] = field(default_factory=dict)  # (coin, interval) -> bars
    funding: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # coin -> (ts, rate)
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))  # "type" or "type/COIN"
    delisted: set[str] = field(default_factory=set)  # coins marked ``isDelisted`` in meta's universe
    volume: dict[str, float] = field(default_factory=dict)  # coin -> 24 h notional volume (dayNtlVlm)
    requests: list[Request] = field(default_factory=list)
    page_limit: int = 5000
    funding_limit: int = 500
    short_len: int = 3
    timeout_delay: float = 1.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def coins(self) -> list[str]:
        return sorted({coin for coin, _ in self.candles} | set(self.funding))

    def count(self, request_type: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.type == request_type)
