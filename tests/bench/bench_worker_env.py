"""What a Dask worker's environment costs an evaluation (issue 16, item 3: the workers' CPU).

The same batches of random non-learned genomes on one 15m market (N series x 35,040 bars, 4
anchored folds), CPU seconds measured inside the task (``time.process_time``), in four places:

- ``in-process``: this process (glibc's malloc as it comes);
- ``MALLOC_TRIM_THRESHOLD_=65536``: a child process with the variable Dask's nannies set;
- ``gaorg's LocalCluster``: a worker of :func:`gaorg.evolve.parallel.open_client`;
- ``Dask's default LocalCluster``: a worker started with Dask's nanny environment.

    .venv/bin/python tests/bench/bench_worker_env.py [--series 10] [--batches 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gaorg.data.synth import synth_bars  # noqa: E402
from gaorg.evolve import fitness  # noqa: E402
from gaorg.evolve.config import EvolveConfig  # noqa: E402
from gaorg.evolve.operators import Space, random_genome  # noqa: E402
from gaorg.evolve.run import build_market  # noqa: E402
from gaorg.strategies.catalogue import CATALOGUE  # noqa: E402

NON_LEARNED = tuple(sorted(n for n, s in CATALOGUE.items() if not s.learned))


def setup(series: int, batches: int):
    symbols = tuple(f"S{i:03d}" for i in range(series))
    data = {(s, "15m"): synth_bars(s, "15m", 35040, seed=i) for i, s in enumerate(symbols)}
    market = build_market(EvolveConfig(symbols=symbols, timeframes=("15m",), folds=4), data, 0)
    space = Space.from_modules(NON_LEARNED).with_lookback(market.max_lookback)
    rng = random.Random(1)
    return market, [[random_genome(rng, space) for _ in range(64)] for _ in range(batches + 1)]


def task(genomes, market) -> float:
    start = time.process_time()
    fitness.evaluate_batch(genomes, market)
    return time.process_time() - start


def in_process(series: int, batches: int) -> list[float]:
    market, gens = setup(series, batches)
    task(gens[0][:8], market)  # numba's cache, imports
    return [task(g, market) for g in gens[1:]]


def on_worker(client, series: int, batches: int) -> list[float]:
    market, gens = setup(series, batches)
    ref = client.scatter(market, broadcast=True)
    client.submit(task, gens[0][:8], ref, pure=False).result()
    return [client.submit(task, g, ref, pure=False).result() for g in gens[1:]]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=10)
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(" ".join(f"{x:.4f}" for x in in_process(args.series, args.batches)))
        return
    import dask
    from distributed import Client, LocalCluster

    from gaorg.evolve.parallel import open_client

    rows: dict[str, list[float]] = {}
    rows["in-process"] = in_process(args.series, args.batches)
    child = subprocess.run([sys.executable, __file__, "--child", "--series", str(args.series), "--batches",
                            str(args.batches)], env={**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"},
                           capture_output=True, text=True, check=True)
    rows["MALLOC_TRIM_THRESHOLD_=65536"] = [float(x) for x in child.stdout.split()]
    with open_client(workers=1) as client:
        rows["gaorg's LocalCluster"] = on_worker(client, args.series, args.batches)
    trim = dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_")
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as client:
        rows[f"Dask's default LocalCluster (MALLOC_TRIM_THRESHOLD_={trim})"] = on_worker(
            client, args.series, args.batches)
    base = statistics.median(rows["in-process"])
    print(f"64 random non-learned genomes a batch, {args.series} series x 35,040 15m bars, 4 folds; "
          f"CPU seconds inside the task, load {os.getloadavg()[0]:.1f}")
    for name, xs in rows.items():
        med = statistics.median(xs)
        print(f"  {name:<52} median {med:.2f} s  ({', '.join(f'{x:.2f}' for x in xs)})  x{med / base:.2f}")


if __name__ == "__main__":
    main()
