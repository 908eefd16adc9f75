"""The runner: follows ``NAME@alias`` and hands that strategy to the executor, bar after bar.

It resolves the alias through a :class:`~gaorg.live.registry.RegistryReader`, reconciles the live
state with the broker, then feeds closed bars to the executor. Every ``registry_poll_seconds`` it asks
the registry again; when the alias has moved (``gaorg promote``, rollback, or by hand in the MLflow
UI), the executor switches at the next bar boundary by ``switch_policy``: ``flatten`` (close the
position, the new strategy starts flat) or ``handover`` (the new strategy takes over the position).
Each switch is logged, stored (``versions``) and counted (``gaorg_live_strategy_switches``).
A config of several symbols runs one executor per symbol (:mod:`gaorg.live.portfolio`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gaorg.config import Settings
from gaorg.errors import GaorgError
from gaorg.live.config import LiveConfig
from gaorg.live.executor import Executor, StepReport
from gaorg.live.narrate import Tally, default_start, iso
from gaorg.live.redact import scrub, secrets_from_env, url_secrets
from gaorg.live.registry import RegistryReader, Resolved
from gaorg.live.summary import RunSummary, strategy_of

log = logging.getLogger("gaorg.live.runner")


class Runner:
    """One live run: registry -> executor <- feed, with optional metrics and operator API servers."""

    def __init__(self, config: LiveConfig, settings: Settings, registry: RegistryReader, broker: Any = None,
                 feed: Any = None, exchange: Any = None) -> None:
        self.config, self.settings, self.registry = config, settings, registry
        self._broker, self._feed, self._exchange = broker, feed, exchange
        self.stop_event = threading.Event()
        self.executor: Executor | None = None
        self.executors: dict[str, Executor] = {}  # every symbol's executor (one for a one-symbol run)
        self.portfolio: Any = None  # the shared risk view of a several-symbol run
        self.api_port: int | None = None  # the operator API's port while it is served
        self.metrics_port: int | None = None  # the metrics server's port while it is served
        self._servers: list[Any] = []
        self._last_poll = 0.0
        self.replay_start: str | None = None  # a replay's start when the config gives none (the hold-out's)
        self.replay_note = ""  # how the replay's start was chosen
        self.lock = threading.Lock()  # the operator API and the loop share the executor

    # -- parts ------------------------------------------------------------------------------------
    def part(self, config: LiveConfig, broker: Any = None, exchange: Any = None) -> Runner:
        """A runner of one symbol of this run (same settings and registry): a several-symbol run's piece."""
        return Runner(config, self.settings, self.registry, broker=broker, exchange=exchange)

    def exchange(self) -> Any:
        if self._exchange is None:
            from gaorg.live.brokers.ccxt_broker import exchange_from_env

            self._exchange = exchange_from_env(self.config)
        return self._exchange

    def broker(self) -> Any:
        if self._broker is None:
            c = self.config
            if c.broker == "paper":
                from gaorg.live.brokers.paper import PaperBroker

                self._broker = PaperBroker(c.costs.fee, c.costs.slippage, c.costs.init_cash)
            else:
                from gaorg.live.brokers.ccxt_broker import CcxtBroker

                self._broker = CcxtBroker(self.exchange(), c.symbol)
        return self._broker

    def feed(self, after_ts: int | None, warmup: int, store: Any = None, hub: Any = None) -> Any:
        """The feed of this run's symbol; a replay reads ``store`` (an open MarketStore) or opens the market
        store; an exchange feed watches on ``hub`` (a basket's shared websocket) or its own."""
        if self._feed is not None:
            return self._feed
        c = self.config
        if c.feed == "replay":
            from gaorg.data.store import MarketStore
            from gaorg.live.feed import ReplayFeed

            start = c.start if c.start is not None else self.replay_start
            if store is not None:
                return ReplayFeed.from_store(store, c.exchange, c.symbol, c.timeframe, start, c.end, after_ts,
                                             warmup, c.replay_speed)
            if not self.settings.market_db.exists():
                from gaorg.errors import NotFoundError

                raise NotFoundError(f"no market store at {self.settings.market_db}; add bars first "
                                    "(gaorg data synth / import / fetch)")
            with MarketStore(self.settings.market_db, read_only=True) as store:
                return ReplayFeed.from_store(store, c.exchange, c.symbol, c.timeframe, start, c.end,
                                             after_ts, warmup, c.replay_speed)
        from gaorg.live.feed import ExchangeFeed

        return ExchangeFeed(self.exchange(), c.symbol, c.timeframe, after_ts, c.poll_seconds, c.stale_bars,
                            history=warmup, transport=c.feed_transport, hub=hub)

    # -- the loop ---------------------------------------------------------------------------------
    def poll_registry(self, force: bool = False) -> None:
        """Ask the registry where the alias points; queue a switch when it moved (errors are logged, not fatal)."""
        ex = self.executor
        now = time.monotonic()
        if ex is None or (not force and now - self._last_poll < self.config.registry_poll_seconds):
            return
        executors = list(self.executors.values()) or [ex]
        self._last_poll = now
        try:
            res = self.registry.resolve(self.config.model, self.config.alias)
        except GaorgError as exc:
            log.warning("registry poll failed, keeping version %s: %s", ex.strategy.version, exc)
            if ex.metrics is not None:
                ex.metrics.errors.labels("registry").inc()
            return
        for one in executors:  # every symbol switches at its next bar, under the same policy
            current = one.pending_switch[0] if one.pending_switch else one.strategy
            if res.version != current.version or res.genome.canonical_hash() != current.genome_hash:
                log.info("alias %s@%s moved: v%s -> v%s (%s)", self.config.model, self.config.alias, current.version,
                         res.version, one.symbol)
                one.request_switch(strategy_of(res), self.config.switch_policy)

    def run(self, on_step: Callable[[Runner, StepReport], None] | None = None, metrics: Any = None) -> RunSummary:
        """Run until the feed ends, ``max_bars`` is reached or :meth:`stop` is called.

        Before anything is read or written: the exchange keys' shape is checked and the servers asked
        for are listening (else ConfigError, exit 2). Errors leave with URL credentials and secrets masked.
        """
        secrets = [*secrets_from_env(), *url_secrets(self.config.api_url)]
        try:
            self._check_credentials()
            self._serve(metrics)
            try:
                if self.config.multi:
                    from gaorg.live.portfolio import run_book

                    return run_book(self, on_step, metrics)
                return self._run_one(on_step, metrics)
            finally:
                self.stop_servers()
        except GaorgError as exc:
            scrub(exc, secrets)
            raise

    def _check_credentials(self) -> None:
        """The exchange broker's keys are there and well formed (unless a client was handed in)."""
        if self.config.broker == "exchange" and self._exchange is None and self._broker is None:
            from gaorg.live.brokers.ccxt_broker import credentials_from_env

            credentials_from_env()

    def _run_one(self, on_step: Callable[[Runner, StepReport], None] | None, metrics: Any) -> RunSummary:
        from gaorg.live.state import LiveState

        c = self.config
        if c.feed == "replay" and self._feed is None:  # a series not stored is refused before any live state
            from gaorg.live.portfolio import check_store

            check_store(self.settings, c)
        res = self.registry.resolve(c.model, c.alias)
        strategy = strategy_of(res)
        if c.feed == "replay" and self._feed is None:
            self._choose_start(res)
        broker = self.broker()  # the exchange's markets load before any live state is opened
        try:
            self.settings.ensure_home()
            state = LiveState(self.settings.live_db, c.state_key)
        except BaseException:
            broker.close()
            raise
        summary = RunSummary(res.name, res.version, broker.name, metrics_port=self.metrics_port,
                             api_port=self.api_port)
        feed: Any = None
        try:
            kill = c.kill_file or str(self.settings.home / "KILL")
            ex = Executor(c, state, broker, strategy, metrics=metrics, kill_file=kill)
            self.executor = ex
            self.executors = {ex.symbol: ex}
            summary.reconciled = ex.reconcile()
            before = state.last_equity()
            summary.start_equity = before[0] if before else (c.costs.init_cash if c.broker == "paper" else None)
            if ex.last_ts is not None:
                self.replay_note += f"; this live state goes on after its last bar {iso(ex.last_ts)}"
            tally = Tally(lookback=strategy.lookback)
            if c.max_bars is not None and ex.bars_done >= c.max_bars:
                summary.stopped = (f"max_bars {c.max_bars} already reached in this live state ({ex.bars_done} bars): "
                                   f"--max-bars counts across restarts; give more than {ex.bars_done} to go on")
                return self._finish(summary, ex, 0, tally, state)
            feed = self.feed(ex.last_ts, ex.window.size)
            history = feed.history if c.feed == "replay" or self._feed is not None else feed.load_history()
            ex.warm(history)
            self._last_poll = time.monotonic()
            done = 0
            for bar, stale in feed:
                if self.stop_event.is_set():
                    summary.stopped = "stopped"
                    break
                self.poll_registry()
                with self.lock:
                    switch = ex.pending_switch
                    report = ex.step(bar, stale)
                if report is None:
                    continue
                done += 1
                tally.add(report, len(ex.window))
                if switch is not None:
                    summary.switches.append({"ts": bar.ts, "version": switch[0].version, "policy": switch[1]})
                summary.orders += report.order is not None
                summary.refused += report.refused is not None
                summary.failed += report.failed is not None
                if on_step is not None:
                    on_step(self, report)
                if c.max_bars is not None and ex.bars_done >= c.max_bars:
                    summary.stopped = f"max_bars {c.max_bars} reached"
                    break
            return self._finish(summary, ex, done, tally, state)
        finally:
            self.stop_servers()  # before the state closes: no operator call reaches a closed state
            if feed is not None and feed is not self._feed:  # a websocket feed's thread and client
                getattr(feed, "close", lambda: None)()
            state.close()
            broker.close()

    def _serve(self, metrics: Any) -> None:
        """Start the metrics and operator API servers asked for; all or none (ConfigError when a port fails)."""
        try:
            if metrics is not None and self.config.metrics_port is not None:
                self.metrics_port = metrics.serve(self.config.metrics_port)
                self._servers.append(metrics)
            if self.config.api_port is not None:
                from gaorg.monitor.api import OperatorServer

                api = OperatorServer(self, port=self.config.api_port)
                self.api_port = api.start()
                self._servers.append(api)
        except BaseException:
            self.stop_servers()
            raise

    def stop_servers(self) -> None:
        """Stop the metrics and operator API servers (again: nothing)."""
        while self._servers:
            self._servers.pop().stop()

    def _choose_start(self, res: Resolved) -> None:
        """A replay's first bar: --start, else the version's hold-out start on this symbol (see narrate)."""
        c = self.config
        if c.start is not None:
            self.replay_note = f"from --start {c.start}"
            return
        self.replay_start, self.replay_note = default_start(res, c.symbol, c.exchange, self.settings)

    def _finish(self, summary: RunSummary, ex: Executor, done: int, tally: Tally | None = None,
                state: Any = None) -> RunSummary:
        if tally is not None:
            summary.first_ts = tally.first_ts
            if self.config.feed == "replay":
                summary.replay = {"from": iso(tally.first_ts), "to": iso(ex.last_ts if done else None), "bars": done,
                                  "first_ts": tally.first_ts, "start": self.replay_note}
            if state is not None and tally.first_ts is not None:
                fills = [f for f in state.fills() if f["ts"] >= tally.first_ts and f["kind"] != "funding"]
                summary.fills, summary.first_fills = len(fills), fills[:3]
            if summary.orders == 0:
                summary.idle = (tally.why_flat(ex.units) if done else
                                f"nothing replayed: {summary.stopped}" if "already" in summary.stopped else
                                "no bar after the last one this live state processed")
        summary.bars, summary.total_bars = done, ex.bars_done
        summary.version = ex.strategy.version
        summary.equity, summary.units = ex.equity, ex.units
        summary.risk_state, summary.last_ts = ex.risk.state.value, ex.last_ts
        summary.symbols = {ex.symbol: {"bars": done, "total_bars": ex.bars_done, "orders": summary.orders,
                                       "refused": summary.refused, "failed": summary.failed, "equity": summary.to_dict()["equity"],
                                       "units": ex.units, "risk_state": summary.risk_state, "last_ts": ex.last_ts,
                                       "weight": 1.0}}
        return summary

    # -- the operator API's view ------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Totals and every symbol's state (one symbol: its executor's status, listed under ``symbols`` too)."""
        if self.portfolio is not None:
            return self.portfolio.status()
        ex = self.executor
        if ex is None:
            return {}
        one = ex.status()
        return {**one, "symbols": [one]}

    def halt(self, reason: str = "operator") -> bool:
        """An operator's halt of every symbol (the caller holds ``lock``)."""
        if self.portfolio is not None:
            return self.portfolio.halt(reason)
        return self.executor.halt(reason) if self.executor is not None else False

    def resume(self) -> bool:
        if self.portfolio is not None:
            return self.portfolio.resume()
        return self.executor.resume() if self.executor is not None else False

    def stop(self) -> None:
        self.stop_event.set()
