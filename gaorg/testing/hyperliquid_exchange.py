"""The stand-in Hyperliquid with an account: ``POST /exchange`` (order, cancel, cancelByCloid) and the
account's ``/info`` (clearinghouseState, openOrders, frontendOpenOrders, orderStatus by oid or cloid,
userFills), on 127.0.0.1, for the ccxt broker's tests and demos. Signatures are not checked, but every
action is logged (``state.requests``), so a test can assert that no ``approveBuilderFee`` or
``setReferrer`` action ever arrived.

Market orders (IOC) fill at once at ``prices[coin]`` (default: the last close served), fee ``fee`` of
the notional. A cloid seen before is refused (the exchange's own guard against a doubled order).
Order faults, queued with :meth:`StandInExchange.fail_order`, consumed one per order request:
``reject`` (answered with an error status), ``partial`` (half the size filled, the rest cancelled),
``lost`` (the order is executed, then the reply is lost: HTTP 502). The data stand-in's faults
(``timeout``, ``429``, ``5xx``) work too, with ``fail("order", ...)``: a ``timeout`` executes the
order and answers too late.

A reduce-only order that would increase a position is rejected (one larger than the position fills
only the position). Trigger orders (``t: {trigger: {isMarket, triggerPx, tpsl}}``) rest as open orders
(listed with their trigger fields by ``frontendOpenOrders``, as Hyperliquid does) until a candle
published for their coin (:meth:`~gaorg.testing.hyperliquid.StandInHyperliquid.publish_candle`) crosses
the trigger price: like the backtest, a candle that opens beyond it fills at the open, one whose
low/high touches it fills at the trigger price (an update of a candle counts only its move since the
last publish); within one candle a stop fires before a take-profit. A market trigger fills at that
price (no slippage) if its limit price allows it, else it is cancelled; a reduce-only trigger with no
position left to reduce is cancelled (``reduceOnlyCanceled``). Cancels (by oid or cloid) work on
open orders only.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gaorg.testing.hyperliquid import HttpFault, StandInHyperliquid

ORDER_FAULTS = ("ok", "reject", "partial", "lost")


@dataclass
class StandInAccount:
    """The account the stand-in keeps: cash, signed positions per coin, orders, fills."""

    cash: float = 10_000.0
    positions: dict[str, float] = field(default_factory=dict)
    entry: dict[str, float] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)  # oid -> order record
    by_cloid: dict[str, int] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    next_oid: int = 1000


class StandInExchange(StandInHyperliquid):
    """:class:`StandInHyperliquid` plus ``/exchange`` and the account's ``/info`` requests."""

    def __init__(self, bars: Any = (), *, cash: float = 10_000.0, fee: float = 0.00045, **kw: Any) -> None:
        super().__init__(bars, **kw)
        self.account = StandInAccount(cash=cash)
        self.fee = fee
        self.prices: dict[str, float] = {}
        self.order_faults: deque[str] = deque()
        self.routes["/exchange"] = self.exchange
        self.candle_hooks.append(self.fire_triggers)
        self.info_handlers.update({
            "clearinghouseState": self.clearinghouse_state,
            "openOrders": self.open_orders,
            "frontendOpenOrders": self.frontend_open_orders,
            "orderStatus": self.order_status,
            "userFills": self.user_fills,
        })

    def fail_order(self, *faults: str) -> None:
        for f in faults:
            if f not in ORDER_FAULTS:
                raise ValueError(f"unknown order fault {f!r}; use one of {ORDER_FAULTS}")
        with self.state.lock:
            self.order_faults.extend(faults)

    def price(self, coin: str) -> float:
        return self.prices.get(coin) or self._last_close(coin)

    def actions(self) -> list[str]:
        """The type of every /exchange action received, in order."""
        with self.state.lock:
            return [r.type for r in self.state.requests if r.path == "/exchange"]

    # -- /exchange ---------------------------------------------------------------------------------
    def exchange(self, body: dict[str, Any]) -> Any:
        action = body.get("action") or {}
        kind = action.get("type")
        if kind == "order":
            with self.state.lock:
                fault = self.order_faults.popleft() if self.order_faults else "ok"
                statuses = [self._place(o, fault) for o in action.get("orders", [])]
            if fault == "lost":
                raise HttpFault(502, "stand-in: the reply was lost")
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
        if kind in ("cancel", "cancelByCloid"):
            with self.state.lock:
                statuses = [self._cancel(c, kind == "cancelByCloid") for c in action.get("cancels", [])]
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        return {"status": "err", "response": f"stand-in: unsupported action {kind!r}"}

    def _cancel(self, c: dict[str, Any], by_cloid: bool) -> Any:
        acct = self.account
        oid = acct.by_cloid.get(c.get("cloid")) if by_cloid else c.get("o")
        rec = acct.orders.get(oid) if oid is not None else None
        if rec is None or rec["status"] != "open":
            return {"error": f"Order was never placed, already canceled, or filled. asset={c.get('asset', c.get('a'))}"}
        rec["status"] = "canceled"
        return "success"

    def _place(self, o: dict[str, Any], fault: str) -> dict[str, Any]:
        acct = self.account
        coins = self.state.coins()
        asset = int(o["a"])
        if not 0 <= asset < len(coins):
            return {"error": f"Invalid asset {asset}"}
        coin, cloid = coins[asset], o.get("c")
        if cloid is not None and cloid in acct.by_cloid:
            return {"error": f"Duplicate cloid {cloid}"}
        is_buy, size, limit = bool(o["b"]), float(o["s"]), float(o["p"])
        oid = acct.next_oid
        acct.next_oid += 1
        now = int(time.time() * 1000)
        rec = {"coin": coin, "side": "B" if is_buy else "A", "limitPx": o["p"], "origSz": o["s"], "sz": o["s"],
               "oid": oid, "cloid": cloid, "timestamp": now, "status": "open", "reduceOnly": bool(o.get("r")),
               "orderType": "Limit", "tif": "Ioc", "isTrigger": False, "triggerPx": "0.0",
               "triggerCondition": "N/A", "isPositionTpsl": False, "children": []}
        trigger = (o.get("t") or {}).get("trigger")
        if trigger is not None:
            is_tp = trigger.get("tpsl") == "tp"
            below = is_tp == is_buy  # a sell stop and a buy take-profit fire when the price falls to them
            rec.update(orderType=("Take Profit" if is_tp else "Stop") + (" Market" if trigger.get("isMarket") else " Limit"),
                       tif=None, isTrigger=True, triggerPx=str(trigger["triggerPx"]),
                       triggerCondition=f"Price {'below' if below else 'above'} {trigger['triggerPx']}")
        acct.orders[oid] = rec
        if cloid is not None:
            acct.by_cloid[cloid] = oid
        if fault == "reject":
            rec["status"] = "rejected"
            return {"error": f"Insufficient margin to place order. asset={asset}"}
        if trigger is not None:
            return {"resting": {"oid": oid}}
        px = self.price(coin)
        if (is_buy and px > limit) or (not is_buy and px < limit) or size <= 0:
            rec["status"] = "canceled"
            return {"error": "Order could not immediately match against any resting orders."}
        filled = self._reducible(rec, size)
        if filled <= 0:
            rec["status"] = "reduceOnlyRejected"
            return {"error": f"Reduce only order would increase position. asset={asset}"}
        filled = filled / 2 if fault == "partial" else filled
        self._fill(rec, px, filled, now)
        rec["status"] = "filled" if fault != "partial" else "canceled"
        return {"filled": {"totalSz": repr(filled), "avgPx": repr(px), "oid": oid}}

    def _reducible(self, rec: dict[str, Any], size: float) -> float:
        """How much of ``size`` the order may fill: all of it, or for a reduce-only order at most the
        position it reduces (0: it would increase the position)."""
        if not rec["reduceOnly"]:
            return size
        pos = self.account.positions.get(rec["coin"], 0.0)
        if pos == 0.0 or (pos > 0) == (rec["side"] == "B"):
            return 0.0
        return min(size, abs(pos))

    def _fill(self, rec: dict[str, Any], px: float, filled: float, now: int) -> None:
        acct, coin, is_buy = self.account, rec["coin"], rec["side"] == "B"
        signed = filled if is_buy else -filled
        fee = abs(signed) * px * self.fee
        acct.cash -= signed * px + fee
        old = acct.positions.get(coin, 0.0)
        acct.positions[coin] = old + signed
        closing = old != 0.0 and (old > 0) != is_buy
        if not closing:
            acct.entry[coin] = px
        side = "Long" if (old > 0 if closing else is_buy) else "Short"
        acct.fills.append({"coin": coin, "px": repr(px), "sz": repr(filled), "side": rec["side"], "time": now,
                           "oid": rec["oid"], "cloid": rec["cloid"], "fee": repr(fee), "tid": len(acct.fills) + 1,
                           "startPosition": repr(old), "dir": f"{'Close' if closing else 'Open'} {side}",
                           "closedPnl": "0.0", "hash": "0x0", "crossed": True, "feeToken": "USDC"})
        rec["sz"] = repr(float(rec["origSz"]) - filled)

    # -- trigger orders ------------------------------------------------------------------------------
    def fire_triggers(self, coin: str, interval: str, row: tuple, prev: tuple | None) -> list[int]:
        """Fire the open trigger orders of ``coin`` that the candle ``row`` = (t, o, h, l, c, v) crossed
        (``prev``: that candle as it was before this update, or None); the oids that filled."""
        _, op, high, low, close = (float(x) for x in row[:5])
        if prev is not None:  # an update: only the move since the last publish
            ref = float(prev[4])
            low = low if low < float(prev[3]) else min(ref, close)
            high = high if high > float(prev[2]) else max(ref, close)
        else:
            ref = op
        fired: list[tuple[tuple[int, int, int], dict[str, Any], float]] = []
        with self.state.lock:
            for rec in self.account.orders.values():
                if rec["coin"] != coin or rec["status"] != "open" or not rec["isTrigger"]:
                    continue
                level, below = float(rec["triggerPx"]), "below" in rec["triggerCondition"]
                gap = ref <= level if below else ref >= level
                touched = low <= level if below else high >= level
                if gap or touched:
                    stop = rec["orderType"].startswith("Stop")
                    fired.append(((0 if gap else 1, 0 if stop else 1, rec["oid"]), rec, ref if gap else level))
            filled = []
            now = int(time.time() * 1000)
            for _, rec, px in sorted(fired, key=lambda f: f[0]):
                limit = float(rec["limitPx"])
                size = self._reducible(rec, float(rec["sz"]))
                if size <= 0:
                    rec["status"] = "reduceOnlyCanceled"
                elif (rec["side"] == "B" and px > limit) or (rec["side"] == "A" and px < limit):
                    rec["status"] = "canceled"  # the market order's limit (its slippage) did not allow it
                else:
                    self._fill(rec, px, size, now)
                    rec["status"] = "filled"
                    filled.append(rec["oid"])
        return filled

    # -- the account's /info -----------------------------------------------------------------------
    def account_value(self) -> float:
        acct = self.account
        return acct.cash + sum(u * self.price(c) for c, u in acct.positions.items())

    def clearinghouse_state(self, body: dict[str, Any]) -> Any:
        acct = self.account
        value = self.account_value()
        ntl = sum(abs(u) * self.price(c) for c, u in acct.positions.items())
        summary = {"accountValue": repr(value), "totalMarginUsed": "0.0", "totalNtlPos": repr(ntl),
                   "totalRawUsd": repr(acct.cash)}
        positions = [
            {"type": "oneWay", "position": {
                "coin": c, "szi": repr(u), "entryPx": repr(acct.entry.get(c, 0.0)),
                "positionValue": repr(abs(u) * self.price(c)), "unrealizedPnl": "0.0", "returnOnEquity": "0.0",
                "leverage": {"type": "cross", "value": 1}, "liquidationPx": None, "marginUsed": "0.0",
                "maxLeverage": 40, "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"}}}
            for c, u in acct.positions.items() if u != 0.0
        ]
        return {"assetPositions": positions, "marginSummary": summary, "crossMarginSummary": summary,
                "crossMaintenanceMarginUsed": "0.0", "withdrawable": repr(value), "time": int(time.time() * 1000)}

    def open_orders(self, body: dict[str, Any]) -> Any:
        keys = ("coin", "side", "limitPx", "sz", "oid", "timestamp", "origSz", "cloid", "reduceOnly")
        return [{k: r[k] for k in keys} for r in self.account.orders.values() if r["status"] == "open"]

    def frontend_open_orders(self, body: dict[str, Any]) -> Any:
        """The open orders with their trigger fields (orderType, isTrigger, triggerPx, triggerCondition)."""
        return [{k: v for k, v in r.items() if k != "status"} for r in self.account.orders.values()
                if r["status"] == "open"]

    def order_status(self, body: dict[str, Any]) -> Any:
        oid = body.get("oid")
        acct = self.account
        if isinstance(oid, str) and oid.startswith("0x"):
            oid = acct.by_cloid.get(oid)
        rec = acct.orders.get(oid) if oid is not None else None
        if rec is None:
            return {"status": "unknownOid"}
        inner = {k: v for k, v in rec.items() if k != "status"}
        return {"status": "order", "order": {"order": inner, "status": rec["status"],
                                             "statusTimestamp": rec["timestamp"]}}

    def user_fills(self, body: dict[str, Any]) -> Any:
        return list(self.account.fills)
