"""One exchange account's reads, shared by every broker that trades it (a basket on one account).

Hyperliquid answers the account's state (``clearinghouseState``: equity and every position) and its open
orders (``frontendOpenOrders``) for the whole account, and ccxt's rate limiter charges them as such
(2 and 10 times its 50 ms base). A basket of N symbols asking each once per symbol per bar-close spends
N times the budget on the same answer: 20 symbols with protective triggers waited ~12 s per bar-close
at ccxt's rate (bench_live.py --symbols 1,20). :class:`AccountView` keeps the last answer of each and
serves it to every broker of the account while it is current: within the same bar (timestamp), at
most ``max_age`` seconds old, and no action (order, cancel) sent since on the asking broker's coin.
A new bar, age, or an action on the coin fetches again, so a symbol never sizes on its own position
as it was before its last order; an action on another coin leaves its reads current (the account's
equity may then lag by that order's fee and slippage, a few hundredths of a percent of its notional).

The fills of a bar-close's orders are read once too (``defer_fills``, set by a basket's run): a filled
order's broker hands its pending result to :meth:`AccountView.await_fills`, and :meth:`read_fills` (the
portfolio calls it once the bar-close's orders are sent) reads ``userFills`` once, matches each order's
fills by cloid or oid as the broker's own read does, and has each broker protect the position it left.
A bar-close where 20 symbols entered read the fills 20 times (~0.5 s of ccxt's budget each).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

from gaorg.data.exchange import RetryPolicy, call
from gaorg.errors import GaorgError

log = logging.getLogger("gaorg.live.broker")

_VIEWS: weakref.WeakKeyDictionary[Any, AccountView] = weakref.WeakKeyDictionary()


class AccountView:
    """The cached account-wide reads of one ccxt client's account (see the module's docstring)."""

    def __init__(self, exchange: Any, user: str | None, retry: RetryPolicy, sleep: Callable[[float], None],
                 max_age: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ex, self.user, self.retry, self.sleep = exchange, user, retry, sleep
        self.max_age, self.clock = max_age, clock
        self.name = str(getattr(exchange, "id", "exchange"))
        self.bar_ts: int | None = None
        self._cache: dict[str, tuple[float, Any]] = {}  # read -> (when, answer)
        self._acted: dict[str, set[str]] = {}  # read -> coins acted on since that answer
        self.fetches = 0  # requests sent for the account's state and open orders (the cache's misses)
        self.defer_fills = False  # a basket's orders: their fills read once per bar-close (read_fills)
        self.awaiting: dict[str, tuple[Any, Any, Any, float]] = {}  # cloid -> (broker, order, result, amount)
        self.fill_reads = 0  # userFills requests sent

    def on_bar(self, ts: int) -> None:
        """A broker starts bar ``ts``: a new bar-close forgets what the last one read."""
        if ts != self.bar_ts:
            self.bar_ts = ts
            self._cache.clear()

    def changed(self, coin: str | None = None) -> None:
        """An action was sent on ``coin`` (order, cancel): that coin's next read asks the exchange
        (``None``: every coin's)."""
        if coin is None:
            self._cache.clear()
            return
        for acted in self._acted.values():
            acted.add(coin)

    def state(self, coin: str | None = None) -> dict[str, Any]:
        """``clearinghouseState``: equity (``marginSummary``) and every position (``assetPositions``),
        current for ``coin``."""
        return self._get("clearinghouseState", coin)

    def open_orders(self, coin: str | None = None) -> list[dict[str, Any]]:
        """``frontendOpenOrders``: every open order of the account with its trigger fields, current for ``coin``."""
        return self._get("frontendOpenOrders", coin) or []

    def user_fills(self) -> list[dict[str, Any]]:
        """``userFills``: the account's recent fills (Hyperliquid: the latest 2,000), read now."""
        rows = call(self.ex.publicPostInfo, {"type": "userFills", "user": self.user}, retry=self.retry,
                    where=f"{self.name} userFills", sleep=self.sleep)
        self.fill_reads += 1
        return rows or []

    def await_fills(self, broker: Any, order: Any, pending: Any, amount: float) -> None:
        """``order`` (sent by ``broker``, ``amount`` units) filled; its ``pending`` result is completed by
        :meth:`read_fills`."""
        self.awaiting[order.cloid] = (broker, order, pending, amount)

    def read_fills(self) -> dict[str, Any]:
        """Every awaiting order's result (cloid -> OrderResult) from one ``userFills`` read, then each
        broker's position protected (levels, triggers) in the order the orders were sent. A failed read
        raises and leaves every order awaiting (read again at the next call)."""
        if not self.awaiting:
            return {}
        rows = self.user_fills()
        done, self.awaiting = self.awaiting, {}
        out = {}
        for cloid, (broker, order, pending, amount) in done.items():
            out[cloid] = result = broker.fills_read(pending, amount, rows)
            try:
                broker.protect(order, result)
            except GaorgError as exc:  # an account read failed after its retries: the fills stay recorded
                log.error("order %s filled but its stop/take are not placed: %s", cloid, exc)
        return out

    def _get(self, kind: str, coin: str | None) -> Any:
        now = self.clock()
        hit = self._cache.get(kind)
        if hit is not None and now - hit[0] <= self.max_age and coin not in self._acted.get(kind, ()):
            return hit[1]
        got = call(self.ex.publicPostInfo, {"type": kind, "user": self.user}, retry=self.retry,
                   where=f"{self.name} {kind}", sleep=self.sleep)
        self.fetches += 1
        self._cache[kind] = (now, got)
        self._acted[kind] = set()
        return got


def view_of(exchange: Any, user: str | None, retry: RetryPolicy, sleep: Callable[[float], None]) -> AccountView:
    """The account view of ``exchange`` (one client, one account): made by its first broker, shared by the rest."""
    view = _VIEWS.get(exchange)
    if view is None or view.user != user:
        view = _VIEWS[exchange] = AccountView(exchange, user, retry, sleep)
    return view
