"""Brokers: where orders go. ``PaperBroker`` (the default: the backtest's fills, fees and slippage
against the feed) and ``CcxtBroker`` (a real exchange through ccxt, Hyperliquid first).

Both answer the same questions (:class:`Broker`): submit an order under a client order id, find an
order by that id, the account (equity and positions), what a new closed bar did (fills, stops).
"""

from __future__ import annotations

from typing import Protocol

from gaorg.live.types import Account, Bar, Fill, Order, OrderResult


class Broker(Protocol):
    name: str

    def submit(self, order: Order) -> OrderResult: ...

    def find(self, cloid: str) -> OrderResult: ...

    def on_bar(self, symbol: str, bar: Bar) -> list[Fill]: ...

    def account(self, symbol: str, mark: float) -> Account: ...

    def open_orders(self) -> list[OrderResult]: ...

    def snapshot(self) -> dict: ...

    def restore(self, snap: dict | None) -> None: ...

    def close(self) -> None: ...
