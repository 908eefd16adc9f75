"""Benchmark: backtest evaluations per second, gaorg vs vectorbt, and how the engine scales.

Run: .venv/bin/python tests/bench/bench_backtest.py [--genomes 200] [--bars 100000] [--no-vbt] [--no-cold]

1. Evaluations/s on ``--bars`` 1h bars for the same random genomes (half EMA crossover, half
   Donchian breakout, long only), one core, same process, warm (the first call of each side is
   timed apart as compilation/warm-up):
   - gaorg, full: ``backtest_genome`` = targets + simulation (equity, trades) + all 14 metrics;
   - gaorg, GA path: targets + ``fold_stats`` over 5 folds (what evolution calls);
   - vectorbt: ``vbt.MA.run(ewm=True)`` / ``rolling_max``-``rolling_min`` for the signals,
     ``Portfolio.from_signals`` (next-open fills) and the same 14 metrics from vectorbt.
2. Time per evaluation for 10,000 .. 1,000,000 bars (linear growth expected).
3. Cold start: the first evaluation in a fresh process with an empty numba cache (compilation),
   then in a second process that finds the cache on disk.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: no threaded BLAS or numba parallelism
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gaorg.backtest.engine import Costs, fold_stats  # noqa: E402
from gaorg.backtest.run import backtest_genome  # noqa: E402
from gaorg.data.synth import synth_bars  # noqa: E402
from gaorg.strategies.compose import targets  # noqa: E402
from gaorg.strategies.genome import make_genome  # noqa: E402

COSTS = Costs(fee=0.00045, slippage=0.0002)


def random_genomes(count: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    out = []
    for k in range(count):
        if k % 2 == 0:
            fast = rng.randint(2, 200)
            slow = rng.randint(fast + 1, min(2000, fast * 10 + 10))
            out.append(make_genome(("ema_crossover", {"fast": fast, "slow": slow, "direction": "long"})))
        else:
            out.append(
                make_genome(("donchian_breakout", {"period": rng.randint(5, 1000), "direction": "long"}))
            )
    return out


def gaorg_full(genome, bars):
    return backtest_genome(genome, bars, COSTS).metrics


def gaorg_ga(genome, bars, bounds):
    return fold_stats(bars, targets(genome, bars), COSTS, bounds)


def vbt_eval(vbt, genome, frame):
    """The same strategy with vectorbt's indicators, from_signals and metrics (14 keys)."""
    p = genome.entry.as_dict()
    close = frame["close"]
    if genome.entry.module == "ema_crossover":
        fast = vbt.MA.run(close, p["fast"], ewm=True).ma
        slow = vbt.MA.run(close, p["slow"], ewm=True).ma
        held = fast > slow
        entries, exits = held, ~held
    else:
        upper = frame["high"].vbt.rolling_max(p["period"]).shift(1)
        lower = frame["low"].vbt.rolling_min(p["period"]).shift(1)
        entries, exits = close > upper, close < lower
    pf = vbt.Portfolio.from_signals(
        close,
        entries=entries.shift(1, fill_value=False),
        exits=exits.shift(1, fill_value=False),
        price=frame["open"],
        size=np.inf,
        fees=COSTS.fee,
        slippage=COSTS.slippage,
        init_cash=COSTS.init_cash,
        freq="1h",
    )
    orders = pf.orders
    value = pf.value()
    return {
        "total_return": pf.total_return(),
        "cagr": pf.annualized_return(),
        "sharpe": pf.sharpe_ratio(),
        "sortino": pf.sortino_ratio(),
        "max_drawdown": -pf.max_drawdown(),
        "calmar": pf.calmar_ratio(),
        "trades": pf.trades.count(),
        "win_rate": pf.trades.win_rate(),
        "profit_factor": pf.trades.profit_factor(),
        "exposure": float(pf.position_mask().mean()),
        "turnover": float((orders.size.values * orders.price.values).sum() / value.mean()),
        "fees_paid": float(orders.fees.sum()),
        "funding_paid": 0.0,
        "final_equity": pf.final_value(),
    }


def timed(fn, items) -> tuple[float, float, float, float]:
    """Seconds of the first call (compilation or warm-up), then evaluations/s over all items warm:
    by wall time, by this process's CPU time, and 1 / the median per-item CPU time.

    The three agree on an idle machine. On a shared one, wall time includes the time other
    processes held the core, and CPU time still includes the slowdown of a busy sibling
    hyperthread; the median per item is the least disturbed figure.
    """
    t0 = time.perf_counter()
    fn(items[0])
    first = time.perf_counter() - t0
    cpu = []
    t0, c0 = time.perf_counter(), time.process_time()
    for item in items:
        c = time.process_time()
        fn(item)
        cpu.append(time.process_time() - c)
    wall, total = time.perf_counter() - t0, time.process_time() - c0
    return first, len(items) / wall, len(items) / total, 1.0 / float(np.median(cpu))


