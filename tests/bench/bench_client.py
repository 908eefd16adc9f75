"""Where an evolution's time goes outside the evaluations, and what a batch holds in memory.

    .venv/bin/python tests/bench/bench_client.py --series 30
    .venv/bin/python tests/bench/bench_client.py --series 50 --bars 35040 --population 128

The figures behind docs/scale.md's "where the rest goes": an evolution of ``--series`` synthetic
15m series (4h -> 1h -> 15m, population ``--population``, 2 generations a stage, the 10 rule
families, a checkpoint after every generation as ``gaorg evolve`` writes it), in this process
(no Dask: the client's own work is what the Dask workers wait for between two generations).
Timed with ``time.perf_counter`` around the loop's own steps:

- selection (NSGA-II's sort and crowding), variation (crossover, mutation, immigrants: drawing
  and validating the children), the generation's statistics, the checkpoint's write;
- per evaluated batch: the batch's CPU seconds, the peak bytes its memo of shared indicators
  held (``Memo.bytes``), and this process's peak resident growth while it ran (VmHWM reset
  before each batch, after a garbage collection and ``malloc_trim``), beside the market's bytes.

``GAORG_ROOT=/path/to/another/checkout`` measures that checkout's code the same way (an A/B).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, os.environ.get("GAORG_ROOT") or str(Path(__file__).resolve().parents[2]))

import gaorg.evolve.loop as loop  # noqa: E402
import gaorg.strategies.memo as memo  # noqa: E402
from gaorg.data.synth import synth_bars  # noqa: E402
from gaorg.evolve import fitness  # noqa: E402
from gaorg.evolve.config import EvolveConfig  # noqa: E402
from gaorg.evolve.run import build_market, evolve  # noqa: E402
from gaorg.strategies.catalogue import CATALOGUE  # noqa: E402

NON_LEARNED = tuple(sorted(n for n, s in CATALOGUE.items() if not s.learned))
TIMEFRAMES = ("4h", "1h", "15m")


def basket(n: int, bars: int) -> tuple[tuple[str, ...], dict]:
    """bench_scale.py's basket (not imported: it would put this checkout first on the path)."""
    symbols = tuple(f"SCALE-{i:03d}" for i in range(n))
    return symbols, {(s, "15m"): synth_bars(s, "15m", bars, seed=i) for i, s in enumerate(symbols)}


def market_bytes(data: dict, symbols: tuple[str, ...], timeframe: str) -> int:
    market = build_market(EvolveConfig(symbols=symbols, timeframes=(timeframe,), folds=4), data, 0)
    return int(sum(getattr(b, f).nbytes for b in market.bars
                   for f in ("ts", "open", "high", "low", "close", "volume", "funding")))


def status_mb(key: str) -> float:
    return int(Path("/proc/self/status").read_text().split(key + ":")[1].split()[0]) / 1024


def timed(seconds: dict, name: str, func):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            seconds[name].append(time.perf_counter() - start)
    return wrapper


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=30)
    p.add_argument("--bars", type=int, default=35_040, help="15m bars a series")
    p.add_argument("--population", type=int, default=128)
    p.add_argument("--generations", type=int, default=2)
    args = p.parse_args(argv)
    import gaorg

    print(f"gaorg from {Path(gaorg.__file__).parent}", flush=True)
    symbols, data = basket(args.series, args.bars)
    seconds: dict[str, list[float]] = defaultdict(list)
    loop.vary = timed(seconds, "variation", loop.vary)
    loop.generation_stats = timed(seconds, "statistics", loop.generation_stats)
    loop.save_state = timed(seconds, "checkpoint", loop.save_state)
    loop.selection.select_nsga2 = timed(seconds, "selection", loop.selection.select_nsga2)
    peak = [0]
    put = memo.Memo._put

    def tracked_put(self, key, value):
        put(self, key, value)
        peak[0] = max(peak[0], self.bytes)

    memo.Memo._put = tracked_put
    batches = []

    def evaluate(genomes, market, **options):
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        base = status_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        peak[0] = 0
        cpu = time.process_time()
        trials = fitness.evaluate_batch(genomes, market, **options)
        batches.append((market.timeframe, len(genomes), time.process_time() - cpu, peak[0] / 2**20,
                        status_mb("VmHWM") - base))
        return trials

    cfg = EvolveConfig(symbols=symbols, timeframes=TIMEFRAMES, population=args.population,
                       generations=args.generations, modules=NON_LEARNED, folds=4, seed=0, workers=0)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        evolve(cfg, data, checkpoint_dir=Path(tmp) / "run", progress=False, evaluate=evaluate)
        wall = time.perf_counter() - start
        size = (Path(tmp) / "run" / "state.ckpt").stat().st_size / 2**20
    generations = len(seconds["statistics"])
    print(f"{args.series} series x {args.bars} 15m bars, population {args.population}: {wall:.1f} s, "
          f"{generations} generations, load {os.getloadavg()[0]:.1f}")
    print("| client step | total s | per generation s | last s |\n| --- | ---: | ---: | ---: |")
    for name in ("selection", "variation", "statistics", "checkpoint"):
        xs = seconds[name]
        print(f"| {name} | {sum(xs):.3f} | {sum(xs) / max(generations, 1):.3f} | {xs[-1]:.3f} |")
    print(f"checkpoint at the end: {size:.1f} MB")
    sizes = {tf: market_bytes(data, symbols, tf) / 2**20 for tf in TIMEFRAMES}
    print("\n| stage | genomes | CPU s | memo peak MB | peak growth MB | market MB |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: |")
    for tf, n, cpu, memo_mb, growth in batches:
        print(f"| {tf} | {n} | {cpu:.2f} | {memo_mb:.1f} | {growth:.1f} | {sizes[tf]:.1f} |")
    print(f"evaluation CPU in all: {sum(b[2] for b in batches):.2f} s")


if __name__ == "__main__":
    main()
