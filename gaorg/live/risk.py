"""The risk gate between the strategy and the broker: limits, states, kill switch.

States: ``ACTIVE`` (orders within limits pass), ``REDUCING`` (only orders that shrink the position
pass; entered when a position outgrows its limits by price moves, left when it is back inside),
``HALTED`` (nothing passes but the flattening order; entered by the daily loss limit, the drawdown
limit, the kill switch or the operator; left only by an operator's resume). A refused order is a
:class:`Decision` with a reason, recorded and counted by the executor, never an exception.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from enum import StrEnum

from gaorg.live.config import RiskLimits
from gaorg.live.types import Order

DAY_MS = 86_400_000


class RiskState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


STATE_CODE = {RiskState.ACTIVE: 0, RiskState.REDUCING: 1, RiskState.HALTED: 2}


@dataclass(frozen=True)
class Decision:
    """The gate's answer for one order: ``allowed`` or refused with a ``reason`` (a short code + detail)."""

    allowed: bool
    reason: str = ""
    code: str = ""


@dataclass(frozen=True)
class Transition:
    """A change of the gate's state, with why (recorded as a risk event)."""

    state: RiskState
    code: str
    reason: str


class RiskGate:
    """Checks orders against :class:`RiskLimits`; tracks equity peak and the day's start for the halts.

    Its persistent part (``state``, ``peak``, ``day``, ``day_start``) is saved with the live state so
    a restarted executor that was HALTED stays HALTED. ``loss_limits=False``: the daily loss and
    drawdown limits are someone else's (a portfolio's, measured on the total equity).
    """

    def __init__(self, limits: RiskLimits, loss_limits: bool = True) -> None:
        self.limits = limits
        self.loss_limits = loss_limits
        self.state = RiskState.ACTIVE
        self.peak = 0.0
        self.day = -1
        self.day_start = 0.0
        self.halt_reason = ""
        self._sent: collections.deque[int] = collections.deque()

    # -- persistence ---------------------------------------------------------------------------
    def snapshot(self) -> dict:
        return {"state": self.state.value, "peak": self.peak, "day": self.day, "day_start": self.day_start,
                "halt_reason": self.halt_reason}

    def restore(self, snap: dict | None) -> None:
        if not snap:
            return
        self.state = RiskState(snap.get("state", "ACTIVE"))
        self.peak = float(snap.get("peak", 0.0))
        self.day = int(snap.get("day", -1))
        self.day_start = float(snap.get("day_start", 0.0))
        self.halt_reason = str(snap.get("halt_reason", ""))

    # -- state changes -------------------------------------------------------------------------
    def halt(self, code: str, reason: str) -> Transition | None:
        """Move to HALTED (kill switch, operator, loss limits); None if already halted."""
        if self.state is RiskState.HALTED:
            return None
        self.state = RiskState.HALTED
        self.halt_reason = f"{code}: {reason}"
        return Transition(self.state, code, reason)

    def resume(self) -> Transition | None:
        """Back to ACTIVE (an operator's decision); the drawdown peak and the day restart from now."""
        if self.state is RiskState.ACTIVE:
            return None
        self.state = RiskState.ACTIVE
        self.halt_reason = ""
        self.peak = 0.0
        self.day = -1
        return Transition(self.state, "resume", "resumed by the operator")

    def on_equity(self, ts: int, equity: float, exposure: dict[str, float], symbol: str | None = None
                  ) -> Transition | None:
        """Update peak and day start with a marked equity; trip HALTED or REDUCING as the limits say.

        ``exposure`` maps each symbol to its signed position notional at the mark. ``symbol``: the gate
        guards that symbol only (its own position limit; the total and leverage over all of ``exposure``).
        """
        day = ts // DAY_MS
        if day != self.day:
            self.day, self.day_start = day, equity
        self.peak = max(self.peak, equity)
        if self.state is RiskState.HALTED:
            return None
        if self.loss_limits:
            t = self.loss_breach(equity)
            if t is not None:
                return t
        breach = self._exposure_breach(equity, exposure, symbol)
        if breach and self.state is RiskState.ACTIVE:
            self.state = RiskState.REDUCING
            return Transition(self.state, "reducing", breach)
        if not breach and self.state is RiskState.REDUCING:
            self.state = RiskState.ACTIVE
            return Transition(self.state, "active", "positions back inside the limits")
        return None

    def loss_breach(self, equity: float) -> Transition | None:
        """HALTED if ``equity`` is past the daily loss or the drawdown limit (peak and day already updated)."""
        lim = self.limits
        if self.day_start > 0 and equity <= self.day_start * (1.0 - lim.daily_loss):
            loss = 1.0 - equity / self.day_start
            return self.halt("daily_loss", f"equity fell {loss:.2%} today, limit {lim.daily_loss:.2%}")
        if self.peak > 0 and equity <= self.peak * (1.0 - lim.max_drawdown):
            dd = 1.0 - equity / self.peak
            return self.halt("max_drawdown", f"drawdown {dd:.2%} from the peak, limit {lim.max_drawdown:.2%}")
        return None

    def _exposure_breach(self, equity: float, exposure: dict[str, float], own: str | None = None) -> str:
        lim = self.limits
        total = sum(abs(v) for v in exposure.values())
        for symbol, notional in exposure.items():
            if (own is None or symbol == own) and abs(notional) > lim.max_position_notional:
                return f"{symbol} position {abs(notional):.2f} above max_position_notional {lim.max_position_notional:.2f}"
        if total > lim.max_total_notional:
            return f"total position {total:.2f} above max_total_notional {lim.max_total_notional:.2f}"
        if equity > 0 and total / equity > lim.max_leverage:
            return f"leverage {total / equity:.2f} above max_leverage {lim.max_leverage:.2f}"
        return ""

    # -- the gate ------------------------------------------------------------------------------
    def check(self, order: Order, now_ms: int, equity: float, exposure: dict[str, float], current_units: float
              ) -> Decision:
        """Allow or refuse ``order`` given the account (``exposure``: signed notional per symbol at the mark)."""
        lim = self.limits
        new_units = current_units + order.units
        reduces = abs(new_units) <= abs(current_units) + 1e-12 and (new_units == 0 or new_units * current_units >= 0)
        if self.state is RiskState.HALTED and not (reduces and order.reduce_only):
            return Decision(False, f"risk state HALTED ({self.halt_reason}); only the flattening order passes",
                            "halted")
        if self.state is RiskState.REDUCING and not reduces:
            return Decision(False, "risk state REDUCING: only orders that shrink the position pass", "reducing")
        if not (math.isfinite(order.units) and math.isfinite(order.price) and order.price > 0):
            return Decision(False, f"order has no valid size/price ({order.units!r} @ {order.price!r})", "invalid")
        if reduces:  # shrinking risk is always allowed (except the rate limit for signal orders)
            if order.reason == "signal" and not self._rate_ok(now_ms):
                return self._rate_refusal()
            self._record_sent(now_ms)
            return Decision(True)
        if order.notional > lim.max_order_notional:
            return Decision(False, f"order notional {order.notional:.2f} above max_order_notional "
                                   f"{lim.max_order_notional:.2f}", "max_order_notional")
        pos_notional = abs(new_units) * order.price
        if pos_notional > lim.max_position_notional:
            return Decision(False, f"{order.symbol} position would be {pos_notional:.2f}, above "
                                   f"max_position_notional {lim.max_position_notional:.2f}", "max_position_notional")
        others = sum(abs(v) for s, v in exposure.items() if s != order.symbol)
        total = others + pos_notional
        if total > lim.max_total_notional:
            return Decision(False, f"total position would be {total:.2f}, above max_total_notional "
                                   f"{lim.max_total_notional:.2f}", "max_total_notional")
        if equity <= 0 or total / equity > lim.max_leverage:
            lev = total / equity if equity > 0 else math.inf
            return Decision(False, f"leverage would be {lev:.2f}, above max_leverage {lim.max_leverage:.2f}",
                            "max_leverage")
        if not self._rate_ok(now_ms):
            return self._rate_refusal()
        self._record_sent(now_ms)
        return Decision(True)

    def _rate_ok(self, now_ms: int) -> bool:
        while self._sent and self._sent[0] <= now_ms - 60_000:
            self._sent.popleft()
        return len(self._sent) < self.limits.max_orders_per_minute

    def _rate_refusal(self) -> Decision:
        return Decision(False, f"more than {self.limits.max_orders_per_minute} orders in a minute", "rate_limit")

    def _record_sent(self, now_ms: int) -> None:
        self._sent.append(now_ms)
