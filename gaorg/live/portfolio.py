"""Several symbols in one run: one executor per symbol, a shared risk view, feeds merged in time order.

A run of ``symbols: [A, B, ...]`` gives each symbol its own :class:`~gaorg.live.executor.Executor` and
live state (``config.for_symbol(s).state_key``: the one-symbol key plus the book's id), so restarts,
crash recovery and the order journal stay per symbol. Each symbol trades its share of the capital
(``weights``, equal by default): on paper, an account per symbol holding ``init_cash * weight`` (so
each symbol's fills and equity are those of ``gaorg backtest --init-cash init_cash*weight``); on an
exchange, the one account's equity times the weight sizes the symbol's orders.

:class:`Portfolio` is the shared view: every symbol's latest mark, the total equity (the sum of the
paper accounts, or the exchange account's equity) and the total exposure. Each executor's risk gate
checks its own position limit and, over every symbol, ``max_total_notional`` and ``max_leverage``;
the daily loss and drawdown limits are the portfolio's, measured on the total, and halt (then
flatten) every symbol. The kill switch, an operator's halt and resume, and an alias move act on all.

Feeds: a replay's series are merged by bar time (a heap, deterministic; the market store opened once);
live exchange feeds run in one thread each, their websocket subscriptions on one shared client
(:class:`~gaorg.live.feed_ws.CandleHub`), and their closed bars are processed as they arrive. The
symbols' live states share one connection and commit together (:class:`~gaorg.live.state.StateGroup`);
on one exchange account their brokers share the account's reads (:mod:`gaorg.live.brokers.account`),
the fills of a bar-close's orders included: :func:`settle` reads them once, when every symbol has
stepped the bar-close, a bar of a later one comes, or no bar has come for ``SETTLE_GRACE`` seconds.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from gaorg.errors import GaorgError, NotFoundError
from gaorg.live.config import LiveConfig, RiskLimits
from gaorg.live.executor import Executor, crash_point
from gaorg.live.risk import STATE_CODE, RiskGate, RiskState
from gaorg.live.summary import RunSummary, strategy_of
from gaorg.live.types import Bar

log = logging.getLogger("gaorg.live.portfolio")
NAN = float("nan")
SETTLE_GRACE = 0.05  # seconds without a bar after which a live bar-close's fills are read (the rest is late)
SHARED_FILL_READS = True  # False: each order reads its own fills, as before (the tests compare the two)


class Portfolio:
    """The book of a several-symbol run: marks per symbol, the total equity and its loss limits.

    ``shared``: the symbols trade one account (an exchange), whose equity every executor reports;
    otherwise each has its own (paper) account and the total is their sum.
    """

    def __init__(self, limits: RiskLimits, shared: bool, metrics: Any = None) -> None:
        self.gate = RiskGate(limits)  # only its daily loss and drawdown limits are used, on the total
        self.shared = shared
        self.metrics = metrics
        self.executors: dict[str, Executor] = {}
        self.equities: dict[str, float] = {}
        self.exposures: dict[str, float] = {}
        self.account_equity = NAN
        self.start_equity: float | None = None

    def add(self, ex: Executor, start_equity: float) -> None:
        """Take ``ex`` into the book with its last stored mark (or ``start_equity`` when it has none)."""
        self.executors[ex.symbol] = ex
        mark = ex.state.last_mark()
        equity, units, price = mark if mark else (start_equity, 0.0, 0.0)
        self.equities[ex.symbol] = equity
        self.exposures[ex.symbol] = units * price
        if mark and self.shared:
            self.account_equity = equity

    def restore(self) -> None:
        """The total's peak and day from the most recent progress any symbol saved."""
        saved = [(ex.last_ts, ex.saved["risk"].get("portfolio")) for ex in self.executors.values()
                 if ex.saved and ex.saved.get("risk")]
        saved = [(ts, snap) for ts, snap in saved if snap and ts is not None]
        if saved:
            self.gate.restore(max(saved, key=lambda x: x[0])[1])

    # -- the shared view ---------------------------------------------------------------------------
    def equity(self) -> float:
        if self.shared:
            return self.account_equity
        return sum(self.equities.values())

    def exposure(self) -> dict[str, float]:
        return dict(self.exposures)

    def mark(self, ex: Executor, ts: int, equity: float, notional: float) -> None:
        """A symbol's new mark; the total's daily loss or drawdown halts every symbol."""
        self.equities[ex.symbol] = equity
        self.exposures[ex.symbol] = notional
        self.account_equity = equity
        total = self.equity()
        if self.start_equity is None:
            self.start_equity = total
        t = self.gate.on_equity(ts, total, {})
        if t is not None and t.state is RiskState.HALTED:
            log.warning("total equity %.2f: %s; halting every symbol", total, t.reason)
            for other in self.executors.values():
                other.halt(f"total equity: {t.reason}", t.code, ts)

    def snapshot(self) -> dict:
        return self.gate.snapshot()

    # -- operator ----------------------------------------------------------------------------------
    def halt(self, reason: str) -> bool:
        return any([ex.halt(reason) for ex in self.executors.values()])

    def resume(self) -> bool:
        self.gate.resume()  # the total's peak and day restart from now
        return any([ex.resume() for ex in self.executors.values()])

    def risk_state(self) -> str:
        worst = max((ex.risk.state for ex in self.executors.values()), key=STATE_CODE.__getitem__)
        return worst.value

    def status(self) -> dict[str, Any]:
        """The operator API's view: totals and one entry per symbol."""
        each = [ex.status() for ex in self.executors.values()]
        first = each[0]
        return {"model": first["model"], "version": first["version"], "broker": first["broker"],
                "symbols": each, "risk_state": self.risk_state(),
                "halt_reason": next((e["halt_reason"] for e in each if e["halt_reason"]), ""),
                "equity": self.equity(), "bars": sum(e["bars"] for e in each),
                "last_ts": max((e["last_ts"] for e in each if e["last_ts"] is not None), default=None)}

    def sync_metrics(self) -> None:
        m = self.metrics
        if m is None:
            return
        total = self.equity()
        if total == total:
            m.equity.set(total)
            m.pnl.set(total - (self.start_equity if self.start_equity is not None else total))
        m.risk_state.set(STATE_CODE[RiskState(self.risk_state())])
        if not self.shared:
            for sym, eq in self.equities.items():
                m.symbol_equity.labels(sym).set(eq)


