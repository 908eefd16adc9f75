"""Where a generation's learned genomes spend their time: the kernels, the features, the loop between.

    .venv/bin/python tests/bench/bench_learned_split.py [--repeat 3] [--offspring]

``bench_generation.py`` part (b)'s generation 0 (256 genomes drawn by the GA's sampler, seed 5; 3
assets x 20,000 1h bars, 4 anchored folds); its learned genomes (66) evaluated as one batch, the
learned caches emptied first, with wall-clock wrappers around the learned path's calls: the tree
kernels (``learned_tree_block``: a series' missing fits in ``prepare_all`` and ``trees_all``, a cached
fit's predictions in ``predict_block``), the SVC's (``learned_svc_block.fit_blocks``,
``predict_block``), the features, and ``walk_forward_models`` (whose time less the kernels' is its
own Python: cache lookups and stores, numpy's sorts between the two tree kernels, dispatch and
boxing). The wrappers add ~1 us a call, so the shares are approximate; the last repeat is printed.
``--offspring``: the same for generation 0's offspring (``bench_learned.offspring``, as part (b) draws it).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gaorg.evolve.fitness import evaluate_batch  # noqa: E402
from gaorg.strategies import learned, learned_cache, learned_svc_block, learned_tree_block  # noqa: E402
from gaorg.strategies.catalogue import CATALOGUE  # noqa: E402
from tests.bench.bench_generation import generation_0  # noqa: E402
from tests.bench.bench_learned import offspring  # noqa: E402

TIMED = {
    learned_tree_block: ("prepare", "tree_and_block", "predict_block", "prepare_all", "trees_all"),
    learned_svc_block: ("fit_block", "fit_blocks", "predict_block"),
    learned: ("walk_forward_models", "_features_f", "forward_returns"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--offspring", action="store_true", help="generation 0's offspring instead of generation 0")
    args = ap.parse_args()
    market, gen0, rng, space = generation_0()
    pop, which = (offspring(gen0, rng, space), "its offspring") if args.offspring else (gen0, "generation 0")
    sub = [g for g in pop if any(CATALOGUE[m].learned for m in g.modules)]
    evaluate_batch(gen0[:16], market)  # warm-up: numba's cache, the imports
    learned_cache.clear()
    evaluate_batch(sub, market)
    spent: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    for module, names in TIMED.items():
        for name in names:
            real = getattr(module, name)
            label = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"

            def timed(*a, _real=real, _label=label, **k):
                start = time.perf_counter()
                try:
                    return _real(*a, **k)
                finally:
                    spent[_label] += time.perf_counter() - start
                    calls[_label] += 1

            setattr(module, name, timed)
    for _ in range(args.repeat):
        learned_cache.clear()
        spent.clear()
        calls.clear()
        start = time.perf_counter()
        evaluate_batch(sub, market)
        total = time.perf_counter() - start
    fits = learned_cache.stats()["models"]
    print(f"{len(sub)} learned genomes of {which}, one batch: {total * 1e3:.0f} ms with the wrappers; "
          f"{fits['misses']} fits, {fits['hits']} read from the cache")  # fmt: skip
    for label, seconds in spent.most_common():
        print(f"  {label:36s} {seconds * 1e3:7.1f} ms  {seconds / total:5.1%}  {calls[label]} calls")
    kernels = sum(v for k, v in spent.items() if k.startswith(("learned_tree_block", "learned_svc_block")))
    own = spent["learned.walk_forward_models"] - kernels
    print(f"  walk_forward_models' own Python     {own * 1e3:7.1f} ms  {own / total:5.1%}")


if __name__ == "__main__":
    main()
