"""The live executor: closed bar -> strategy target -> risk gate -> broker, with its state in DuckDB.

Per closed bar, in order: the broker reports what the bar did (the paper broker's next-open fill,
stops, funding); equity is marked and the risk gate updated (loss limits may HALT and flatten; the
kill switch file halts too); then, unless the bar is stale or follows a gap, the strategy's target
is computed on the trailing window and, if it differs from the last target acted on, an order goes
through the risk gate to the broker. The order cycle is written before and after each step (see
:mod:`gaorg.live.state`); ``reconcile()`` runs first on every start and asks the broker about every
order whose outcome is unknown, by client order id. ``GAORG_TEST_CRASH_AT`` (tests only) kills the
process with SIGKILL at a named point of the cycle: ``before_submit``, ``after_submit``, ``after_fill``
(and ``before_triggers``, in the exchange broker: an entry filled, its protective triggers not placed;
``before_fills``, in a basket on one account: the bar-close's orders sent, their one fill read not made).

Within a run of several symbols (:mod:`gaorg.live.portfolio`) each symbol has its executor; a shared
``portfolio`` view gives the risk gate every symbol's exposure and the total equity, and owns the
daily loss and drawdown limits; ``share`` is the symbol's part of the account equity used for sizing
(on one exchange account; a paper account per symbol already holds only its share).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from gaorg.errors import ExchangeError, GaorgError
from gaorg.live.config import LiveConfig
from gaorg.live.redact import redact
from gaorg.live.risk import STATE_CODE, RiskGate, RiskState
from gaorg.live.state import LiveState
from gaorg.live.strategy import BarWindow, Strategy
from gaorg.live.types import Bar, Order, OrderResult, client_order_id

log = logging.getLogger("gaorg.live")
CRASH_ENV = "GAORG_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """Tests only: SIGKILL this process when ``GAORG_TEST_CRASH_AT`` names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class StepReport:
    """What one bar did (for the runner, the CLI summary and the benchmark)."""

    ts: int
    equity: float
    units: float
    target: float | None
    order: str | None = None  # cloid of an order handed to the broker
    refused: str | None = None  # the risk gate's reason code
    failed: str | None = None  # the order was rejected by the exchange or lost in an exchange error (its kind)
    latency: float = 0.0  # seconds from the bar's arrival to the order handed over (or the decision)
    decision: float = 0.0  # seconds from the bar's arrival to the order built (before its intent is written)
    stale: bool = False  # the bar was stale or followed a gap: no decision
    started: float = 0.0  # time.perf_counter() when the step began (a basket's bar-close spans several steps)
    waited: float = 0.0  # seconds the bar waited for its step after it reached the runner (other symbols first)
    settled: float = 0.0  # time.perf_counter() when the bar's order result, fills and progress were stored