# -- feeds ---------------------------------------------------------------------------------------
def merge_by_time(feeds: dict[str, Any]) -> Iterator[tuple[str, Bar, bool]]:
    """Finite feeds merged by bar time (ties in the order of ``feeds``): ``(symbol, bar, stale)``."""
    order = {s: i for i, s in enumerate(feeds)}

    def tagged(sym: str, feed: Any) -> Iterator[tuple[int, int, str, Bar, bool]]:
        for bar, stale in feed:
            yield bar.ts, order[sym], sym, bar, stale

    for _, _, sym, bar, stale in heapq.merge(*(tagged(s, f) for s, f in feeds.items())):
        yield sym, bar, stale


def merge_as_they_come(feeds: dict[str, Any], stop: threading.Event, wait: float = 0.25,
                       arrived: dict[str, float] | None = None, idle: Callable[[], None] | None = None
                       ) -> Iterator[tuple[str, Bar, bool]]:
    """Endless (live) feeds, one thread each; bars in the order they arrive, each feed's in its own order.

    ``arrived``: filled with ``time.perf_counter()`` of the moment each yielded bar left its feed (by symbol).
    ``idle``: called when no bar has come for ``SETTLE_GRACE`` seconds (then every ``wait`` while none comes).
    """
    q: queue.Queue = queue.Queue(maxsize=10_000)
    done = threading.Event()

    def pump(sym: str, feed: Any) -> None:
        try:
            for bar, stale in feed:
                if done.is_set():
                    return
                q.put((sym, bar, stale, time.perf_counter()))
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, which raises it
            q.put((sym, exc, False, 0.0))
            return
        q.put((sym, None, False, 0.0))

    for sym, feed in feeds.items():
        threading.Thread(target=pump, args=(sym, feed), daemon=True, name=f"gaorg-feed-{sym}").start()
    ended = 0
    try:
        while ended < len(feeds) and not stop.is_set():
            try:
                sym, bar, stale, at = q.get(timeout=SETTLE_GRACE if idle is not None else wait)
            except queue.Empty:
                if idle is not None:
                    idle()
                try:
                    sym, bar, stale, at = q.get(timeout=wait)
                except queue.Empty:
                    continue
            if isinstance(bar, BaseException):
                raise bar
            if bar is None:
                ended += 1
                continue
            if arrived is not None:
                arrived[sym] = at
            yield sym, bar, stale
    finally:
        done.set()
        for feed in feeds.values():  # wakes a pump blocked in its feed; a websocket's thread and client end
            getattr(feed, "close", lambda: None)()


