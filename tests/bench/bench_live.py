"""Benchmark of the live executor (paper broker, replay feed, real DuckDB state).

Decision latency: from a closed bar handed to the executor to the order handed to the broker (or the
decision to send none), p50 and p99 over a replay (default 10,000 bars; target p99 < 5 ms, no network).
Memory: resident set size sampled along a long replay (default 100,000 bars) must stay flat.

    .venv/bin/python tests/bench/bench_live.py                 # both
    .venv/bin/python tests/bench/bench_live.py --latency-bars 10000 --memory-bars 0

Basket mode (``--symbols 1,20``): the same genome through the live runner on 1 and on 20 weighted
symbols, each case in its own process: paper broker + replay feed, and the ccxt broker + websocket feed
against the stand-in Hyperliquid on 127.0.0.1 (one account). Bar -> order latency per bar-close, orders,
RSS side by side (see tests/bench/live_basket.py for the definition).

    .venv/bin/python tests/bench/bench_live.py --symbols 1,20
    .venv/bin/python tests/bench/bench_live.py --symbols 1,20 --cases exchange --exchange-closes 100
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gaorg.data.synth import synth_bars  # noqa: E402
from gaorg.live.brokers.paper import PaperBroker  # noqa: E402
from gaorg.live.config import LiveConfig, RiskLimits  # noqa: E402
from gaorg.live.executor import Executor  # noqa: E402
from gaorg.live.feed import ReplayFeed  # noqa: E402
from gaorg.live.state import LiveState  # noqa: E402
from gaorg.live.strategy import Strategy  # noqa: E402
from gaorg.strategies.genome import make_genome  # noqa: E402

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


def basket(args: argparse.Namespace) -> None:
    """Each (case, symbols) in a fresh process; a table of 1 vs N side by side."""
    sizes = [int(x) for x in args.symbols.split(",")]
    rows = []
    for kind in args.cases.split(","):
        bars = args.basket_bars if kind == "paper" else args.exchange_closes
        for n in sizes:
            spec = f"{kind}:{n}:{bars}:{args.window}:{'' if args.rate_limit_ms is None else args.rate_limit_ms}"
            run = subprocess.run([sys.executable, __file__, "--case", spec], capture_output=True, text=True)
            if run.returncode != 0:
                print(f"{spec} failed:\n{run.stderr[-3000:]}")
                continue
            row = json.loads(run.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row))
    print("\ncase     | symbols | bar-closes | steps | orders | p50 ms | p99 ms | max ms | p50 / p99 ms (closes w/ "
          "order) | first close ms (orders) | RSS before -> after (peak) MB")
    for r in rows:
        print(f"{r['case']:8} | {r['symbols']:7} | {r['closes']:10} | {r['steps']:5} | {r['orders']:6} | "
              f"{r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['order_p50_ms']} / {r['order_p99_ms']} "
              f"({r['order_closes']}) | {r.get('first_ms')} ({r.get('first_orders')}) | "
              f"{r['rss_before_mb']} -> {r['rss_after_mb']} ({r['rss_peak_mb']})")
        print(f"         bar-close done (fills read, triggers placed): first {r.get('first_done_ms')} ms, then "
              f"p50 {r.get('done_p50_ms')} / p99 {r.get('done_p99_ms')} ms")
        if "requests_per_close" in r:
            print(f"         requests per bar-close: {r['requests_per_close']}; threads while running "
                  f"{r['threads_running']}; websocket connections {r['ws_connections']}; start {r['start_s']} s; "
                  f"rate limit {r['rate_limit_ms']}; {r['failure'] or ''}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-bars", type=int, default=10_000)
    ap.add_argument("--memory-bars", type=int, default=100_000)
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--symbols", help="basket mode: symbol counts to compare, e.g. 1,20")
    ap.add_argument("--cases", default="paper,exchange", help="basket mode: paper (replay) and/or exchange (stand-in)")
    ap.add_argument("--basket-bars", type=int, default=2000, help="basket mode: bar-closes replayed on paper")
    ap.add_argument("--exchange-closes", type=int, default=200, help="basket mode: bar-closes on the stand-in")
    ap.add_argument("--rate-limit-ms", type=float, default=None,
                    help="basket mode: ccxt's delay between requests (default: ccxt's own, as a live run)")
    ap.add_argument("--case", help=argparse.SUPPRESS)  # one basket case, in this process
    args = ap.parse_args()
    if args.case:
        from tests.bench.live_basket import run_case

        run_case(args.case)
        return
    if args.symbols:
        basket(args)
        return
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
