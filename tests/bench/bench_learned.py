"""Benchmark: learned genomes (linear_svc, pca_tree) per evaluation, reference vs cached fast path.

Run: .venv/bin/python tests/bench/bench_learned.py [--bars 100000] [--genomes 20] [--repeat 3]

One evaluation = ``backtest_genome(genome, bars).metrics`` (targets + simulation + metrics) on
synthetic 1h bars, one process, CPU time (the machine is shared). For each learned module, in the
same run:

- the issue's genome alone (feature_period 24, horizon 12, window 1000, refit 500), through the
  reference (``learned_reference``: scikit-learn's public estimators) and through the catalogue
  cold (caches emptied before each evaluation; best of ``--repeat``);
- a generation of ``--genomes`` learned genomes drawn by the GA's sampler
  (``gaorg.evolve.operators.random_genome`` on the module plus the rule filters, exits and sizing):
  generation 0, every genome independent;
- the offspring of those genomes as ``gaorg.evolve.loop.vary`` makes them (crossover 0.7, mutation
  0.9, immigrants 0.2), once with caches emptied at the start of the generation and once with the
  parents' generation evaluated before in the same process (a worker that evaluated them).

Every fast-path evaluation is checked against the reference's metrics.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gaorg.backtest.engine import Costs  # noqa: E402
from gaorg.backtest.run import backtest  # noqa: E402
from gaorg.evolve import operators  # noqa: E402
from gaorg.evolve.operators import Space  # noqa: E402
from gaorg.strategies import learned_cache, learned_reference  # noqa: E402
from gaorg.strategies.catalogue import CATALOGUE  # noqa: E402
from gaorg.strategies.compose import targets  # noqa: E402
from gaorg.strategies.genome import make_genome  # noqa: E402
from tests.unit.strategy_kit import random_bars  # noqa: E402

COSTS = Costs(fee=0.00045, slippage=0.0002)
WINDOWS = {"feature_period": 24, "horizon": 12, "window": 1000, "refit": 500}
ISSUE = {
    "linear_svc": {**WINDOWS, "log_c": -1.0, "direction": "both"},
    "pca_tree": {**WINDOWS, "components": 3, "depth": 4, "quantile": 0.3, "direction": "both"},
}
RULES = ("rsi_filter", "sma_trend", "atr_stop", "vol_scaling")
REFERENCE = {
    **CATALOGUE,
    "linear_svc": replace(CATALOGUE["linear_svc"], compute=learned_reference.linear_svc),
    "pca_tree": replace(CATALOGUE["pca_tree"], compute=learned_reference.pca_tree),
}


def evaluate(genome, bars, catalogue) -> dict:
    return backtest(bars, targets(genome, bars, catalogue), COSTS).metrics


def timed(genomes, bars, catalogue, cold_each: bool = False) -> tuple[float, list[dict]]:
    """CPU seconds per evaluation of ``genomes`` in order, and their metrics."""
    out, spent = [], 0.0
    for g in genomes:
        if cold_each:
            learned_cache.clear()
        t = time.process_time()
        out.append(evaluate(g, bars, catalogue))
        spent += time.process_time() - t
    return spent / len(genomes), out


def offspring(parents, rng, space):
    """Children as ``gaorg.evolve.loop.vary`` makes them with the default rates."""
    kids = []
    for i in range(0, len(parents), 2):
        a, b = parents[i], parents[(i + 1) % len(parents)]
        if rng.random() < 0.7:
            a, b = operators.crossover(a, b, rng, space)
        kids += [operators.mutate(g, rng, space) if rng.random() < 0.9 else g for g in (a, b)]
    return [operators.random_genome(rng, space) if rng.random() < 0.2 else k for k in kids[: len(parents)]]


def same(a: list[dict], b: list[dict]) -> bool:
    return all(
        x == y or all(x[k] == y[k] or (x[k] != x[k] and y[k] != y[k]) for k in x)
        for x, y in zip(a, b, strict=True)
    )


def one_fit(bars, repeat: int) -> None:
    """CPU time of one fit + prediction on a 1,000-row window: the public estimators vs the direct calls."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    from gaorg.strategies import learned_models
    from gaorg.strategies.learned import features, forward_returns

    x, fwd = features(bars, 24), forward_returns(bars, 12)
    train, y = x[5000:6000], fwd[5000:6000]
    mean, std = train.mean(axis=0), train.std(axis=0)
    train, new = (train - mean) / std, (x[6012:6512] - mean) / std
    low, high = np.quantile(y, (0.3, 0.7))
    classes = np.where(y >= high, 1, np.where(y <= low, -1, 0))

    def svc_public():
        LinearSVC(C=0.1, dual=False, max_iter=200, random_state=0).fit(train[:, :5], y > 0).decision_function(
            new[:, :5]
        )

    def tree_public():
        pca = PCA(n_components=3, svd_solver="covariance_eigh").fit(train)
        tree = DecisionTreeClassifier(max_depth=4, min_samples_leaf=50, random_state=0)
        tree.fit(pca.transform(train), classes).predict(pca.transform(new))

    fit_svc, apply_svc = learned_models.linear_svc(0.1)
    fit_tree, apply_tree = learned_models.pca_tree(3, 4, 0.3)
    svc_x, svc_new = np.ascontiguousarray(train[:, :5]), np.ascontiguousarray(new[:, :5])
    rows = [
        ("LinearSVC fit + decision", svc_public, lambda: apply_svc(fit_svc(svc_x, y), svc_new)),
        ("PCA(3) + tree(depth 4) fit + predict", tree_public, lambda: apply_tree(fit_tree(train, y), new)),
    ]
    for label, public, direct in rows:
        spent = []
        for fn in (public, direct):
            fn()
            best = float("inf")
            for _ in range(repeat):
                t = time.process_time()
                for _ in range(50):
                    fn()
                best = min(best, (time.process_time() - t) / 50)
            spent.append(best)
        print(
            f"one fit, {label}: public estimators {spent[0] * 1e3:.2f} ms, direct {spent[1] * 1e3:.2f} ms, "
            f"x{spent[0] / spent[1]:.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=100_000)
    ap.add_argument("--genomes", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--modules", nargs="+", default=["linear_svc", "pca_tree"])
    args = ap.parse_args()
    bars = random_bars(args.bars, seed=1)
    evaluate(make_genome(("ema_crossover", {"fast": 5, "slow": 20, "direction": "both"})), bars, CATALOGUE)
    print(f"{args.bars:,} 1h bars; evaluations/s by CPU time (x: fast path over the reference)")
    one_fit(bars, args.repeat)
    for name in args.modules:
        genome = make_genome((name, ISSUE[name]))
        timed([genome], bars, REFERENCE)  # warm-up: scikit-learn's imports and first calls
        timed([genome], bars, CATALOGUE, cold_each=True)
        ref = min(timed([genome], bars, REFERENCE)[0] for _ in range(args.repeat))
        cold = min(timed([genome], bars, CATALOGUE, cold_each=True)[0] for _ in range(args.repeat))
        ok = same(timed([genome], bars, REFERENCE)[1], timed([genome], bars, CATALOGUE)[1])
        print(
            f"{name} alone, cold: reference {1 / ref:.2f}/s, fast {1 / cold:.2f}/s, x{ref / cold:.1f}"
            f"  (same metrics: {ok})"
        )
        space = Space.from_modules((name, *RULES))
        rng = random.Random(7)
        parents = [operators.random_genome(rng, space) for _ in range(args.genomes)]
        kids = offspring(parents, rng, space)
        shared = sum(any(k.entry == p.entry for p in parents) for k in kids)
        ref_p, want_p = timed(parents, bars, REFERENCE)
        ref_k, want_k = timed(kids, bars, REFERENCE)
        learned_cache.clear()
        fast_p, got_p = timed(parents, bars, CATALOGUE)
        before = learned_cache.stats()
        fast_warm, got_warm = timed(kids, bars, CATALOGUE)
        hits = {k: v["hits"] - before[k]["hits"] for k, v in learned_cache.stats().items()}
        learned_cache.clear()
        fast_k, got_k = timed(kids, bars, CATALOGUE)
        ok = same(want_p, got_p) and same(want_k, got_k) and same(want_k, got_warm)
        print(
            f"{name} generation 0 ({args.genomes} random genomes): reference {1 / ref_p:.2f}/s, "
            f"fast {1 / fast_p:.2f}/s, x{ref_p / fast_p:.1f}"
        )
        print(
            f"{name} offspring ({shared} of {len(kids)} keep a parent's entry): reference {1 / ref_k:.2f}/s, "
            f"fast cold {1 / fast_k:.2f}/s x{ref_k / fast_k:.1f}, after the parents {1 / fast_warm:.2f}/s "
            f"x{ref_k / fast_warm:.1f}  (same metrics: {ok})"
        )
        print(
            f"  cache hits over the offspring after the parents: {hits}; the caches then: {learned_cache.stats()}"
        )


if __name__ == "__main__":
    main()