def best_ms(fn, repeat: int = 5) -> float:
    """Best CPU time of ``repeat`` runs, in ms (warm)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best * 1e3


COLD = """
import time; t0 = time.perf_counter()
from gaorg.backtest.run import backtest_genome
from gaorg.data.synth import synth_bars
from gaorg.strategies.genome import make_genome
bars = synth_bars("BTC", "1h", 10_000, seed=1)
t1 = time.perf_counter()
backtest_genome(make_genome(("ema_crossover", {"fast": 12, "slow": 48, "direction": "long"})), bars)
backtest_genome(make_genome(("donchian_breakout", {"period": 50, "direction": "long"})), bars)
print(f"{t1 - t0:.3f} {time.perf_counter() - t1:.3f}")
"""


def cold_start() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(REPO)}
        for label in ("fresh process, empty numba cache", "second process, cache on disk"):
            out = subprocess.run(
                [sys.executable, "-c", COLD], env=env, capture_output=True, text=True, check=True
            )
            imports, first = out.stdout.split()
            print(
                f"  {label:<34} imports {float(imports):6.2f} s, first EMA + Donchian backtest {float(first):6.2f} s"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genomes", type=int, default=200)
    ap.add_argument("--bars", type=int, default=100_000)
    ap.add_argument("--no-vbt", action="store_true", help="skip vectorbt (slow to import)")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-start subprocesses")
    args = ap.parse_args()

    bars = synth_bars("BTC", "1h", args.bars, seed=0)
    genomes = random_genomes(args.genomes)
    bounds = np.linspace(0, args.bars, 6).astype(np.int64)
    bounds = np.stack([bounds[:-1], bounds[1:]], axis=1)
    print(
        f"{args.genomes} genomes (EMA crossover / Donchian breakout, long only) on {args.bars:,} 1h bars, one core"
    )
    print("  evaluations/s: by wall time | by CPU time | 1 / median CPU time per evaluation   (first call)")
    first, full, full_cpu, full_med = timed(lambda g: gaorg_full(g, bars), genomes)
    print(
        f"  gaorg full (targets + simulate + 14 metrics): {full:7.0f} | {full_cpu:7.0f} | {full_med:7.0f}   ({first:.2f} s)"
    )
    first, ga, ga_cpu, ga_med = timed(lambda g: gaorg_ga(g, bars, bounds), genomes)
    print(
        f"  gaorg GA path (targets + fold_stats 5 folds): {ga:7.0f} | {ga_cpu:7.0f} | {ga_med:7.0f}   ({first:.2f} s)"
    )
    if not args.no_vbt:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import vectorbt as vbt

            vbt.settings.returns["year_freq"] = "365 days"
            print(f"  (vectorbt import {time.perf_counter() - t0:.1f} s)")
            frame = bars.to_frame()
            first, vb, vb_cpu, vb_med = timed(lambda g: vbt_eval(vbt, g, frame), genomes)
        print(
            f"  vectorbt (indicators, from_signals, metrics): {vb:7.1f} | {vb_cpu:7.1f} | {vb_med:7.1f}   ({first:.2f} s)"
        )
        print(
            f"  gaorg full / vectorbt: {full / vb:.0f}x | {full_cpu / vb_cpu:.0f}x | {full_med / vb_med:.0f}x"
        )
        print(f"  gaorg GA path / vectorbt: {ga / vb:.0f}x | {ga_cpu / vb_cpu:.0f}x | {ga_med / vb_med:.0f}x")
    print("time per evaluation (EMA 12/48, full backtest, best CPU time of 5) as the series grows:")
    genome = make_genome(("ema_crossover", {"fast": 12, "slow": 48, "direction": "long"}))
    for n in (10_000, 100_000, 1_000_000):
        series = synth_bars("BTC", "1h", n, seed=2)
        ms = best_ms(lambda s=series: gaorg_full(genome, s))
        print(f"  {n:>9,} bars: {ms:8.2f} ms  ({ms * 1e6 / n:5.1f} ns/bar)")
    if not args.no_cold:
        print("cold start (numba compiles on first use, cache=True keeps it on disk):")
        cold_start()


if __name__ == "__main__":
    main()
