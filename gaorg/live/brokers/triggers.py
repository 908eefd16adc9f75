"""The exchange broker's protective trigger orders: the strategy's stop-loss and take-profit on the exchange.

After an entry or a resize fills, the position gets a reduce-only stop-market order at its stop level and
a reduce-only take-profit-market order at its take level (either may be absent: NaN), sized to the whole
position, through ccxt's unified ``stopLossPrice``/``takeProfitPrice`` (Hyperliquid's ``trigger``
orders; ccxt gives the market trigger its worst acceptable price by its ``defaultSlippage``, 5%). The
levels are fixed at the entry fill, as in the backtest, and put on the exchange's price grid away from
the entry (a trigger never fires where the backtest's level was not reached).
Their cloids derive from the entry's (:func:`gaorg.live.types.trigger_cloid`), so a retry or a restart
finds them and never doubles them. The new triggers are placed before the old ones are cancelled (the
position is never left bare; reduce-only keeps a stale trigger from opening a position); a close
cancels them after its fill. When one fires, the next bar reports its fill as an exit of kind
``stop``/``take`` and cancels the other. At start, :meth:`Triggers.reconcile` adopts the triggers still
open, places those of the position that never arrived and cancels those of a position that is gone.
The reduce-only trigger orders with a cloid on the broker's coin are taken to be the executor's.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from gaorg.data.exchange import call, translate_error
from gaorg.errors import GaorgError, TransientExchangeError
from gaorg.live.types import Bar, Fill, Order, OrderResult, trigger_cloid

log = logging.getLogger("gaorg.live.broker")
KINDS = ("stop", "take")
MAX_ATTEMPTS = 8  # replacements of a trigger the exchange dropped (derived cloids: attempt 0..7)
DONE = ("filled", "partial")


@dataclass
class Protection:
    """The triggers protecting the open position: its side, their levels and cloids by kind."""

    entry: str | None  # the order whose fill set the levels (None: adopted from the exchange at a restart)
    side: float  # +1 long, -1 short
    levels: dict[str, float] = field(default_factory=dict)
    cloids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One open reduce-only trigger order on the exchange (``frontendOpenOrders``)."""

    cloid: str
    oid: str
    kind: str
    side: float  # +1 buy, -1 sell
    level: float
    size: float