def check_store(settings: Any, config: LiveConfig) -> None:
    """Every symbol of a replay is in the market store (before any live state is touched)."""
    from gaorg.data.store import MarketStore

    if not settings.market_db.exists():
        raise NotFoundError(f"no market store at {settings.market_db}; add bars first "
                            "(gaorg data synth / import / fetch)")
    with MarketStore(settings.market_db, read_only=True) as store:
        for sym in config.symbols:
            exchange = store.resolve_exchange(sym, config.exchange, config.timeframe)
            if store.first_ts(exchange, sym, config.timeframe) is None:
                raise NotFoundError(store.unknown_series(exchange, sym, config.timeframe))


# -- the run -------------------------------------------------------------------------------------
def run_book(runner: Any, on_step: Callable[[Any, Any], None] | None = None, metrics: Any = None) -> Any:
    """:meth:`Runner.run` for several symbols (see the module's docstring)."""
    from gaorg.live.state import StateGroup

    c, settings = runner.config, runner.settings
    if c.feed == "replay" and runner._feed is None:
        check_store(settings, c)
    res = runner.registry.resolve(c.model, c.alias)
    settings.ensure_home()
    shared = c.broker == "exchange"
    book = Portfolio(c.limits, shared, metrics)
    runner.portfolio = book
    kill = c.kill_file or str(settings.home / "KILL")
    parts: dict[str, Any] = {}
    states: list[Any] = []
    brokers: list[Any] = []
    group: StateGroup | None = None  # the symbols' live states: one connection, one commit for all
    views: dict[int, Any] = {}  # the accounts whose fills are read once per bar-close
    summary = RunSummary(res.name, res.version, "", metrics_port=runner.metrics_port, api_port=runner.api_port)
    try:
        for sym in c.symbols:  # every broker (an exchange's markets loaded) before any live state is opened
            cfg = c.for_symbol(sym)
            injected = runner._broker.get(sym) if isinstance(runner._broker, dict) else None
            exchange = runner.exchange() if shared else None  # one account: one client for the orders
            part = parts[sym] = runner.part(cfg, broker=injected, exchange=exchange)
            if c.feed == "replay" and runner._feed is None:
                part._choose_start(res)  # --start, else the version's hold-out start on the symbol, as alone
            brokers.append(part.broker())
        if c.feed == "replay" and runner._feed is None:
            summary.replay = {"start": _start_note({sym: part.replay_note for sym, part in parts.items()})}
        group = StateGroup(settings.live_db)
        for sym, broker in zip(c.symbols, brokers, strict=True):
            cfg = c.for_symbol(sym)
            state = group.open(cfg.state_key)
            states.append(state)
            ex = Executor(cfg, state, broker, strategy_of(res), metrics=metrics, kill_file=kill, portfolio=book,
                          share=c.weight(sym) if shared else 1.0)
            book.add(ex, cfg.costs.init_cash)
        runner.executors = book.executors
        runner.executor = next(iter(book.executors.values()))
        summary.broker = brokers[0].name
        for sym, ex in book.executors.items():
            summary.reconciled += [{**r, "symbol": sym} for r in ex.reconcile()]
        book.restore()
        per = {s: {"bars": 0, "orders": 0, "refused": 0, "failed": 0} for s in c.symbols}
        if c.max_bars is not None and all(ex.bars_done >= c.max_bars for ex in book.executors.values()):
            done = min(ex.bars_done for ex in book.executors.values())
            summary.stopped = (f"max_bars {c.max_bars} already reached in this live state ({done} bars a symbol): "
                               f"--max-bars counts across restarts; give more than {done} to go on")
            return finish(summary, book, per, c)
        feeds = {}
        markets = [runner._exchange] if getattr(runner._exchange, "markets", None) else []
        hub = None  # the exchange feeds' one websocket client (built from the first feed's client)
        if c.feed == "exchange" and runner._feed is None and c.feed_transport != "poll":
            from gaorg.live.feed_ws import CandleHub, pro_exchange

            hub = CandleHub(lambda: _pro_or_none(pro_exchange, markets[0]))
        with contextlib.ExitStack() as stack:  # a replay's market store, opened once for the basket
            store = None
            if c.feed == "replay" and runner._feed is None:
                from gaorg.data.store import MarketStore

                store = stack.enter_context(MarketStore(settings.market_db, read_only=True))
            for sym, ex in book.executors.items():
                feed = _feed(runner, parts[sym], sym, ex, markets, store, hub)
                ex.warm(feed.history if c.feed == "replay" or runner._feed is not None else feed.load_history())
                feeds[sym] = feed
        runner._last_poll = time.monotonic()
        arrived: dict[str, float] = {}  # when each symbol's latest bar left its feed (a live feed's thread)
        views = {id(b.view): b.view for b in brokers if getattr(b, "view", None) is not None
                 } if shared and SHARED_FILL_READS else {}
        for view in views.values():  # the fills of a bar-close's orders: one read (settle)
            view.defer_fills = True

        def settled() -> None:
            with runner.lock:
                settle(book, list(views.values()))

        stream = merge_by_time(feeds) if c.feed == "replay" else merge_as_they_come(
            feeds, runner.stop_event, arrived=arrived, idle=settled if views else None)
        close_ts, close_at = None, 0.0  # a replay hands a bar-close over at once: when its first bar came out
        for sym, bar, stale in stream:
            if runner.stop_event.is_set():
                summary.stopped = "stopped"
                break
            if c.feed == "replay" and bar.ts != close_ts:
                close_ts, close_at = bar.ts, time.perf_counter()
            at = close_at if c.feed == "replay" else arrived.get(sym)
            ex = book.executors[sym]
            if c.max_bars is not None and ex.bars_done >= c.max_bars:
                continue
            runner.poll_registry()
            with runner.lock:
                if any(e.held_ts is not None and (e is ex or e.held_ts != bar.ts) for e in book.executors.values()):
                    settle(book, list(views.values()))  # a later bar-close begins: the last one's fills first
                switch = ex.pending_switch
                report = ex.step(bar, stale, arrived=at)
                if all(e.last_ts is not None and e.last_ts >= bar.ts for e in book.executors.values()):
                    settle(book, list(views.values()))  # every symbol stepped this bar-close
                book.sync_metrics()
            if report is None:
                continue
            per[sym]["bars"] += 1
            if summary.first_ts is None:  # bars come in time order: the run's first
                summary.first_ts = bar.ts
            if switch is not None:
                summary.switches.append({"ts": bar.ts, "version": switch[0].version, "policy": switch[1],
                                         "symbol": sym})
            per[sym]["orders"] += report.order is not None
            per[sym]["refused"] += report.refused is not None
            per[sym]["failed"] += report.failed is not None
            if on_step is not None:
                on_step(runner, report)
            if c.max_bars is not None and all(e.bars_done >= c.max_bars for e in book.executors.values()):
                summary.stopped = f"max_bars {c.max_bars} reached"
                break
        with runner.lock:
            settle(book, list(views.values()))
        return finish(summary, book, per, c)
    finally:
        for view in views.values():  # a client reused by a later run reads its fills as that run says
            view.defer_fills = False
        runner.stop_servers()  # before the states close: no operator call reaches a closed state
        for state in states:
            state.close()
        if group is not None:
            group.close()
        for broker in brokers:
            broker.close()


