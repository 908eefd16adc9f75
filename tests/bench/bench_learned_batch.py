"""CPU time of a generation's learned genomes evaluated as one batch, for A/B runs of two trees.

    .venv/bin/python tests/bench/bench_learned_batch.py [--repeat 7]

``bench_generation.py`` part (b)'s generation 0 (256 genomes drawn by the GA's sampler, seed 5; 3
assets x 20,000 1h bars, 4 anchored folds) and its offspring; each one's learned genomes (66 / 60)
evaluated as one batch with the learned caches emptied first, ``--repeat`` times: the median and
the least CPU time (``time.process_time``). No reference side: run it from inside each tree (a
``git worktree`` of the code before, then this one, alternately, with the same interpreter) and
compare the medians; it prints which ``gaorg`` it imported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gaorg  # noqa: E402
from gaorg.evolve.fitness import evaluate_batch  # noqa: E402
from gaorg.strategies import learned_cache  # noqa: E402
from gaorg.strategies.catalogue import CATALOGUE  # noqa: E402
from tests.bench.bench_generation import generation_0  # noqa: E402
from tests.bench.bench_learned import offspring  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    market, gen0, rng, space = generation_0()
    gen1 = offspring(gen0, rng, space)
    evaluate_batch(gen0[:16], market)  # warm-up: numba's cache, the imports
    print(f"gaorg from {Path(gaorg.__file__).parent.parent}")
    for label, pop in (("generation 0", gen0), ("its offspring", gen1)):
        learned = [g for g in pop if any(CATALOGUE[m].learned for m in g.modules)]
        learned_cache.clear()
        evaluate_batch(learned, market)
        times = []
        for _ in range(args.repeat):
            learned_cache.clear()
            start = time.process_time()
            evaluate_batch(learned, market)
            times.append(time.process_time() - start)
        print(f"  {label}: {len(learned)} learned genomes, one batch: median {statistics.median(times) * 1e3:.1f} ms "
              f"CPU, least {min(times) * 1e3:.1f} ms ({args.repeat} runs)")  # fmt: skip


if __name__ == "__main__":
    main()
