"""Benchmarks of evolution (a script, not a test): generation throughput on Dask, and a reference run.

    .venv/bin/python tests/bench/bench_evolve.py [--population 256] [--bars 20000] [--skip-reference]

1. Evaluations/s of one whole generation: ``population`` random genomes (seed 0), 3 assets of
   ``bars`` 1h bars, 4 anchored folds, the real engine, through the loop's Dask ``map`` on a
   LocalCluster of 1 and then 2 worker processes (one thread each; market data scattered once).
   Parallel efficiency = rate(2 workers) / (2 x rate(1 worker)); on a shared machine also the
   workers' CPU seconds per generation (1 worker / 2 workers: 100% = no work added by splitting).
   Scheduling overhead per generation = the same map with a do-nothing batch function. Best of several runs per figure
   (the machine is shared). Run once with the non-learned modules (every family but the linear
   SVC and the PCA + tree, which fit a model per fold and cost ~100x more), once with all 12.
2. A reference run: population 128, 20 generations per stage, stages 1d -> 1h, 3 assets of two
   years of 1h bars (1d resampled from them), default LocalCluster, all 12 families.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import time

from gaorg.data.synth import synth_bars
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.fitness import evaluate_batch, genome_cost
from gaorg.evolve.operators import Space, random_genome
from gaorg.evolve.parallel import DaskMapper, open_client
from gaorg.evolve.run import build_market, evolve
from gaorg.strategies.catalogue import CATALOGUE

SYMBOLS = ("BENCH-A", "BENCH-B", "BENCH-C")
NON_LEARNED = tuple(sorted(n for n, s in CATALOGUE.items() if not s.learned))


def noop_batch(genomes, market):
    """A task that does nothing: what is left of a generation's time is scheduling."""
    return [None for _ in genomes]


def best_of(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def generation_figures(population: int, bars: int, runs: int, learned: bool = True) -> list[dict]:
    data = {(s, "1h"): synth_bars(s, "1h", bars, seed=i) for i, s in enumerate(SYMBOLS)}
    cfg = EvolveConfig(symbols=SYMBOLS, timeframes=("1h",), folds=4)
    market = build_market(cfg, data, 0)
    out = []
    spaces = [("non-learned families", NON_LEARNED)] + ([("all 12 families", ())] if learned else [])
    for label, modules in spaces:
        space = Space.from_modules(modules).with_lookback(market.max_lookback)
        rng = random.Random(0)
        genomes = [random_genome(rng, space) for _ in range(population)]
        row: dict = {"space": label, "population": population, "bars": bars}
        for workers in (1, 2):
            with open_client(workers=workers) as client:
                client.wait_for_workers(workers, timeout=120)
                mapper = DaskMapper(client, cost=genome_cost)
                ref = mapper.scatter(market)
                evaluate = functools.partial(evaluate_batch, market=ref)
                mapper(evaluate, genomes)  # warm up: every module's numba code loaded on every worker
                cpu0 = sum(client.run(time.process_time).values())
                seconds = best_of(lambda: mapper(evaluate, genomes), runs)  # noqa: B023
                cpu = (sum(client.run(time.process_time).values()) - cpu0) / runs
                overhead = best_of(lambda: mapper(functools.partial(noop_batch, market=ref), genomes), runs)  # noqa: B023
            row[f"rate_{workers}w"] = population / seconds
            row[f"seconds_{workers}w"] = seconds
            row[f"overhead_{workers}w"] = overhead
            row[f"worker_cpu_{workers}w"] = cpu
            print(f"  {label}, {workers} worker(s): {population / seconds:8.1f} evaluations/s "
                  f"({seconds:.2f} s per generation, workers' CPU {cpu:.2f} s, scheduling "
                  f"{overhead * 1000:.0f} ms)", flush=True)
        row["efficiency"] = row["rate_2w"] / (2 * row["rate_1w"])
        row["cpu_efficiency"] = row["worker_cpu_1w"] / row["worker_cpu_2w"]
        print(f"  {label}: parallel efficiency on 2 workers {row['efficiency']:.0%} (wall), "
              f"{row['cpu_efficiency']:.0%} (work: 1-worker CPU / 2-worker CPU)", flush=True)
        out.append(row)
    return out


def reference_run(seed: int) -> dict:
    n = 2 * 365 * 24
    data = {(s, "1h"): synth_bars(s, "1h", n, seed=i) for i, s in enumerate(SYMBOLS)}
    cfg = EvolveConfig(symbols=SYMBOLS, timeframes=("1d", "1h"), population=128, generations=20, seed=seed,
                       folds=4)
    start = time.perf_counter()
    with open_client() as client:
        result = evolve(cfg, data, client=client, progress=True)
    seconds = time.perf_counter() - start
    row = {"seconds": seconds, "evaluations": result.evaluations,
           "evaluations_per_stage": result.evaluations_per_stage, "front": len(result.front),
           "pbo": result.pbo, "best_sharpe": result.best.sharpe if result.best else None}
    print(f"  reference run: {seconds:.0f} s (cluster start included), {result.evaluations} evaluations "
          f"{result.evaluations_per_stage}, front {len(result.front)}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=256)
    parser.add_argument("--bars", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--skip-learned", action="store_true", help="time the non-learned families only")
    args = parser.parse_args()
    report: dict = {}
    if not args.skip_generation:
        print("one generation (3 assets, 4 folds):", flush=True)
        report["generation"] = generation_figures(args.population, args.bars, args.runs, not args.skip_learned)
    if not args.skip_reference:
        print("reference run (population 128, 20 generations, 1d -> 1h, 3 assets x 2 years):", flush=True)
        report["reference"] = reference_run(args.seed)
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