class Executor:
    """Runs one strategy on one market against one broker, resumable from its :class:`LiveState`."""

    def __init__(self, config: LiveConfig, state: LiveState, broker, strategy: Strategy, metrics=None,
                 kill_file: str | Path | None = None, wall_clock=time.time, portfolio=None,
                 share: float = 1.0) -> None:
        self.config = config
        self.symbol = config.symbol
        self.state = state
        self.broker = broker
        self.strategy = strategy
        self.metrics = metrics
        self.kill_file = Path(kill_file) if kill_file else None
        self.wall_clock = wall_clock
        self.portfolio = portfolio
        self.share = float(share)
        self.risk = RiskGate(config.limits, loss_limits=portfolio is None)
        self.saved: dict | None = None  # the progress found at start (the portfolio restores its part)
        if hasattr(broker, "exchange_stops"):  # the exchange broker: stops as trigger orders or bar-close checks
            broker.exchange_stops = config.exchange_stops
        self.fee = config.costs.fee
        size = max(config.window, strategy.lookback + 2)
        self.window = BarWindow(size, config.exchange, config.symbol, config.timeframe)
        prog = state.progress()
        self.last_ts: int | None = prog["last_ts"] if prog else None
        self.bars_done: int = prog["bars"] if prog else 0
        self.acted: float = prog["acted"] if prog else 0.0
        self.start_equity: float | None = None
        if prog:
            self.saved = prog
            self.risk.restore(prog["risk"])
            if prog["broker"] is not None:
                broker.restore(prog["broker"])
        self.pending_switch: tuple[Strategy, str] | None = None
        self.known: set[str] = state.cloids()  # client order ids this live state has already decided
        self.commit_seconds = 1.0  # quiet bars are committed together at most this often
        self._events = 0
        self.last_bar: Bar | None = None
        self.awaiting: set[str] = set()  # cloids sent whose fills come with the bar-close's one read (a basket)
        self._held: tuple | None = None  # the step whose records wait for that read (see settle)
        self.equity, self.units = (state.last_equity() or (float("nan"), 0.0)) if prog else (float("nan"), 0.0)
        self._sync_metrics()
        if metrics is not None:
            metrics.set_version(strategy.model, strategy.version)
        if not prog:
            state.record_version(self.last_ts, strategy.model, strategy.version, strategy.genome_hash, "start")
        elif prog.get("genome_hash") != strategy.genome_hash:
            # the alias moved while the executor was down: switch at the first bar, by the policy
            self.pending_switch = (strategy, config.switch_policy)

    # -- start ------------------------------------------------------------------------------------
    def reconcile(self) -> list[dict]:
        """Before trading: resolve every order whose outcome is unknown by asking the broker (by cloid).

        Intents journalled by a run that crashed before their row was written are imported first.

        Found: its status and fills are stored. Not found: it was never sent; an order of a bar not yet
        processed is left as an intent (re-decided on that bar, same cloid), an older one is cancelled.
        """
        report = []
        self.state.import_journal()
        self.known = self.state.cloids()
        for row in self.state.unresolved():
            found = self.broker.find(row["cloid"])
            if found.status == "unknown":
                if self.last_ts is not None and row["bar_ts"] <= self.last_ts:
                    self.state.set_status(row["cloid"], "cancelled", "never reached the broker (found at restart)")
                    outcome = "cancelled"
                else:
                    self.state.set_status(row["cloid"], "intent")
                    outcome = "intent"
            else:
                self.state.record_result(found)
                self.state.record_fills(self.symbol, found.fills, durable=True)
                outcome = found.status
            report.append({"cloid": row["cloid"], "was": row["status"], "now": outcome})
            self._event(row["bar_ts"], "reconcile", outcome, f"order {row['cloid']} was {row['status']}",
                                  row["cloid"])
            log.info("reconciled order %s: %s -> %s", row["cloid"], row["status"], outcome)
        if hasattr(self.broker, "reconcile"):  # the exchange broker's protective triggers against the position
            self.broker.reconcile()
        return report

    def warm(self, history) -> None:
        """Fill the strategy's window with bars before the first live bar (Bars)."""
        self.window.extend(history)

    # -- operator ---------------------------------------------------------------------------------
    def halt(self, reason: str = "operator", code: str = "operator", ts: int | None = None) -> bool:
        t = self.risk.halt(code, reason)
        if t:
            self._transition(self.last_ts if ts is None else ts, t)
        return t is not None

    def resume(self) -> bool:
        t = self.risk.resume()
        if t:
            self._transition(self.last_ts, t)
        return t is not None

    def request_switch(self, strategy: Strategy, policy: str) -> None:
        """Switch to ``strategy`` at the next bar boundary (``flatten`` first or ``handover``)."""
        self.pending_switch = (strategy, policy)

    def status(self) -> dict:
        return {"model": self.strategy.model, "version": self.strategy.version, "symbol": self.symbol,
                "broker": self.broker.name, "risk_state": self.risk.state.value, "halt_reason": self.risk.halt_reason,
                "last_ts": self.last_ts, "bars": self.bars_done, "equity": self.equity, "units": self.units,
                "acted_target": self.acted}

    # -- one closed bar ---------------------------------------------------------------------------
    def step(self, bar: Bar, stale: bool = False, arrived: float | None = None) -> StepReport | None:
        """Process one closed bar (skipped if already processed). ``stale``: no new order on this bar.
        ``arrived``: ``time.perf_counter()`` when the bar reached the runner (its wait is reported)."""
        t0 = time.perf_counter()
        if self.last_ts is not None and bar.ts <= self.last_ts:
            return None
        st, sym = self.state, self.symbol
        events_before = self._events
        fills = self.broker.on_bar(sym, bar)
        if fills:
            st.record_fills(sym, fills)
        self.window.append(bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.funding)
        acct = self.broker.account(sym, bar.close)
        equity, units = acct.equity, acct.units(sym)
        if self.start_equity is None:
            self.start_equity = equity
        close_ms = bar.ts + self._tf_ms()
        if self.portfolio is not None:  # the total's loss limits may halt every symbol, this one too
            self.portfolio.mark(self, bar.ts, equity, units * bar.close)
            t = self.risk.on_equity(bar.ts, self.portfolio.equity(), self.portfolio.exposure(), sym)
        else:
            t = self.risk.on_equity(bar.ts, equity, {s: u * bar.close for s, u in acct.positions.items()})
        if t:
            self._transition(bar.ts, t)
        if self.kill_file is not None and self.kill_file.exists() and self.risk.state is not RiskState.HALTED:
            self._transition(bar.ts, self.risk.halt("kill_switch", f"kill file {self.kill_file} exists"))
        report = StepReport(bar.ts, equity, units, None, started=t0,
                            waited=max(0.0, t0 - arrived) if arrived is not None else 0.0)
        if self.pending_switch is not None:
            self._switch(bar, equity, units, report, t0)
        elif self.risk.state is RiskState.HALTED:
            if units != 0.0 or self.acted != 0.0:
                self._order(bar, 0.0, math.nan, math.nan, equity, units, close_ms, "halt", report, t0)
        elif stale or bar.gap:
            kind = "gap" if bar.gap else "stale"
            report.stale = True
            self._event(bar.ts, "feed", kind, f"no order on {kind} data at bar {bar.ts}")
            if self.metrics is not None:
                self.metrics.errors.labels(f"feed_{kind}").inc()
        else:
            target, stop, take = self.strategy.decide(self.window.bars())
            target = max(-1.0, min(1.0, target * self.config.leverage_target))
            report.target = target
            if target != self.acted:
                self._order(bar, target, stop, take, equity, units, close_ms, "signal", report, t0)
        if report.latency == 0.0:
            report.latency = time.perf_counter() - t0
        if report.decision == 0.0:
            report.decision = report.latency
        self.bars_done += 1
        self.last_ts = bar.ts
        self.equity, self.units, self.last_bar = equity, units, bar
        self._held = (bar, equity, units, fills, report, events_before)
        if not self.awaiting:
            self._persist()
        self._sync_metrics(report)
        return report

    @property
    def held_ts(self) -> int | None:
        """The bar whose records wait for its order's fills (a basket's bar-close read), or None."""
        return None if self._held is None else self._held[0].ts

    def settle(self, results: dict[str, OrderResult]) -> None:
        """A basket's bar-close had its fills read once (``results``: cloid -> completed result): this
        symbol's awaited order results and fills are stored, then its bar's records and progress. Until
        then the order's row stays ``submitted`` and the bar's progress unsaved, so a crash before the
        read is resolved by cloid at restart and the bar decided again (the same cloid: never resent).
        An order missing from ``results`` (the read failed) stays ``submitted`` and awaited."""
        for cloid in [c for c in self.awaiting if c in results]:
            self._store_result(results[cloid])
            self.awaiting.discard(cloid)
        self._persist()

    def _persist(self) -> None:
        """The held step's records: exits the broker reported, the bar, the progress (after its order's fills)."""
        held, self._held = self._held, None
        if held is None:
            return
        bar, equity, units, fills, report, events_before = held
        st, sym = self.state, self.symbol
        for f in {f.cloid: f for f in fills if f.cloid}.values():  # off the hot path: the broker's record
            if f.cloid not in self.known:  # an order the broker placed itself (an exchange-side stop exit)
                st.record_intent(Order(f.cloid, sym, bar.ts, 0.0, f.units, f.price, reduce_only=True, reason=f.kind))
                self.known.add(f.cloid)
            self._store_result(self.broker.find(f.cloid))
        if report.order is not None:
            crash_point("after_fill")  # the order's result and fills are stored, the bar's progress is not
        st.record_bar(sym, bar.ts, equity, units, bar.close)
        risk = self.risk.snapshot()
        if self.portfolio is not None:
            risk["portfolio"] = self.portfolio.snapshot()
        st.save_progress(bar.ts, self.bars_done, self.acted, self.strategy.model, self.strategy.version,
                         self.strategy.genome_hash, risk, self.broker.snapshot())
        # an event's row is written at once; alone, in a basket (one commit for every symbol) it waits for
        # the group's next commit (at most commit_seconds): a limit refusing an order of 20 symbols at every
        # bar would otherwise commit the whole basket 20 times a bar-close
        event = self._events != events_before and getattr(st, "group", None) is None
        if fills or report.order or event or st.flush_age() >= self.commit_seconds:
            st.flush()
        report.settled = time.perf_counter()

    def _switch(self, bar: Bar, equity: float, units: float, report: StepReport, t0: float) -> None:
        new, policy = self.pending_switch
        self.pending_switch = None
        old = self.strategy
        self.strategy = new
        if self.window.size < new.lookback + 2:
            fresh = BarWindow(new.lookback + 2, *self.window.meta)
            fresh.extend(self.window.bars())
            self.window = fresh
        self.state.record_version(bar.ts, new.model, new.version, new.genome_hash, policy)
        log.info("strategy switch %s v%s -> v%s (%s) at bar %s", old.model, old.version, new.version, policy, bar.ts)
        if self.metrics is not None:
            self.metrics.switches.labels(policy).inc()
            self.metrics.set_version(new.model, new.version)
        if policy == "flatten" and (units != 0.0 or self.acted != 0.0):
            self._order(bar, 0.0, math.nan, math.nan, equity, units, bar.ts + self._tf_ms(), "switch", report, t0)
        # handover: the position stays; the new strategy acts from the next bar on its own targets

    def _order(self, bar: Bar, target: float, stop: float, take: float, equity: float, units: float,
               now_ms: int, reason: str, report: StepReport, t0: float) -> None:
        price = bar.close
        want = equity * self.share * target / (price * (1.0 + self.fee)) if equity > 0 else 0.0
        delta = want - units
        purpose = f"{reason}:{self.strategy.genome_hash[:12]}:{target!r}"
        order = Order(client_order_id(self.state.key, bar.ts, purpose), self.symbol, bar.ts, target, delta, price,
                      stop, take, reduce_only=target == 0.0, reason=reason)
        if delta == 0.0 and target == 0.0:
            self.acted = 0.0
            return
        if self.portfolio is not None:
            exposure = {**self.portfolio.exposure(), self.symbol: units * price}
            decision = self.risk.check(order, now_ms, self.portfolio.equity(), exposure, units)
        else:
            decision = self.risk.check(order, now_ms, equity, {self.symbol: units * price}, units)
        report.decision = time.perf_counter() - t0
        if not decision.allowed:
            report.refused = decision.code
            self._event(bar.ts, "refused", decision.code, decision.reason, order.cloid)
            log.warning("order refused (%s): %s", decision.code, decision.reason)
            if self.metrics is not None:
                self.metrics.orders_refused.labels(decision.code).inc()
            return
        result = self._send(order, report, t0)
        if result is None or result.status == "rejected":
            report.failed = "error" if result is None else "rejected"
        if result is not None and result.status not in ("rejected", "unknown"):
            self.acted = target
            if self.portfolio is not None:  # the other symbols' checks count this position from now on
                moved = result.filled if result.status in ("filled", "partial") else delta
                self.portfolio.exposures[self.symbol] = (units + moved) * price

    def _send(self, order: Order, report: StepReport, t0: float) -> OrderResult | None:
        st = self.state
        if order.cloid in self.known:  # decided again after a restart: never sent twice
            existing = st.order(order.cloid) or {}
            if existing.get("status") not in ("intent", "submitted"):
                self._settle(order, existing["status"])
                return OrderResult(order.cloid, existing["status"], existing["exchange_id"], existing["filled"] or 0.0)
            found = self.broker.find(order.cloid)
            if found.status != "unknown":  # it did reach the broker: adopt, never send twice
                self._store_result(found)
                self._settle(order, found.status)
                return found
        else:
            st.journal_intent(order)  # durable (fsync) before anything is sent
            self.known.add(order.cloid)
        crash_point("before_submit")
        report.latency = time.perf_counter() - t0
        report.order = order.cloid
        try:
            result = self.broker.submit(order)
        except GaorgError as exc:
            kind, message = type(exc).__name__, redact(str(exc))[:300]
            # unknown outcome: the row stays 'submitted'; the next start (or lookup) resolves it by cloid
            st.record_intent(order)
            st.set_status(order.cloid, "submitted", message)
            self._event(order.bar_ts, "error", kind, message, order.cloid)
            log.error("order %s failed: %s", order.cloid, message)
            if self.metrics is not None:
                self.metrics.errors.labels(kind).inc()
            if not isinstance(exc, ExchangeError):
                raise
            return None
        crash_point("after_submit")
        st.record_intent(order)
        if result.pending:  # filled; its fills come with the bar-close's one read (settle): 'submitted' until then
            st.set_status(order.cloid, "submitted")
            self.awaiting.add(order.cloid)
        else:
            self._store_result(result)
        if self.metrics is not None:
            self.metrics.orders_sent.inc()
        if result.status == "rejected":
            self._event(order.bar_ts, "rejected", "exchange", result.error or "rejected by the exchange", order.cloid)
            log.error("order %s rejected by the exchange: %s", order.cloid, redact(result.error or "no reason"))
            if self.metrics is not None:
                self.metrics.errors.labels("rejected").inc()
        return result

    def _settle(self, order: Order, status: str) -> None:
        """An order met again after a restart, done on the exchange: the broker protects what it left."""
        if status in ("filled", "partial") and hasattr(self.broker, "settle"):
            self.broker.settle(order)

    def _store_result(self, result: OrderResult) -> None:
        self.state.record_result(result)
        if result.fills:
            self.state.record_fills(self.symbol, result.fills, durable=True)
        if result.status in ("filled", "partial") and self.metrics is not None:
            self.metrics.orders_filled.inc()

    def _event(self, ts: int | None, kind: str, code: str, reason: str, cloid: str | None = None) -> None:
        self.state.risk_event(ts, kind, code, redact(reason), cloid)
        self._events += 1

    def _transition(self, ts: int | None, t) -> None:
        if t is None:
            return
        self._event(ts, "state", t.code, f"{t.state.value}: {t.reason}")
        log.warning("risk state -> %s (%s: %s)", t.state.value, t.code, t.reason)
        if self.metrics is not None:
            self.metrics.risk_state.set(STATE_CODE[t.state])

    def _tf_ms(self) -> int:
        from gaorg.data.timeframes import timeframe_ms

        return timeframe_ms(self.config.timeframe)

    def _sync_metrics(self, report: StepReport | None = None) -> None:
        m = self.metrics
        if m is None:
            return
        m.risk_state.set(STATE_CODE[self.risk.state])
        if report is None:
            return
        m.bars.inc()
        if self.portfolio is None:  # within several symbols the portfolio sets the total
            m.equity.set(report.equity)
            m.pnl.set(report.equity - (self.start_equity or report.equity))
        m.position.labels(self.symbol).set(report.units)
        m.latency.observe(report.latency)
        m.feed_lag.set(max(0.0, self.wall_clock() - (report.ts + self._tf_ms()) / 1000.0))
        m.feed_stale.set(1.0 if report.stale else 0.0)