class Triggers:
    """The protective triggers of one :class:`~gaorg.live.brokers.ccxt_broker.CcxtBroker` (its symbol)."""

    def __init__(self, broker: Any) -> None:
        self.b = broker
        self.p: Protection | None = None
        self.pending: list[Fill] = []  # fills of triggers found fired outside a bar check (reported next bar)

    # -- after an order filled --------------------------------------------------------------------
    def after_fill(self, order: Order, result: OrderResult, scan: bool = False) -> None:
        """Protect the position ``order`` left: new triggers at its levels, then the old ones cancelled."""
        from gaorg.live.executor import crash_point

        crash_point("before_triggers")  # tests: the entry filled, its triggers not placed yet
        old = self.p
        if old is None and (order.reduce_only or order.target == 0.0 or (math.isnan(order.stop)
                                                                        and math.isnan(order.take))):
            return  # nothing placed, nothing to place
        units = self._position()
        side = math.copysign(1.0, units) if units else 0.0
        if order.reduce_only or order.target == 0.0 or not units:
            self.p = None  # closed: nothing left to protect
            self._cancel(list(old.cloids.items()) if old else [])
            return
        if side * order.target < 0.0:  # a flip filled in part only: the old side keeps its triggers
            return
        px = result.avg_price or order.price
        wanted = {"stop": px * (1.0 - side * order.stop), "take": px * (1.0 + side * order.take)}
        self.protect(order.cloid, side, abs(units), wanted, scan=scan)
        keep = set(self.p.cloids.values()) if self.p else set()
        self._cancel([(k, c) for k, c in (old.cloids.items() if old else []) if c not in keep])

    def protect(self, entry: str, side: float, size: float, levels: dict[str, float], scan: bool = False) -> None:
        """Place the triggers of ``entry`` (each level that is not NaN); ``scan``: look each cloid up
        first (a restart: adopt what is there, replace what the exchange dropped)."""
        p = Protection(entry, side)
        for kind, level in levels.items():
            if math.isnan(level):
                continue
            p.levels[kind] = self._outward(level, down=(kind == "stop") == (side > 0))
            cloid, state = (self._resolve(entry, kind) if scan else (trigger_cloid(entry, kind), "unknown"))
            p.cloids[kind] = cloid
            if state == "unknown":
                self._place(kind, cloid, side, size, p.levels[kind])
        self.p = p if p.cloids else None

    def _outward(self, level: float, down: bool) -> float:
        """``level`` on the exchange's price grid, rounded away from the entry (a stop of a long down, its
        take up): the trigger fires only where the backtest's level was crossed, at most a tick beyond it."""
        to_grid = self.b.ex.price_to_precision
        px = float(to_grid(self.b.symbol, level))
        if abs(px - level) <= 1e-12 * abs(level) or (px < level) == down:
            return px
        for e in range(-10, 10):  # the grid's step: the smallest power of ten that moves the price
            moved = float(to_grid(self.b.symbol, px - 10.0**e if down else px + 10.0**e))
            if moved != px:
                return moved
        return px

    def _resolve(self, entry: str, kind: str) -> tuple[str, str]:
        """The first derived cloid of ``entry``'s ``kind`` trigger that the exchange did not drop, and
        its state there (``unknown``: never placed; ``open``; ``filled``)."""
        cloid = trigger_cloid(entry, kind)
        for attempt in range(MAX_ATTEMPTS):
            cloid = trigger_cloid(entry, kind, attempt)
            found = self.b.find(cloid)
            if found.status == "unknown" or found.status == "open" or found.status in DONE:
                return cloid, "filled" if found.status in DONE else found.status
        return cloid, "open"  # every replacement was dropped: give up on this one (logged by the caller)

    def _place(self, kind: str, cloid: str, side: float, size: float, level: float) -> None:
        """One reduce-only trigger (market when it fires); a failure is logged, the next bar retries."""
        params = {"clientOrderId": cloid, "reduceOnly": True,
                  ("stopLossPrice" if kind == "stop" else "takeProfitPrice"): level}
        try:
            amount = float(self.b.ex.amount_to_precision(self.b.symbol, size))
            resp, found = self.b.create(cloid, "market", "sell" if side > 0 else "buy", amount, level, params)
        except GaorgError as exc:
            log.error("%s trigger %s not placed (%s); retried on the next bar", kind, cloid, exc)
            return
        except Exception as exc:  # noqa: BLE001 - ccxt refuses a size below its precision
            log.error("%s trigger %s not placed: %s", kind, cloid, translate_error(exc, "amount"))
            return
        if found is not None and found.status == "rejected":
            log.error("%s trigger %s rejected by the exchange: %s", kind, cloid, found.error)
        else:
            log.info("%s trigger %s at %s for %s units", kind, cloid, level, amount)

    def _cancel(self, items: list[tuple[str, str]]) -> None:
        """Cancel triggers by cloid; one that fired first has its fill reported on the next bar."""
        for kind, cloid in items:
            try:
                call(self.b.ex.cancel_order, cloid, self.b.symbol, {"clientOrderId": cloid}, retry=self.b.retry,
                     where=f"{self.b.name} cancel", sleep=self.b.sleep)
                self.b.view.changed(self.b.coin)
                continue
            except TransientExchangeError as exc:
                self.b.view.changed(self.b.coin)
                log.error("trigger %s not cancelled (%s); cancelled at the next reconciliation", cloid, exc)
                continue
            except GaorgError:  # never placed, already cancelled, or filled: which one?
                self.b.view.changed(self.b.coin)
            found = self.b.find(cloid)
            if found.status in DONE:
                self.pending.extend(_as(kind, found))

    # -- each bar ---------------------------------------------------------------------------------
    def check(self, symbol: str, bar: Bar) -> list[Fill]:
        """A trigger that fired since the last bar: its fill (an exit), the other one cancelled. A trigger
        missing while the position is open is placed again (a bar that touched its level closes the
        position at its close, as without exchange stops)."""
        fills, self.pending = self.pending, []
        p = self.p
        if p is None:
            return fills
        rows = {r.cloid: r for r in self.rows()}
        gone = {k: c for k, c in p.cloids.items() if c not in rows}
        if not gone:
            return fills
        missing = {}
        for kind, cloid in gone.items():
            found = self.b.find(cloid)
            if found.status in DONE:
                fills.extend(_as(kind, found))
            else:
                missing[kind] = found.status
        if len(missing) < len(gone):  # one fired: the position is closed (reduce-only), its sibling goes
            self.p = None
            self._cancel([(k, c) for k, c in p.cloids.items() if c in rows])
            return fills
        units = self._position()
        if units == 0.0 or math.copysign(1.0, units) != p.side:
            self.p = None
            self._cancel([(k, c) for k, c in p.cloids.items() if c in rows])
            return fills
        stop, take = p.levels.get("stop", math.nan), p.levels.get("take", math.nan)
        exit_fills = self.b.close_if_touched(symbol, bar, stop if "stop" in missing else math.nan,
                                             take if "take" in missing else math.nan)
        if exit_fills:
            self.p = None
            self._cancel([(k, c) for k, c in p.cloids.items() if c in rows])
            return fills + exit_fills
        log.warning("triggers %s of the open position are missing on the exchange: placing them again",
                    sorted(missing))
        for kind, state in missing.items():
            cloid = p.cloids[kind]
            if state != "unknown" and p.entry is not None:  # dropped by the exchange: a new derived cloid
                cloid, state = self._resolve(p.entry, kind)
                p.cloids[kind] = cloid
            if state == "unknown":
                self._place(kind, cloid, p.side, abs(units), p.levels[kind])
        return fills

    def rows(self) -> list[Row]:
        """The open reduce-only trigger orders with a cloid on this broker's coin."""
        b = self.b
        got = b.view.open_orders(b.coin)  # the account's, read once for the symbols of a bar-close
        out = []
        for r in got or []:
            if r.get("coin") != b.coin or not r.get("isTrigger") or not r.get("reduceOnly") or not r.get("cloid"):
                continue
            kind = "take" if "take profit" in str(r.get("orderType", "")).lower() else "stop"
            out.append(Row(r["cloid"], str(r.get("oid")), kind, 1.0 if r.get("side") == "B" else -1.0,
                           float(r.get("triggerPx") or "nan"), float(r.get("sz") or 0.0)))
        return out

    # -- restart ----------------------------------------------------------------------------------
    def reconcile(self) -> None:
        """Adopt the open triggers that fit the position, place the known ones that never arrived,
        cancel the rest; a known trigger that fired while the process was down is reported next bar."""
        p, rows = self.p, self.rows()
        open_cloids = {r.cloid for r in rows}
        fired = False
        for kind, cloid in (p.cloids.items() if p else []):
            if cloid not in open_cloids:
                found = self.b.find(cloid)
                if found.status in DONE:
                    self.pending.extend(_as(kind, found))
                    fired = True
        units = self._position()
        side = math.copysign(1.0, units) if units else 0.0
        keep: dict[str, Row] = {}
        if units and self.b.exchange_stops:
            for kind in KINDS:
                fitting = [r for r in rows if r.kind == kind and r.side == -side]
                known = p.cloids.get(kind) if p and p.side == side else None
                pick = next((r for r in fitting if r.cloid == known), None)
                pick = pick or max(fitting, key=lambda r: int(r.oid) if r.oid.isdigit() else 0, default=None)
                if pick is not None:
                    keep[kind] = pick
        stale = [r for r in rows if r not in keep.values()]
        if stale:
            log.info("cancelling %d trigger(s) that no longer fit the position (%s units)", len(stale), units)
            self._cancel([(r.kind, r.cloid) for r in stale])
        if not units or not self.b.exchange_stops:
            self.p = None
            return
        if p is not None and p.side == side and not fired:
            self.p = Protection(p.entry, side, dict(p.levels), dict(p.cloids))
            for kind, r in keep.items():
                self.p.cloids[kind], self.p.levels[kind] = r.cloid, r.level
            absent = {k: p.levels[k] for k in p.cloids if k not in keep}
            if absent and p.entry is not None:
                log.warning("position without its %s trigger(s): placing them again", sorted(absent))
                again = Protection(p.entry, side)
                for kind, level in absent.items():
                    cloid, state = self._resolve(p.entry, kind)
                    again.cloids[kind], again.levels[kind] = cloid, level
                    if state == "unknown":
                        self._place(kind, cloid, side, abs(units), level)
                self.p.cloids.update(again.cloids)
        elif keep:
            self.p = Protection(None, side, {k: r.level for k, r in keep.items()}, {k: r.cloid for k, r in keep.items()})
        else:
            self.p = None
            log.warning("open position of %s units without known stop/take levels: its entry's triggers are "
                        "placed when the executor meets that order again", units)

    def settle(self, order: Order) -> None:
        """``order`` (decided again after a restart) is done on the exchange: its triggers are placed
        unless they already are (found by their derived cloids)."""
        if order.reduce_only or order.target == 0.0:
            return
        wanted = {trigger_cloid(order.cloid, k) for k in KINDS}
        if self.p is not None and (self.p.entry == order.cloid or set(self.p.cloids.values()) <= wanted):
            self.p.entry = order.cloid
            return
        found = self.b.find(order.cloid)
        if found.status in DONE:
            self.after_fill(order, found, scan=True)

    # -- persistence ------------------------------------------------------------------------------
    def snapshot(self) -> dict | None:
        p = self.p
        return None if p is None else {"entry": p.entry, "side": p.side, "levels": p.levels, "cloids": p.cloids}

    def restore(self, snap: dict | None) -> None:
        self.p = None if not snap else Protection(snap.get("entry"), float(snap["side"]),
                                                   {k: float(v) for k, v in snap["levels"].items()},
                                                   dict(snap["cloids"]))

    def _position(self) -> float:
        return self.b.account(self.b.symbol, 0.0).units(self.b.symbol)


def _as(kind: str, found: OrderResult) -> list[Fill]:
    """A trigger's fills as exits of its kind."""
    return [Fill(f.fill_id, found.cloid, f.ts, f.units, f.price, f.fee, kind) for f in found.fills]
