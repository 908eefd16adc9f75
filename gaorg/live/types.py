"""The small value types of the live path: a closed bar, an order intent, a broker's answer, a fill."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bar:
    """One closed bar (open time ``ts`` in ms) with its funding rate sum (DESIGN.md's Bars)."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    funding: float = 0.0
    gap: bool = False  # bars are missing just before this one (the feed saw a hole)


@dataclass(frozen=True)
class Order:
    """What the executor wants the broker to do, decided at the close of bar ``bar_ts``.

    ``target`` is the position wanted as a fraction of equity (the backtest's contract); ``units`` is
    the signed change estimated at ``price`` (the decision bar's close), which the risk gate checks
    and the exchange broker sends. ``stop``/``take`` are distances from the entry fill (NaN: none).
    """

    cloid: str
    symbol: str
    bar_ts: int
    target: float
    units: float
    price: float
    stop: float = float("nan")
    take: float = float("nan")
    reduce_only: bool = False
    reason: str = "signal"  # signal | flatten | halt | switch

    @property
    def side(self) -> str:
        return "buy" if self.units > 0 else "sell"

    @property
    def notional(self) -> float:
        return abs(self.units) * self.price


@dataclass(frozen=True)
class Fill:
    """A fill the broker reports: signed ``units`` at ``price``, ``fee`` paid (quote currency)."""

    fill_id: str
    cloid: str | None
    ts: int
    units: float
    price: float
    fee: float
    kind: str = "order"  # order | stop | take | funding


@dataclass(frozen=True)
class OrderResult:
    """The broker's answer to a submission or a lookup by client order id.

    ``status``: ``open`` (accepted, not yet filled: the paper broker's next-open order), ``filled``,
    ``partial`` (filled in part, the rest cancelled), ``rejected``, ``unknown`` (the broker never saw it).
    ``pending``: a basket's order whose fills are read later, once for its bar-close's orders
    (:meth:`gaorg.live.brokers.account.AccountView.read_fills`); ``filled`` is known, the fills not yet.
    """

    cloid: str
    status: str
    exchange_id: str | None = None
    filled: float = 0.0  # signed units filled
    avg_price: float = 0.0
    fee: float = 0.0
    error: str | None = None
    fills: tuple[Fill, ...] = field(default=())
    pending: bool = False  # filled; its fills (average price, fee) come from its bar-close's one fill read


@dataclass(frozen=True)
class Account:
    """The broker's view: equity (quote currency) and signed units per symbol."""

    equity: float
    positions: dict[str, float]

    def units(self, symbol: str) -> float:
        return float(self.positions.get(symbol, 0.0))


def client_order_id(state_key: str, bar_ts: int, purpose: str) -> str:
    """A deterministic Hyperliquid cloid (``0x`` + 32 hex) for one intent: the same decision at the
    same bar always gets the same id, so a retried or re-decided submission can never double it."""
    digest = hashlib.sha256(f"{state_key}|{bar_ts}|{purpose}".encode()).hexdigest()
    return "0x" + digest[:32]


def trigger_cloid(entry_cloid: str, kind: str, attempt: int = 0) -> str:
    """The cloid of the exchange-side ``stop``/``take`` trigger protecting the position the order
    ``entry_cloid`` opened or resized: derived from it, so a retry or a restart finds the trigger by
    cloid and never places it twice. ``attempt`` > 0: a replacement after the exchange dropped one."""
    return client_order_id(entry_cloid, attempt, f"trigger:{kind}")
