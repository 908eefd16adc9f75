"""Benchmark: one linear_svc fit, scikit-learn's ``train_wrap`` vs ``learned_svc.fit`` (numba), side by side.

Run: .venv/bin/python tests/bench/bench_svc_fit.py [--rows 1000] [--features 5] [--rounds 5] [--calls 200]

Each round times ``--calls`` fits of each (alternated by round, the same window) on standardised
random features with a label that leans on the first one, C drawn from the gene's range
(10 ** U(-3, 1)) once per round; it prints the minimum and the median per fit in microseconds and
their ratio, and checks the coefficients are the same bit for bit. Wall time of one process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gaorg.strategies import learned_svc  # noqa: E402
from tests.unit.test_learned_svc import train_wrap  # noqa: E402


def timed(fn, calls: int) -> np.ndarray:
    out = np.empty(calls)
    for k in range(calls):
        start = time.perf_counter()
        fn()
        out[k] = time.perf_counter() - start
    return out * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--features", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.rows} rows x {args.features} features, {args.calls} fits per round and solver (us a fit)")
    for r in range(args.rounds):
        x = rng.normal(size=(args.rows, args.features))
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        positive = x[:, 0] * 0.3 + rng.normal(size=args.rows) > 0.0
        c = float(10.0 ** rng.uniform(-3.0, 1.0))
        assert np.array_equal(learned_svc.fit(x, positive, c), train_wrap(x, positive, c))
        pair = {
            "train_wrap": lambda x=x, positive=positive, c=c: train_wrap(x, positive, c),
            "kernel": lambda x=x, positive=positive, c=c: learned_svc.fit(x, positive, c),
        }
        order = list(pair) if r % 2 == 0 else list(pair)[::-1]
        times = {name: timed(pair[name], args.calls) for name in order}
        line = "  ".join(f"{n} min {t.min():6.1f} med {np.median(t):6.1f}" for n, t in times.items())
        ratio = np.median(times["train_wrap"]) / np.median(times["kernel"])
        print(f"round {r} C={c:.4g}: {line}  x{ratio:.2f} (medians)")


if __name__ == "__main__":
    main()
