"""Why the deflated Sharpe deflates with the null variance (a script, not a test).

    .venv/bin/python tests/bench/bench_trial_spread.py [--seed 7]

The demo's evolution (4h -> 1h, population 24, 3 generations, 3 folds) on the demo's planted
basket (``gaorg.demo.PLANTED``) and on three random walks, in this process. For the 1h stage's
scored trials: the spread (standard deviation) of their per-bar Sharpe ratios over the pooled
walk-forward returns, beside ``1/sqrt(T)``, the spread luck alone gives over their ``T`` returns.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from gaorg.data.planted import planted_market
from gaorg.data.resample import resample_bars
from gaorg.demo import PLANTED
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.stats import sharpe_per_bar
from gaorg.research.search import run_nsga2


def spread(kind: str, seed: int) -> tuple[float, float, int]:
    bars = {}
    for i, symbol in enumerate(("A", "B", "C")):
        if kind == "planted":
            b = planted_market("trend", symbol, 4000, seed=seed + i, **PLANTED).bars
        else:
            b = planted_market("walk", symbol, 4000, seed=seed + i).bars
        bars[(symbol, "1h")], bars[(symbol, "4h")] = b, resample_bars(b, "4h")
    config = EvolveConfig(symbols=("A", "B", "C"), timeframes=("4h", "1h"), population=24, generations=3,
                          seed=seed, folds=3, workers=0)
    found, _ = run_nsga2(config, bars)
    sums = [t.cells[:, :5].sum(axis=0) for _, t in found if t.feasible]
    sr = np.array([sharpe_per_bar(s) for s in sums])
    n = float(np.mean([s[0] for s in sums]))
    return float(np.std(sr, ddof=1)), 1.0 / np.sqrt(n), len(sums)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    for kind in ("planted", "walk"):
        sd, luck, count = spread(kind, args.seed)
        print(f"{kind:8s} {count} trials: Sharpe per bar spread {sd:.4f}, luck alone 1/sqrt(T) {luck:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
