"""The basket mode of bench_live.py: the live runner on 1 and on N symbols, one case per process.

A case runs the real :class:`~gaorg.live.runner.Runner` (so one symbol goes through its one-symbol path,
several through :mod:`gaorg.live.portfolio`) and prints one JSON line: bar-close latencies, orders, RSS.

``paper``: paper broker, replay feeds of synthetic 1h bars, real DuckDB live state.
``exchange``: the ccxt broker and the exchange feed (websocket) against the stand-in Hyperliquid on
127.0.0.1, one account, ccxt's own rate limit (as a live run has it); the bench publishes one 1m candle
per coin per bar-close and waits for the runner to finish that bar-close before the next.

Bar -> order latency of a bar-close (the N bars of one timestamp): from the moment the last symbol's
closed bar reached the runner (left its feed's thread; a replay hands a whole bar-close over at once, so
there: when its first bar came out) to the moment the last order of that bar-close was handed to the
broker (or, with no order, the last decision to send none). One symbol: the executor's own latency plus
the runner's hand-over. The first bar-close, where every symbol with a target enters at once, is
reported apart (``first_ms``); the percentiles are over the bar-closes after it. A bar-close is done
(``first_done_ms``, ``done_p50_ms``) when its last step was handed back to the runner's caller: its
orders' fills read and recorded, their stop/take triggers placed, its progress stored.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "LTC",
         "BCH", "NEAR", "APT", "ARB", "OP", "SUI", "INJ", "TIA", "SEI", "ATOM")
M = 60_000
WALLET = "0x" + "ab" * 20
KEY = "0x" + "5e" * 32


def rss() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    got = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            got[line.split(":")[0]] = int(line.split()[1]) / 1024
    return got.get("VmRSS", float("nan")), got.get("VmHWM", float("nan"))


def weights(symbols: list[str]) -> dict[str, float] | None:
    """A basket's shares: the first five 10% each, the rest sharing the other half (None for one symbol)."""
    if len(symbols) == 1:
        return None
    head = symbols[:5]
    rest = symbols[5:]
    w = {s: (0.5 / len(head) if rest else 1.0 / len(head)) for s in head}
    w.update({s: 0.5 / len(rest) for s in rest})
    return w


