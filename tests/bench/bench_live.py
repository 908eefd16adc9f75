"""Benchmark of the live executor (paper broker, replay feed, real DuckDB state).

Decision latency: from a closed bar handed to the executor to the order handed to the broker (or the
decision to send none), p50 and p99 over a replay (default 10,000 bars; target p99 < 5 ms, no network).
Memory: resident set size sampled along a long replay (default 100,000 bars) must stay flat.

    .venv/bin/python tests/bench/bench_live.py                 # both
    .venv/bin/python tests/bench/bench_live.py --latency-bars 10000 --memory-bars 0
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

import numpy as np

from gaorg.data.synth import synth_bars
from gaorg.live.brokers.paper import PaperBroker
from gaorg.live.config import LiveConfig, RiskLimits
from gaorg.live.executor import Executor
from gaorg.live.feed import ReplayFeed
from gaorg.live.state import LiveState
from gaorg.live.strategy import Strategy
from gaorg.strategies.genome import make_genome

GENOME = make_genome(("ema_crossover", {"fast": 20, "slow": 100, "direction": "both"}),
                     exits=(("atr_stop", {"period": 14, "stop_mult": 3.0, "take_mult": 8.0}),))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def replay(n: int, window: int, sample_every: int = 0) -> tuple:
    bars = synth_bars("BTC/USDC:USDC", "1h", n + 300, seed=7)
    cfg = LiveConfig(model="bench", symbol=bars.symbol, timeframe="1h", exchange=bars.exchange, window=window,
                     limits=RiskLimits(daily_loss=1.0, max_drawdown=1.0))  # never halts: every bar decides
    with tempfile.TemporaryDirectory() as d:
        state = LiveState(Path(d) / "live.duckdb", cfg.state_key)
        ex = Executor(cfg, state, PaperBroker(), Strategy(GENOME, "bench", "1"))
        feed = ReplayFeed(bars, warmup=window, first=300)
        ex.warm(feed.history)
        lat, dec, ordered, mem = [], [], [], []
        t0 = time.perf_counter()
        for k, (bar, stale) in enumerate(feed):
            r = ex.step(bar, stale)
            lat.append(r.latency)
            dec.append(r.decision)
            ordered.append(r.order is not None)
            if sample_every and k % sample_every == 0:
                mem.append((k, rss_mb(), len(gc.get_objects())))
        wall = time.perf_counter() - t0
        state.close()
    return np.array(lat), np.array(dec), np.array(ordered), mem, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-bars", type=int, default=10_000)
    ap.add_argument("--memory-bars", type=int, default=100_000)
    ap.add_argument("--window", type=int, default=1000)
    args = ap.parse_args()
    replay(400, args.window)  # warm the numba caches
    if args.latency_bars:
        lat, dec, ordered, _, wall = replay(args.latency_bars, args.window)
        ms, dms = lat * 1000, dec * 1000
        print(f"decision (bar in -> order built, before the durable intent write) over {len(dms)} bars: "
              f"p50 {np.percentile(dms, 50):.3f} ms, p99 {np.percentile(dms, 99):.3f} ms, max {dms.max():.2f} ms")
        print(f"bar in -> order handed to the broker (intent written) over {len(ms)} bars (window {args.window}): p50 {np.percentile(ms, 50):.3f} ms, "
              f"p99 {np.percentile(ms, 99):.3f} ms, max {ms.max():.2f} ms; wall {wall:.1f} s "
              f"({wall / len(ms) * 1000:.2f} ms/bar incl. state writes)")
        if ordered.any():
            print(f"  bars with an order ({ordered.sum()}): p50 {np.percentile(ms[ordered], 50):.3f} ms, "
                  f"p99 {np.percentile(ms[ordered], 99):.3f} ms (the intent is written before the order)")
    if args.memory_bars:
        _, _, _, mem, wall = replay(args.memory_bars, args.window, sample_every=max(1, args.memory_bars // 10))
        print(f"memory over {args.memory_bars} bars ({wall:.0f} s): " +
              ", ".join(f"{k}: {m:.0f} MB / {o} objects" for k, m, o in mem))
        (k1, first, o1), (k2, last, o2) = mem[1], mem[-1]
        print(f"  RSS after {k1} bars {first:.0f} MB, after {k2} bars {last:.0f} MB (growth {last - first:+.0f} MB); "
              f"Python objects {o1} -> {o2}")


if __name__ == "__main__":
    main()
