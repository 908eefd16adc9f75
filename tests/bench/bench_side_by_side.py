"""What two processes on this machine's cores get done side by side, without Dask (a script, not a test).

    .venv/bin/python tests/bench/bench_side_by_side.py [--series 30] [--genomes 64] [--rounds 3]

The ceiling of a 2-worker speedup here: ``bench_scale.py --speedup`` compares two Dask workers
with one, and two processes on two cores may each run slower than one alone (shared caches,
memory bandwidth, the clock), which no scheduler can win back. Each process builds the same
synthetic market (``--series`` series of a year of 15m bars, as ``bench_scale.py``) and draws the
same ``--genomes`` random genomes of the 10 rule families, then, on a signal, evaluates them in
one batch (``evaluate_batch``, as a worker does) and reports its wall and CPU seconds. A round
runs one process alone, then two at once; the ratio of the pair's mean seconds to the lone
process's is the slowdown, and ``2 / ratio`` the most two workers can be sped up over one.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _work(series: int, genomes: int, ready, go, out) -> None:
    from gaorg.data.synth import synth_bars
    from gaorg.evolve.config import EvolveConfig
    from gaorg.evolve.fitness import evaluate_batch
    from gaorg.evolve.operators import Space, random_genome
    from gaorg.evolve.run import build_market
    from gaorg.strategies.catalogue import CATALOGUE

    modules = tuple(sorted(n for n, s in CATALOGUE.items() if not s.learned))
    symbols = tuple(f"SCALE-{i:03d}" for i in range(series))
    data = {(s, "15m"): synth_bars(s, "15m", 35_040, seed=i) for i, s in enumerate(symbols)}
    market = build_market(EvolveConfig(symbols=symbols, timeframes=("15m",), folds=4, modules=modules), data, 0)
    rng = random.Random(7)
    space = Space.from_modules(modules, parsimony=0.5)
    batch = [random_genome(rng, space) for _ in range(genomes)]
    evaluate_batch(batch[:2], market)  # numba's cache loaded, the memo's first allocations made
    ready.set()
    go.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    evaluate_batch(batch, market)
    out.put((time.perf_counter() - wall, time.process_time() - cpu))


def run(n: int, series: int, genomes: int) -> list[tuple[float, float]]:
    """``n`` processes evaluating the same batch at once: each one's (wall, CPU) seconds."""
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    readies = [ctx.Event() for _ in range(n)]
    procs = [ctx.Process(target=_work, args=(series, genomes, r, go, out)) for r in readies]
    for p in procs:
        p.start()
    for r in readies:
        r.wait()
    go.set()
    got = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return got


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=30)
    ap.add_argument("--genomes", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"{args.series} series x 35,040 15m bars, {args.genomes} genomes a batch, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}")
    print("| round | alone s (CPU s) | side by side s, each (CPU s) | slowdown | speedup ceiling |\n"
          "| ---: | ---: | --- | ---: | ---: |")
    ratios = []
    for k in range(1, args.rounds + 1):
        ((alone, alone_cpu),) = run(1, args.series, args.genomes)
        pair = run(2, args.series, args.genomes)
        ratio = statistics.mean(w for w, _ in pair) / alone
        ratios.append(ratio)
        print(f"| {k} | {alone:.2f} ({alone_cpu:.2f}) | "
              + ", ".join(f"{w:.2f} ({c:.2f})" for w, c in pair)
              + f" | {ratio:.2f}x | {2 / ratio:.2f} ({1 / ratio:.0%} parallel efficiency) |", flush=True)
    print(f"slowdown side by side: {min(ratios):.2f}-{max(ratios):.2f}x; the most two workers can be sped "
          f"up over one: {2 / max(ratios):.2f}-{2 / min(ratios):.2f}x ({1 / max(ratios):.0%}-{1 / min(ratios):.0%})")


if __name__ == "__main__":
    main()
