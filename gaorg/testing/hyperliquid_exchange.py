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
        self.info_handlers.update({
            "clearinghouseState": self.clearinghouse_state,
            "openOrders": self.open_orders,
            "frontendOpenOrders": self.open_orders,
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
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": ["success"]}}}
        return {"status": "err", "response": f"stand-in: unsupported action {kind!r}"}

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
               "orderType": "Limit", "tif": "Ioc"}
        acct.orders[oid] = rec
        if cloid is not None:
            acct.by_cloid[cloid] = oid
        if fault == "reject":
            rec["status"] = "rejected"
            return {"error": f"Insufficient margin to place order. asset={asset}"}
        px = self.price(coin)
        if (is_buy and px > limit) or (not is_buy and px < limit) or size <= 0:
            rec["status"] = "canceled"
            return {"error": "Order could not immediately match against any resting orders."}
        filled = size / 2 if fault == "partial" else size
        signed = filled if is_buy else -filled
        fee = abs(signed) * px * self.fee
        acct.cash -= signed * px + fee
        old = acct.positions.get(coin, 0.0)
        acct.positions[coin] = old + signed
        acct.entry[coin] = px
        acct.fills.append({"coin": coin, "px": repr(px), "sz": repr(filled), "side": rec["side"], "time": now,
                           "oid": oid, "cloid": cloid, "fee": repr(fee), "tid": len(acct.fills) + 1,
                           "startPosition": repr(old), "dir": "Open Long" if is_buy else "Open Short",
                           "closedPnl": "0.0", "hash": "0x0", "crossed": True, "feeToken": "USDC"})
        rec["sz"] = repr(size - filled)
        rec["status"] = "filled" if fault != "partial" else "canceled"
        return {"filled": {"totalSz": repr(filled), "avgPx": repr(px), "oid": oid}}

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
        return [dict(r) for r in self.account.orders.values() if r["status"] == "open"]

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
