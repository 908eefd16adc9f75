"""The paper broker: fills exactly as the backtest engine does (DESIGN.md's contract).

An order decided at the close of bar i waits and fills at the open of the next bar, sized at the
fill (``units = equity * target / (fill * (1 + fee))``), the price moved by the slippage, the fee a
fraction of the traded notional. Stops and take-profits are checked inside each bar (a gap through a
level fills at the open), funding is paid at each close. The same steps, in the same order and with
the same floating-point operations, as :mod:`gaorg.backtest.kernel`, so a paper run over a replay
and ``simulate`` give the same fills, positions and equity (tests/integration/test_live_parity.py).
"""

from __future__ import annotations

import math
from collections import OrderedDict

from gaorg.live.types import Account, Bar, Fill, Order, OrderResult

NAN = float("nan")
KEEP_DONE = 256  # orders remembered for find() after they filled


class PaperBroker:
    """A simulated account in one quote currency; ``snapshot()``/``restore()`` carry it across restarts."""

    name = "paper"

    def __init__(self, fee: float = 0.00045, slippage: float = 0.0, init_cash: float = 10_000.0) -> None:
        self.fee, self.slippage = float(fee), float(slippage)
        self.cash = float(init_cash)
        self.units: dict[str, float] = {}
        self.levels: dict[str, tuple[float, float]] = {}  # symbol -> (stop level, take level)
        self.pending: dict[str, Order] = {}  # symbol -> the order waiting for the next open
        self.done: OrderedDict[str, OrderResult] = OrderedDict()
        self._marks: dict[str, float] = {}
        self._fill_seq = 0

    # -- orders -----------------------------------------------------------------------------------
    def submit(self, order: Order) -> OrderResult:
        """Accept ``order``; it fills at the next bar's open. A second order for a symbol replaces the first."""
        known = self.find(order.cloid)
        if known.status != "unknown":
            return known  # the same intent again: never twice
        self.pending[order.symbol] = order
        return OrderResult(order.cloid, "open", exchange_id=f"paper-{order.cloid[2:14]}")

    def find(self, cloid: str) -> OrderResult:
        for order in self.pending.values():
            if order.cloid == cloid:
                return OrderResult(cloid, "open", exchange_id=f"paper-{cloid[2:14]}")
        return self.done.get(cloid) or OrderResult(cloid, "unknown")

    def open_orders(self) -> list[OrderResult]:
        return [OrderResult(o.cloid, "open", exchange_id=f"paper-{o.cloid[2:14]}") for o in self.pending.values()]

    def account(self, symbol: str, mark: float) -> Account:
        self._marks[symbol] = mark
        equity = self.cash + sum(u * self._marks.get(s, mark) for s, u in self.units.items())
        return Account(equity, dict(self.units))

    # -- a closed bar -----------------------------------------------------------------------------
    def on_bar(self, symbol: str, bar: Bar) -> list[Fill]:
        """The bar's events in the kernel's order: the pending fill at the open, stops inside, funding."""
        fills: list[Fill] = []
        fee = self.fee
        buy_mult, sell_mult = 1.0 + self.slippage, 1.0 - self.slippage
        units = self.units.get(symbol, 0.0)
        stop_lvl, take_lvl = self.levels.get(symbol, (NAN, NAN))
        op = bar.open
        order = self.pending.pop(symbol, None)
        if order is not None:
            eq_open = self.cash + units * op + self._others(symbol)
            tgt = order.target
            base = eq_open * tgt / (1.0 + fee) if eq_open > 0.0 else 0.0
            want_buy = base / (op * buy_mult)
            want_sell = base / (op * sell_mult)
            new_units, fill = units, 0.0
            if want_buy > units:
                new_units, fill = want_buy, op * buy_mult
            elif want_sell < units:
                new_units, fill = want_sell, op * sell_mult
            filled, fee_paid = 0.0, 0.0
            if new_units != units:
                delta = new_units - units
                fee_paid = abs(delta) * fill * fee
                self.cash = self.cash - delta * fill - fee_paid
                units, filled = new_units, delta
                stop_lvl = take_lvl = NAN
                if units != 0.0:
                    side = 1.0 if units > 0.0 else -1.0
                    stop_lvl = fill * (1.0 - side * order.stop)  # NaN stays NaN: no stop
                    take_lvl = fill * (1.0 + side * order.take)
                fills.append(self._fill(symbol, order.cloid, bar.ts, delta, fill, fee_paid, "order"))
            status = "filled" if filled != 0.0 else "cancelled"
            self._remember(OrderResult(order.cloid, status, f"paper-{order.cloid[2:14]}", filled, fill, fee_paid,
                                       fills=tuple(fills)))
        if units != 0.0 and (stop_lvl == stop_lvl or take_lvl == take_lvl):
            px, kind = self._exit_price(units, op, bar, stop_lvl, take_lvl)
            if px == px:
                fill = px * (sell_mult if units > 0.0 else buy_mult)
                fee_paid = abs(units) * fill * fee
                self.cash = self.cash + units * fill - fee_paid
                fills.append(self._fill(symbol, None, bar.ts, -units, fill, fee_paid, kind))
                units = 0.0
                stop_lvl = take_lvl = NAN
        if units != 0.0:
            pay = units * bar.close * bar.funding
            self.cash -= pay  # funding moves cash, it is not a fill
        self.units[symbol] = units
        self.levels[symbol] = (stop_lvl, take_lvl)
        self._marks[symbol] = bar.close
        return fills

    @staticmethod
    def _exit_price(units: float, op: float, bar: Bar, stop_lvl: float, take_lvl: float) -> tuple[float, str]:
        if units > 0.0:
            if op <= stop_lvl:
                return op, "stop"
            if op >= take_lvl:
                return op, "take"
            if bar.low <= stop_lvl:
                return stop_lvl, "stop"
            if bar.high >= take_lvl:
                return take_lvl, "take"
        else:
            if op >= stop_lvl:
                return op, "stop"
            if op <= take_lvl:
                return op, "take"
            if bar.high >= stop_lvl:
                return stop_lvl, "stop"
            if bar.low <= take_lvl:
                return take_lvl, "take"
        return NAN, ""

    def _others(self, symbol: str) -> float:
        return sum(u * self._marks.get(s, 0.0) for s, u in self.units.items() if s != symbol)

    def _fill(self, symbol: str, cloid: str | None, ts: int, units: float, price: float, fee: float, kind: str
              ) -> Fill:
        """A fill with an id unique across symbols (one live.duckdb holds the fills of every symbol)."""
        self._fill_seq += 1
        return Fill(f"paper-{symbol}-{ts}-{self._fill_seq}", cloid, ts, units, price, fee, kind)

    def _remember(self, result: OrderResult) -> None:
        self.done[result.cloid] = result
        while len(self.done) > KEEP_DONE:
            self.done.popitem(last=False)

    # -- persistence ------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        return {
            "cash": self.cash,
            "units": dict(self.units),
            "levels": {s: [_num(a), _num(b)] for s, (a, b) in self.levels.items()},
            "pending": {s: _order_dict(o) for s, o in self.pending.items()},
            "done": {c: [r.status, r.exchange_id, r.filled, r.avg_price, r.fee] for c, r in list(self.done.items())[-32:]},
            "marks": dict(self._marks),
            "seq": self._fill_seq,
        }

    def restore(self, snap: dict | None) -> None:
        if not snap:
            return
        self.cash = float(snap["cash"])
        self.units = {s: float(u) for s, u in snap["units"].items()}
        self.levels = {s: (_unnum(a), _unnum(b)) for s, (a, b) in snap["levels"].items()}
        self.pending = {s: Order(**{**o, "stop": _unnum(o["stop"]), "take": _unnum(o["take"])})
                        for s, o in snap["pending"].items()}
        self.done = OrderedDict((c, OrderResult(c, *v)) for c, v in snap["done"].items())
        self._marks = {s: float(v) for s, v in snap.get("marks", {}).items()}
        self._fill_seq = int(snap.get("seq", 0))

    def close(self) -> None:
        pass


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


def _unnum(x: float | None) -> float:
    return NAN if x is None else float(x)


def _order_dict(o: Order) -> dict:
    return {"cloid": o.cloid, "symbol": o.symbol, "bar_ts": o.bar_ts, "target": o.target, "units": o.units,
            "price": o.price, "stop": _num(o.stop), "take": _num(o.take), "reduce_only": o.reduce_only,
            "reason": o.reason}