def settle(book: Portfolio, views: list[Any]) -> None:
    """The fills of the orders sent since the last call, read once per account (one ``userFills``), then
    each waiting symbol's results and bar stored (:meth:`Executor.settle`). A failed read is logged; its
    orders stay ``submitted`` and are read at the next call (or resolved by cloid at the next start)."""
    waiting = [ex for ex in book.executors.values() if ex.held_ts is not None or ex.awaiting]
    if not waiting:
        return
    results: dict[str, Any] = {}
    if any(ex.awaiting for ex in waiting):
        crash_point("before_fills")  # tests: the bar-close's orders sent, their fills not read
        for view in views:
            try:
                results.update(view.read_fills())
            except GaorgError as exc:
                log.error("the fills of the bar-close's orders were not read (%s); read again later", exc)
    for ex in waiting:
        ex.settle(results)


def _feed(runner: Any, part: Any, sym: str, ex: Executor, markets: list[Any], store: Any, hub: Any) -> Any:
    """``sym``'s feed. A replay reads the basket's one open ``store``. An exchange feed gets its own client
    (it polls in its own thread) with the markets ``markets[0]`` loaded (one ``load_markets`` for the
    basket, not one per symbol: ~2 s each at ccxt's rate) and watches on the basket's websocket ``hub``."""
    if isinstance(runner._feed, dict):
        return runner._feed[sym]
    if runner._feed is not None:
        raise ValueError("a run of several symbols takes injected feeds as a mapping of symbol to feed")
    if part.config.feed == "exchange":
        part = part.part(part.config)
        client = part.exchange()
        if markets and getattr(markets[0], "markets", None):
            client.set_markets_from_exchange(markets[0])
        elif not markets:
            markets.append(client)  # loads them with its first request (the history)
    return part.feed(ex.last_ts, ex.window.size, store, hub)


