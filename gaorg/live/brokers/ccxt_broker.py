"""The exchange broker: orders through ccxt (Hyperliquid first), keys from the environment only.

Every order carries a client order id (Hyperliquid's cloid, ``0x`` + 32 hex) derived from the intent,
so a retried submission can never double an order: after a transient fault (timeout, HTTP 429/5xx,
a lost reply) the broker first asks the exchange for that cloid and adopts the order if it arrived;
only an order the exchange never saw is sent again (bounded retries with backoff). ccxt errors are
translated once, by :func:`gaorg.data.exchange.translate_error`. Builder-fee approval and referrer
are off (:func:`gaorg.data.exchange.make_exchange`).

Keys: ``GAORG_HYPERLIQUID_WALLET`` and ``GAORG_HYPERLIQUID_PRIVATE_KEY`` (never in a config file, a log,
an error message or MLflow). The strategy's stop-loss and take-profit levels (fixed at the entry fill,
as in the backtest) are placed on the exchange as reduce-only trigger orders after each entry or resize
(:mod:`gaorg.live.brokers.triggers`), so they fill inside the bar at the level and protect the position
while the process is down; with ``exchange_stops`` off (``LiveConfig.exchange_stops``) they are only
watched on each closed bar and a touched level is closed by a reduce-only market order at the close.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from gaorg.data.exchange import RetryPolicy, call, translate_error
from gaorg.errors import ConfigError, PermanentExchangeError, TransientExchangeError
from gaorg.live.types import Account, Bar, Fill, Order, OrderResult, client_order_id

log = logging.getLogger("gaorg.live.broker")
WALLET_ENV = "GAORG_HYPERLIQUID_WALLET"
KEY_ENV = "GAORG_HYPERLIQUID_PRIVATE_KEY"
LIVE_RETRY = RetryPolicy(attempts=4, base_delay=0.2, max_delay=2.0)


def credentials_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """ccxt credentials from the environment, their shape checked before anything is sent: ConfigError
    naming the variable and what is wrong with it (never its value, nor any part of it)."""
    env = os.environ if env is None else env
    wallet, key = env.get(WALLET_ENV, ""), env.get(KEY_ENV, "")
    if not wallet or not key:
        raise ConfigError(f"the exchange broker needs {WALLET_ENV} and {KEY_ENV} in the environment "
                          "(keys are never read from files or flags); or use --paper")
    _check_hex(WALLET_ENV, wallet, 40, "an account address")
    _check_hex(KEY_ENV, key, 64, "a private key")
    return {"walletAddress": wallet, "privateKey": key}


def _check_hex(name: str, value: str, digits: int, what: str) -> None:
    """``value`` is ``0x`` and ``digits`` hex digits; else ConfigError that says why without quoting it."""
    if re.fullmatch(f"0x[0-9a-fA-F]{{{digits}}}", value):
        return
    body = value[2:] if value.startswith("0x") else value
    if any(c.isspace() for c in value):
        why = "has whitespace in it (a stray newline or space?)"
    elif not value.startswith("0x"):
        why = "does not start with 0x"
    elif not re.fullmatch("[0-9a-fA-F]*", body):
        why = "has a character that is not a hex digit"
    else:
        why = f"has {len(body)} hex digits after 0x, not {digits}"
    raise ConfigError(f"{name} is not {what} (0x followed by {digits} hex digits): it {why}. The value is not "
                      "shown; set it again, or use --paper. Nothing was sent")


def exchange_from_env(config: Any) -> Any:
    """A safely configured ccxt exchange for ``config.venue`` with keys from the environment."""
    from gaorg.data.exchange import make_exchange

    creds = credentials_from_env() if config.broker == "exchange" else None
    return make_exchange(config.venue, testnet=config.testnet, credentials=creds, api_url=config.api_url,
                         timeout_ms=10_000, rate_limit_ms=config.rate_limit_ms)


class CcxtBroker:
    """Market (IOC) orders on one ccxt exchange account; the exchange is the source of truth."""

    def __init__(self, exchange: Any, symbol: str, retry: RetryPolicy = LIVE_RETRY,
                 sleep: Callable[[float], None] = time.sleep, exchange_stops: bool = True) -> None:
        from gaorg.live.brokers.account import view_of
        from gaorg.live.brokers.triggers import Triggers

        self.ex, self.symbol, self.retry, self.sleep = exchange, symbol, retry, sleep
        self.name = str(getattr(exchange, "id", "exchange"))
        call(exchange.load_markets, retry=retry, where=f"{self.name} load_markets", sleep=sleep)
        market = exchange.market(symbol)
        self.coin = market.get("baseName") or market.get("base") or symbol.split("/")[0]
        self.user = getattr(exchange, "walletAddress", None)
        self.view = view_of(exchange, self.user, retry, sleep)  # the account's reads, shared by its brokers
        self.view.changed()  # a new run reads the account afresh (a client may outlive a run)
        self.levels: tuple[float, float] = (math.nan, math.nan)  # stop, take of the open position
        self.exchange_stops = exchange_stops  # the levels as trigger orders on the exchange (else bar-close checks)
        self.triggers = Triggers(self)
        self.exits: dict[str, str] = {}  # cloid -> stop|take of the bar-close exits this broker sent itself
        self.done: dict[str, OrderResult] = {}  # the last orders found done with fills (final: see find)

    # -- orders -----------------------------------------------------------------------------------
    def submit(self, order: Order) -> OrderResult:
        """Send ``order`` once; after a transient fault find it by cloid before any resend. In a basket on
        one account (``view.defer_fills``) a filled order's fills are read later, once for every order of
        the bar-close (:meth:`AccountView.read_fills`): its result is then ``pending`` and its levels and
        triggers wait for that read."""
        return self._submit(order, self.view.defer_fills)

    def _submit(self, order: Order, defer: bool) -> OrderResult:
        amount = abs(order.units)
        try:
            amount = float(self.ex.amount_to_precision(self.symbol, amount))
        except Exception as exc:  # noqa: BLE001 - ccxt refuses amounts below the precision
            return OrderResult(order.cloid, "rejected", error=str(translate_error(exc, "amount")))
        if amount <= 0:
            return OrderResult(order.cloid, "rejected", error="size below the exchange's precision")
        params = {"clientOrderId": order.cloid, "reduceOnly": bool(order.reduce_only)}
        resp, found = self.create(order.cloid, "market", order.side, amount, order.price, params)
        result = found if found is not None else self._result(order, resp, amount, read=not defer)
        if result.pending:
            self.view.await_fills(self, order, result, amount)
            return result
        self.protect(order, result)
        return result

    def protect(self, order: Order, result: OrderResult) -> None:
        """``order`` is done with ``result`` (its fills read): the levels of the position it left, and
        its protective triggers on the exchange."""
        self._set_levels(order, result)
        if self.exchange_stops and result.status in ("filled", "partial"):
            self.triggers.after_fill(order, result)

    def fills_read(self, pending: OrderResult, amount: float, rows: list[dict]) -> OrderResult:
        """A ``pending`` result completed from the account's fills ``rows`` (one read for the bar-close),
        as :meth:`submit` would have completed it by its own read."""
        return self._filled(pending.cloid, pending.exchange_id, pending.filled, amount, rows=rows)

    def create(self, cloid: str, kind: str, side: str, amount: float, price: float, params: dict
               ) -> tuple[dict | None, OrderResult | None]:
        """``create_order`` once; after a transient fault the order is looked up by cloid before any
        resend. ``(response, None)``, or ``(None, the exchange's record)`` when it was found or refused."""
        last: Exception | None = None
        for attempt in range(self.retry.attempts):
            if attempt:
                found = self.find(cloid)
                if found.status != "unknown":
                    log.info("order %s found by cloid after a lost reply: %s", cloid, found.status)
                    return None, found
            try:
                return self.ex.create_order(self.symbol, kind, side, amount, price, params), None
            except Exception as exc:  # noqa: BLE001 - translated once, below
                error = translate_error(exc, f"{self.name} create_order")
                if isinstance(error, PermanentExchangeError):
                    if "duplicate" in str(error).lower():  # the exchange has this cloid: report that order
                        found = self.find(cloid)
                        if found.status != "unknown":
                            return None, found
                    return None, OrderResult(cloid, "rejected", error=str(error))
                if not isinstance(error, TransientExchangeError):
                    raise error from exc
                last = error
                wait = self.retry.delay(attempt, error)
                log.warning("order %s: %s; looking it up by cloid in %.2fs", cloid, error, wait)
                self.sleep(wait)
            finally:
                self.view.changed(self.coin)  # sent (or maybe sent): this coin is read again
        found = self.find(cloid)
        if found.status != "unknown":
            return None, found
        raise TransientExchangeError(f"order {cloid} not placed after {self.retry.attempts} attempts: {last}")

    def _result(self, order: Order, resp: dict, amount: float, read: bool = True) -> OrderResult:
        status = resp.get("status")
        info = resp.get("info") or {}
        if status == "rejected" or "error" in info:
            return OrderResult(order.cloid, "rejected", error=str(info.get("error", "rejected"))[:300])
        filled = float(resp.get("filled") or 0.0)
        oid = str(resp.get("id")) if resp.get("id") is not None else None
        if filled <= 0:
            return OrderResult(order.cloid, "open" if status == "open" else "cancelled", oid)
        signed = filled if order.units > 0 else -filled
        if not read:  # its fills come with the bar-close's one read
            return OrderResult(order.cloid, _done(signed, amount), oid, signed, pending=True)
        return self._filled(order.cloid, oid, signed, amount)

    def _filled(self, cloid: str, oid: str | None, signed: float, amount: float, kind: str = "",
                rows: list[dict] | None = None) -> OrderResult:
        fills = self._fills_of(cloid, oid, kind or self.exits.get(cloid, "order"), rows)
        fee = sum(f.fee for f in fills)
        avg = (sum(abs(f.units) * f.price for f in fills) / sum(abs(f.units) for f in fills)) if fills else 0.0
        return OrderResult(cloid, _done(signed, amount), oid, signed, avg, fee, fills=tuple(fills))

    def find(self, cloid: str) -> OrderResult:
        """The exchange's record of ``cloid`` (``unknown`` if it never arrived). An order done with all its
        fills read (filled, or filled in part and closed) is final: asked again (a fired trigger, found by
        the bar's check, then stored by the executor) it is answered from memory, not by two more reads."""
        done = self.done.get(cloid)
        if done is not None:
            return done
        found = self._find(cloid)
        units = sum(f.units for f in found.fills)
        if found.status in ("filled", "partial") and abs(units - found.filled) <= 1e-9 * abs(found.filled):
            # not open (nothing more can fill) and every fill of it read: final
            self.done = {**dict(list(self.done.items())[-63:]), cloid: found}
        return found

    def _find(self, cloid: str) -> OrderResult:
        import ccxt

        def status() -> Any:
            try:
                return self.ex.publicPostInfo({"type": "orderStatus", "user": self.user, "oid": cloid})
            except ccxt.OrderNotFound:
                return {"status": "unknownOid"}

        resp = call(status, retry=self.retry, where=f"{self.name} orderStatus", sleep=self.sleep)
        if not isinstance(resp, dict) or resp.get("status") != "order":
            return OrderResult(cloid, "unknown")
        rec = resp["order"]["order"]
        state = resp["order"].get("status", "")
        orig, left = float(rec.get("origSz", 0)), float(rec.get("sz", 0))
        filled = orig - left
        sign = 1.0 if rec.get("side") == "B" else -1.0
        oid = str(rec.get("oid"))
        if state == "open":
            return OrderResult(cloid, "open", oid, sign * filled)
        if state.endswith("ejected"):
            return OrderResult(cloid, "rejected", oid, error=state)
        if filled > 0:
            order_type = str(rec.get("orderType", ""))  # a trigger's fill is an exit of its kind
            kind = "take" if order_type.startswith("Take Profit") else "stop" if order_type.startswith("Stop") else ""
            return self._filled(cloid, oid, sign * filled, orig, kind)
        return OrderResult(cloid, "cancelled", oid)

    def _fills_of(self, cloid: str, oid: str | None, kind: str = "order", rows: list[dict] | None = None
                  ) -> list[Fill]:
        """The fills of ``cloid`` (or its ``oid``) among the account's ``userFills`` (read here unless
        ``rows`` holds a read already made)."""
        if rows is None:
            rows = self.view.user_fills()
        out = []
        for r in rows or []:
            if r.get("cloid") == cloid or (oid is not None and str(r.get("oid")) == oid):
                sign = 1.0 if r.get("side") == "B" else -1.0
                out.append(Fill(f"{self.name}-{r.get('tid')}", cloid, int(r.get("time", 0)),
                                sign * float(r["sz"]), float(r["px"]), float(r.get("fee", 0.0)), kind))
        return out

    def open_orders(self) -> list[OrderResult]:
        rows = call(self.ex.publicPostInfo, {"type": "openOrders", "user": self.user}, retry=self.retry,
                    where=f"{self.name} openOrders", sleep=self.sleep)
        return [OrderResult(r.get("cloid") or "", "open", str(r.get("oid"))) for r in rows or []]

    # -- account ----------------------------------------------------------------------------------
    def account(self, symbol: str, mark: float) -> Account:
        """The account's equity and this symbol's position (one read serves the symbols of a bar-close)."""
        resp = self.view.state(self.coin)
        equity = float(resp["marginSummary"]["accountValue"])
        positions = {}
        for p in resp.get("assetPositions", []):
            pos = p.get("position", {})
            if pos.get("coin") == self.coin:
                positions[self.symbol] = float(pos.get("szi", 0.0))
        return Account(equity, positions)

    def _set_levels(self, order: Order, result: OrderResult) -> None:
        if result.status not in ("filled", "partial"):
            return
        if order.target == 0.0 or order.reduce_only:
            self.levels = (math.nan, math.nan)
            return
        side = 1.0 if order.target > 0 else -1.0
        px = result.avg_price or order.price
        self.levels = (px * (1.0 - side * order.stop), px * (1.0 + side * order.take))  # NaN stays NaN: none

    def on_bar(self, symbol: str, bar: Bar) -> list[Fill]:
        """What the bar did to the position: a trigger that filled on the exchange (its sibling is then
        cancelled), or, without exchange stops, a reduce-only market exit if the bar touched a level."""
        self.view.on_bar(bar.ts)
        if self.exchange_stops:
            return self.triggers.check(symbol, bar)
        return self.close_if_touched(symbol, bar, *self.levels)

    def close_if_touched(self, symbol: str, bar: Bar, stop: float, take: float) -> list[Fill]:
        """Close the position with a reduce-only market order if the bar touched its stop or take level."""
        if math.isnan(stop) and math.isnan(take):
            return []
        units = self.account(symbol, bar.close).units(symbol)
        if units == 0.0:
            self.levels = (math.nan, math.nan)
            return []
        if units > 0:
            kind = "stop" if bar.low <= stop else "take" if bar.high >= take else ""
        else:
            kind = "stop" if bar.high >= stop else "take" if bar.low <= take else ""
        if not kind:
            return []
        cloid = client_order_id(f"{self.name}|{self.user}|{symbol}", bar.ts, kind)
        exit_order = Order(cloid, symbol, bar.ts, 0.0, -units, bar.close, reduce_only=True, reason=kind)
        self.exits = {**dict(list(self.exits.items())[-31:]), cloid: kind}
        result = self._submit(exit_order, defer=False)  # its fills are this bar's report: read now
        log.info("%s level touched at bar %s: closing %s units (%s)", kind, bar.ts, units, result.status)
        self.levels = (math.nan, math.nan)
        return [Fill(f.fill_id, cloid, f.ts, f.units, f.price, f.fee, kind) for f in result.fills]

    # -- restart ----------------------------------------------------------------------------------
    def reconcile(self) -> None:
        """At start, after the executor resolved its orders: adopt the triggers still open on the
        exchange, place those of the position that never arrived, cancel those of a position gone."""
        self.triggers.reconcile()

    def settle(self, order: Order) -> None:
        """``order`` was found done after a restart (not sent again): make sure its triggers are placed."""
        if self.exchange_stops:
            self.triggers.settle(order)

    def snapshot(self) -> dict | None:
        """The stop/take levels and the triggers' cloids: positions and orders are the exchange's."""
        return {"levels": [None if math.isnan(x) else x for x in self.levels], "triggers": self.triggers.snapshot()}

    def restore(self, snap: dict | None) -> None:
        if snap and "levels" in snap:
            self.levels = tuple(math.nan if x is None else float(x) for x in snap["levels"])  # type: ignore[assignment]
        self.triggers.restore((snap or {}).get("triggers"))

    def close(self) -> None:
        pass


def _done(signed: float, amount: float) -> str:
    """``filled`` if ``signed`` units cover the order's ``amount``, else ``partial`` (an IOC's rest is cancelled)."""
    return "filled" if abs(signed) >= amount * (1 - 1e-9) else "partial"