class Closes:
    """The runner's step reports grouped by bar-close (timestamp); ``done(ts)`` once N steps of it arrived."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.steps: dict[int, list[Any]] = defaultdict(list)
        self.done: dict[int, float] = {}  # when the bar-close's last step was handed over (after its fill read)
        self.cond = threading.Condition()

    def on_step(self, runner: Any, report: Any) -> None:
        with self.cond:
            self.steps[report.ts].append(report)
            self.done[report.ts] = time.perf_counter()  # the runner handed the step over: its records are stored
            self.cond.notify_all()

    def wait(self, ts: int, timeout: float = 60.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.steps.get(ts, ())) >= self.n, timeout)

    def latencies(self) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        """Per complete bar-close in time order: (latency s, had an order), the orders in all, and the
        seconds until the bar-close was done (its last step handed over: orders, fills, triggers stored)."""
        lat, ordered, orders, done = [], [], 0, []
        for ts, reps in sorted(self.steps.items()):
            if len(reps) < self.n:
                continue
            t0 = max(r.started - r.waited for r in reps)
            t1 = max(r.started + r.latency for r in reps)
            lat.append(t1 - t0)
            done.append(self.done[ts] - t0)
            ordered.append(any(r.order is not None for r in reps))
            orders += sum(r.order is not None for r in reps)
        return np.array(lat), np.array(ordered, dtype=bool), orders, np.array(done)


def _genome_file(d: Path) -> Path:
    from gaorg.strategies.genome import save_genome
    from tests.bench.bench_live import GENOME

    return save_genome(GENOME, d / "g.json")


def paper_case(n: int, bars: int, window: int) -> dict[str, Any]:
    """N symbols of synthetic 1h bars replayed through the runner on paper."""
    from gaorg.config import Settings
    from gaorg.data.synth import synth_bars
    from gaorg.live.config import LiveConfig, RiskLimits
    from gaorg.live.feed import ReplayFeed
    from gaorg.live.registry import FileRegistry
    from gaorg.live.runner import Runner

    symbols = [f"{c}/USDC:USDC" for c in COINS[:n]]
    series = {s: synth_bars(s, "1h", bars + 300, seed=7 + i) for i, s in enumerate(symbols)}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        cfg = LiveConfig(model="bench", symbols=tuple(symbols), weights=weights(symbols), timeframe="1h",
                         exchange=series[symbols[0]].exchange, window=window, registry_poll_seconds=3600.0,
                         limits=RiskLimits(daily_loss=1.0, max_drawdown=1.0))  # never halts: every bar decides
        feeds = {s: ReplayFeed(b, warmup=window, first=300) for s, b in series.items()}
        closes = Closes(n)
        settings = Settings(home=d / "home", tracking_uri=f"sqlite:///{d / 'mlflow.db'}")
        runner = Runner(cfg, settings, FileRegistry(_genome_file(d)), feed=feeds if n > 1 else feeds[symbols[0]])
        before = rss()[0]
        t = time.perf_counter()
        summary = runner.run(on_step=closes.on_step)
        wall = time.perf_counter() - t
        after, peak = rss()
    return _result("paper", n, closes, summary, wall, before, after, peak, {})


def _recent(sym: str, n: int, last_ts: int, seed: int) -> Any:
    """Synthetic 1m bars of ``sym`` whose last one opens at ``last_ts``."""
    from gaorg.data.bars import Bars
    from gaorg.data.synth import synth_bars

    b = synth_bars(sym, "1h", n, seed=seed)
    ts = last_ts - (n - 1 - np.arange(n, dtype=np.int64)) * M
    return Bars.from_arrays(ts, b.open, b.high, b.low, b.close, b.volume, exchange="hyperliquid", symbol=sym,
                            timeframe="1m")


def exchange_case(n: int, closes_n: int, window: int, rate_limit_ms: float | None) -> dict[str, Any]:
    """N coins on the stand-in: the runner with the ccxt broker and the websocket feed, one account."""
    from gaorg.config import Settings
    from gaorg.live.config import LiveConfig, RiskLimits
    from gaorg.live.registry import FileRegistry
    from gaorg.live.runner import Runner
    from gaorg.testing.hyperliquid_exchange import StandInExchange

    os.environ["GAORG_HYPERLIQUID_WALLET"], os.environ["GAORG_HYPERLIQUID_PRIVATE_KEY"] = WALLET, KEY
    coins = list(COINS[:n])
    symbols = [f"{c}/USDC:USDC" for c in coins]
    hist_n = window + 50
    last_hist = (int(time.time() * 1000) // M - closes_n - 5) * M
    full = {s: _recent(s, hist_n + closes_n, last_hist + closes_n * M, 7 + i) for i, s in enumerate(symbols)}
    history = [b.slice(0, hist_n) for b in full.values()]
    with tempfile.TemporaryDirectory() as tmp, StandInExchange(history, cash=100_000.0) as s:
        d = Path(tmp)
        cfg = LiveConfig(model="bench", symbols=tuple(symbols), weights=weights(symbols), timeframe="1m",
                         broker="exchange", feed="exchange", feed_transport="watch", api_url=s.url,
                         rate_limit_ms=rate_limit_ms, poll_seconds=600.0, stale_bars=closes_n + 60.0,
                         registry_poll_seconds=3600.0, window=window, max_bars=closes_n,
                         limits=RiskLimits(daily_loss=1.0, max_drawdown=1.0, max_orders_per_minute=10_000))
        closes = Closes(n)
        settings = Settings(home=d / "home", tracking_uri=f"sqlite:///{d / 'mlflow.db'}")
        from gaorg.live.brokers.ccxt_broker import exchange_from_env

        client = exchange_from_env(cfg)  # the orders' client, as the runner would make it
        # ccxt asks the exchange once whether the account is unified and caches the answer; the stand-in
        # does not answer, so ccxt would ask again before every order (10 x 50 ms of its rate budget):
        # the answer a plain account gives, cached up front
        client.options["enableUnifiedMargin"] = False
        runner = Runner(cfg, settings, FileRegistry(_genome_file(d)), exchange=client)
        seen: dict[str, int] = {}
        failure: list[str] = []

        def publish() -> None:
            deadline = time.monotonic() + 120
            while not all(s.ws.subscribers(c, "1m") > 0 for c in coins):
                if time.monotonic() > deadline or runner.stop_event.is_set():
                    failure.append("the feeds never subscribed")
                    return
                time.sleep(0.02)
            seen["ready_s"] = time.perf_counter() - started  # type: ignore[assignment]
            time.sleep(0.2)
            seen["requests"] = len(s.state.requests)
            for k in range(closes_n):
                for c, b in zip(coins, full.values(), strict=True):
                    i = hist_n + k
                    s.publish_candle(c, "1m", (int(b.ts[i]), float(b.open[i]), float(b.high[i]), float(b.low[i]),
                                               float(b.close[i]), float(b.volume[i])))
                if not closes.wait(int(b.ts[hist_n + k]), timeout=120):
                    failure.append(f"bar-close {k} not processed within 120 s")
                    runner.stop()
                    return
                time.sleep(0.05)  # the next bar-close comes later (in a live run: a bar later)
                if k == closes_n // 2:
                    seen["threads"] = threading.active_count()
            seen["end"] = len(s.state.requests)

        pusher = threading.Thread(target=publish, daemon=True)
        before = rss()[0]
        started = t = time.perf_counter()
        pusher.start()
        summary = runner.run(on_step=closes.on_step)
        wall = time.perf_counter() - t
        after, peak = rss()
        pusher.join(30)
        with s.state.lock:
            live = s.state.requests[seen.get("requests", 0):seen.get("end", len(s.state.requests))]
        per: dict[str, int] = defaultdict(int)
        for r in live:
            per[r.type or r.path] += 1
        extra = {"requests_per_close": {k: round(v / closes_n, 2) for k, v in sorted(per.items())},
                 "threads_running": seen.get("threads"), "ws_connections": s.state.count("ws"), "failure": failure, "start_s": round(seen.get("ready_s", -1), 1),
                 "rate_limit_ms": rate_limit_ms if rate_limit_ms is not None else "ccxt default"}
    return _result("exchange", n, closes, summary, wall, before, after, peak, extra)


def _result(kind: str, n: int, closes: Closes, summary: Any, wall: float, before: float, after: float,
            peak: float, extra: dict[str, Any]) -> dict[str, Any]:
    lat, ordered, orders, done = closes.latencies()
    first = {"first_ms": round(float(lat[0] * 1000), 1), "first_done_ms": round(float(done[0] * 1000), 1),
             "first_orders": int(sum(r.order is not None for r in closes.steps[min(closes.steps)]))} if len(lat) else {}
    lat, ordered, done = lat[1:], ordered[1:], done[1:]  # the first bar-close (every symbol enters at once) apart
    ms = lat * 1000
    pct = (lambda a, q: round(float(np.percentile(a, q)), 3) if len(a) else None)  # noqa: E731
    return {"case": kind, "symbols": n, "closes": len(ms), "steps": sum(len(v) for v in closes.steps.values()),
            "orders": orders, **first, "summary_orders": summary.orders, "failed": summary.failed,
            "refused": summary.refused, "stopped": summary.stopped,
            "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "max_ms": round(float(ms.max()), 2) if len(ms) else None,
            "order_closes": int(ordered.sum()), "order_p50_ms": pct(ms[ordered], 50),
            "order_p99_ms": pct(ms[ordered], 99), "done_p50_ms": pct(done * 1000, 50),
            "done_p99_ms": pct(done * 1000, 99), "wall_s": round(wall, 2),
            "ms_per_close": round(wall / max(1, len(ms)) * 1000, 2),
            "rss_before_mb": round(before), "rss_after_mb": round(after), "rss_peak_mb": round(peak), **extra}


def run_case(spec: str) -> None:
    """``kind:n:bars:window[:rate_limit_ms]``: one case, its JSON on the last line of stdout."""
    from tests.bench.bench_live import replay

    kind, n, bars, window, *rest = spec.split(":")
    rate = float(rest[0]) if rest and rest[0] else None
    replay(400, int(window))  # the strategy's numba kernels compiled (or loaded) before any timing
    if kind == "paper":
        out = paper_case(int(n), int(bars), int(window))
    else:
        out = exchange_case(int(n), int(bars), int(window), rate)
    print(json.dumps(out))