def _pro_or_none(pro_exchange: Callable[[Any], Any], client: Any) -> Any:
    """The websocket client for ``client``'s exchange, or None (logged) when there is none: the feeds poll."""
    try:
        return pro_exchange(client)
    except Exception as exc:  # noqa: BLE001 - no websocket client: poll instead
        log.warning("no websocket client for %s (%s); polling", getattr(client, "id", "?"), exc)
        return None


def finish(summary: Any, book: Portfolio, per: dict[str, dict[str, int]], config: LiveConfig) -> Any:
    """Totals and the per-symbol breakdown of a several-symbol run."""
    c0 = next(iter(book.executors.values()))
    for sym, ex in book.executors.items():
        summary.symbols[sym] = {**per[sym], "total_bars": ex.bars_done, "equity": _num(ex.equity),
                                "units": ex.units, "risk_state": ex.risk.state.value, "last_ts": ex.last_ts,
                                "weight": config.weight(sym)}
    summary.bars = sum(p["bars"] for p in per.values())
    summary.total_bars = sum(ex.bars_done for ex in book.executors.values())
    summary.orders = sum(p["orders"] for p in per.values())
    summary.refused = sum(p["refused"] for p in per.values())
    summary.failed = sum(p["failed"] for p in per.values())
    summary.version = c0.strategy.version
    summary.equity = book.equity()
    summary.units = NAN  # several markets: see symbols
    summary.risk_state = book.risk_state()
    done = [ex.last_ts for ex in book.executors.values() if ex.last_ts is not None]
    summary.last_ts = max(done) if done else None
    if summary.replay:  # which bars a replay covered, as a one-symbol run says it
        from gaorg.live.narrate import iso

        summary.replay.update({"from": iso(summary.first_ts), "to": iso(summary.last_ts if summary.bars else None),
                               "bars": summary.bars, "first_ts": summary.first_ts})
    return summary


def _start_note(notes: dict[str, str]) -> str:
    """How the symbols' replay starts were chosen: one note, or each note with the symbols it applies to."""
    groups: dict[str, list[str]] = {}
    for sym, note in notes.items():
        groups.setdefault(note, []).append(sym)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{', '.join(syms)}: {note}" for note, syms in groups.items())


def _num(x: float) -> float | None:
    return None if x != x else x
