"""One meaning of a learned entry: the fast, cached path gives exactly the reference's signal.

The reference (``gaorg.strategies.learned_reference``) is the code as first written with
scikit-learn's public estimators; the signals are compared bit for bit over random parameters
(drawn by the GA's own sampler) and random markets, cold and from the caches, and through
rebuilt ``Bars`` objects with the same content.
"""

from __future__ import annotations

import dataclasses
import pickle
import random

import numpy as np
import pytest

from gaorg.data.bars import Bars
from gaorg.strategies import learned_reference
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.sampling import random_params
from tests.unit.strategy_kit import random_bars

REFERENCE = {"linear_svc": learned_reference.linear_svc, "pca_tree": learned_reference.pca_tree}


def momentum_bars(n: int, seed: int, phi: float) -> Bars:
    """Returns with autocorrelation ``phi``: a market the models find a pattern in."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    for i in range(1, n):
        r[i] = phi * r[i - 1] + rng.normal(0, 0.004)
    close = 100 * np.exp(np.cumsum(r))
    wick = np.abs(rng.normal(0.0, 0.002, (2, n)))
    return Bars.from_arrays(
        np.arange(n) * 3_600_000, close, close * (1 + wick[0]), close * (1 - wick[1]), close
    )


def market(seed: int) -> Bars:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1500, 3500))
    return random_bars(n, seed=seed) if seed % 2 else momentum_bars(n, seed, float(rng.uniform(-0.5, 0.9)))


def rebuilt(bars: Bars) -> Bars:
    """A new ``Bars`` object (new arrays) with the same content."""
    return Bars.from_arrays(
        np.array(bars.ts), np.array(bars.open), np.array(bars.high), np.array(bars.low), np.array(bars.close)
    )


def cases(name: str, count: int, seed: int) -> list[tuple[Bars, dict]]:
    rng = random.Random(seed)
    out = []
    for k in range(count):
        bars = market(seed * 1000 + k)
        params = random_params(CATALOGUE[name], rng, max_lookback=len(bars) - 300)
        out.append((bars, params))
        # a mutant that shares its fits (other refit, other direction) and one that shares features
        out.append(
            (bars, {**params, "refit": rng.randint(250, 2000), "direction": rng.choice(("long", "both"))})
        )
        out.append((rebuilt(bars), {**params, "horizon": max(1, params["horizon"] - 1)}))
    return out


@pytest.mark.parametrize("name", ["linear_svc", "pca_tree"])
def test_the_fast_path_gives_the_reference_signal_bit_for_bit(name):
    from gaorg.strategies import learned_cache

    learned_cache.clear()
    compute, reference = CATALOGUE[name].compute, REFERENCE[name]
    for bars, params in cases(name, 8, seed=len(name)):
        want = reference(bars, params)
        cold = compute(bars, params)
        warm = compute(rebuilt(bars), params)  # content, not identity: a hit on a new object
        for got in (cold, warm):
            assert got.dtype == want.dtype and got.flags.writeable
            assert np.array_equal(got, want), (name, params, np.flatnonzero(got != want)[:5])
        assert not np.shares_memory(cold, warm)  # a fresh array each call: the composer may write into it


def test_a_changed_bar_is_a_different_market_for_the_caches():
    bars = market(3)
    params = random_params(CATALOGUE["linear_svc"], random.Random(1), max_lookback=len(bars) - 300)
    before = CATALOGUE["linear_svc"].compute(bars, params)
    close = np.array(bars.close)
    close[len(close) // 2 :] *= np.exp(np.linspace(0.0, 0.3, len(close) - len(close) // 2))
    changed = Bars.from_arrays(
        np.array(bars.ts),
        np.array(bars.open),
        np.maximum(bars.high, close),
        np.minimum(bars.low, close),
        close,
    )
    assert np.array_equal(
        CATALOGUE["linear_svc"].compute(changed, params), learned_reference.linear_svc(changed, params)
    )
    assert np.array_equal(CATALOGUE["linear_svc"].compute(bars, params), before)


def test_the_learned_specs_pickle_by_reference_for_dask_workers():
    for name in REFERENCE:
        spec = pickle.loads(pickle.dumps(CATALOGUE[name]))
        assert spec.compute is CATALOGUE[name].compute


def test_a_bounded_cache_keeps_its_bytes_under_the_bound_and_evicts_the_least_recent():
    from gaorg.strategies.learned_cache import BoundedCache

    cache = BoundedCache(300, lambda v: v)
    for key in "abc":
        cache.put(key, 100)
    assert cache.get("a") == 100  # now the most recent
    cache.put("d", 100)
    assert cache.get("b") is None and cache.get("a") == 100 and cache.bytes == 300
    cache.put("e", 1000)  # larger than the bound: not kept, nothing evicted
    assert cache.get("e") is None and len(cache) == 3


def _preorder(feature, threshold, left, right, counts) -> list:
    """(feature, threshold, class counts) of each node, depth first, left before right."""
    out, todo = [], [0]
    while todo:
        i = todo.pop()
        split = feature[i] >= 0
        node = (int(feature[i]) if split else -1, float(threshold[i]) if split else 0.0, tuple(counts[i]))
        out.append(node)
        if split:
            todo += [right[i], left[i]]
    return out


def _tree_case(seed: int) -> tuple:
    """Random float32 features and classes; ``seed % 6`` picks plain values, few distinct values (runs
    and features constant within nodes), a duplicated feature, a feature in the same order as
    another (ties between features at every split), a constant feature, half-unit steps."""
    rng = np.random.default_rng(seed)
    n, k, depth = int(rng.integers(30, 2000)), int(rng.integers(1, 6)), int(rng.integers(1, 7))
    z = rng.normal(size=(n, k))
    kind = seed % 6
    if kind == 1:
        z = np.round(z * rng.integers(1, 4))
    elif kind == 2 and k > 1:
        z[:, rng.integers(1, k)] = z[:, 0]
    elif kind == 3 and k > 1:
        z[:, -1] = 3.0 * z[:, 0] + 1.0
    elif kind == 4:
        z[:, rng.integers(0, k)] = 1.5
    elif kind == 5:
        z = np.floor(z * 2.0) / 2.0
    z = z.astype(np.float32)
    classes = int(rng.integers(1, 4))
    noisy = np.digitize(z[:, 0] + rng.normal(0, 1, n), (-0.5, 0.5)[: classes - 1])
    y = rng.integers(0, classes, n) if seed % 2 else noisy
    y = np.unique(y, return_inverse=True)[1].astype(np.int64)
    leaf = max(10, n // 20) if seed % 3 else int(rng.integers(1, 20))
    return z, y, depth, leaf


def test_the_tree_kernel_grows_scikit_learns_tree_ties_and_constant_features_included():
    """Node by node (feature, threshold, class counts) and every prediction, over 150 random fits of
    which about a third have a tie between features or a feature constant in a node (there the
    visiting order, scikit-learn's seeded draws, decides the split)."""
    from sklearn.tree import DecisionTreeClassifier

    from gaorg.strategies import learned_pca, learned_tree

    for seed in range(150):
        z, y, depth, leaf = _tree_case(seed)
        zt = np.ascontiguousarray(z.T)
        orders = np.argsort(zt, axis=1)
        if seed % 2:  # the fit's way: sorted keys from the float32 projections (here z - 0.0)
            zt, orders = learned_pca.shifted_float32_t(z.astype(np.float64), np.zeros((1, z.shape[1])))
            orders.sort(axis=1)
        nodes = learned_tree.build(zt, orders, y, int(y.max()) + 1, depth, leaf)
        model = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=leaf, random_state=0).fit(z, y)
        t = model.tree_
        counts = np.round(t.value[:, 0, :] * t.n_node_samples[:, None])
        want = _preorder(t.feature, t.threshold, t.children_left, t.children_right, counts)
        assert _preorder(*nodes) == want, seed
        assert np.array_equal(learned_tree.predict(z, *nodes), model.predict(z)), seed


def test_the_window_kernel_gives_numpys_mean_deviation_and_standardised_rows():
    from gaorg.strategies.learned_window import standardised_rows, standardised_window

    rng = np.random.default_rng(3)
    for trial in range(200):
        n, d = int(rng.integers(20, 2500)), int(rng.choice((5, 8)))
        x = (rng.standard_t(3, size=(n, 8)) * rng.uniform(0.01, 100.0))[:, :d]  # a strided view
        if trial % 2:
            x = np.asfortranarray(x)  # the cached features' column-major layout
        if trial % 7 == 0:
            x[:, 1] = 0.25  # a constant column: deviation 0, replaced by 1
        fwd = rng.normal(size=n)
        keep = rng.random(n) > 0.05
        lo = int(rng.integers(0, n // 2))
        keep = keep[lo:]
        tx, ty, mean, std, rows = standardised_window(x, fwd, keep, lo, 2 * d)
        want_x, want_y = x[lo:][keep], fwd[lo:][keep]
        want_mean, want_std = want_x.mean(axis=0), want_x.std(axis=0)
        want_std[want_std == 0.0] = 1.0
        assert rows == len(want_y) and np.array_equal(ty, want_y)
        assert np.array_equal(mean, want_mean) and np.array_equal(std, want_std)
        assert np.array_equal(tx, (want_x - want_mean) / want_std)
        ok = keep[: min(len(keep), 300)]
        got = standardised_rows(x, ok, lo, mean, std)
        assert np.array_equal(got, (x[lo : lo + len(ok)][ok] - mean) / std)


def test_the_pca_kernels_give_numpys_quantile_classes_and_scikit_learns_components():
    from sklearn.decomposition import PCA

    from gaorg.strategies import learned_models, learned_pca

    rng = np.random.default_rng(4)
    for trial in range(60):
        n, d, k = int(rng.integers(16, 2000)), int(rng.choice((5, 8))), int(rng.integers(1, 5))
        fwd = rng.standard_t(3, n) * rng.uniform(1e-4, 1.0)
        if trial % 3 == 0:
            fwd = np.round(fwd, int(rng.integers(1, 4)))  # ties at the quantiles
        q = float(rng.uniform(0.1, 0.45))
        low, high = np.quantile(fwd, (q, 1.0 - q))
        want_classes, want = np.unique(
            np.where(fwd >= high, 1, np.where(fwd <= low, -1, 0)), return_inverse=True
        )
        classes, encoded = learned_pca.quantile_classes(fwd, np.sort(fwd), q, 1.0 - q)
        assert classes.dtype == want_classes.dtype and np.array_equal(classes, want_classes)
        assert np.array_equal(encoded, want)
        x = rng.standard_t(3, size=(n, d)) * rng.uniform(0.01, 10.0, d)
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        pca = PCA(k, svd_solver="covariance_eigh").fit(x)
        components, mean = learned_models.pca_fit(x, k)
        assert np.array_equal(components, pca.components_) and np.array_equal(mean, pca.mean_)
    vecs = np.eye(4)
    vecs[2, 1] = np.nan  # what eigh's gufunc returns when LAPACK does not converge: pca_fit asks eigh
    assert learned_pca.flipped_components(vecs, 2).shape == (0, 4)


def test_a_learned_entry_skips_the_fits_before_the_scored_bars_and_keeps_the_scored_targets():
    """``targets(..., scored_from=s)`` (evolution's folds read targets from s on) leaves out the
    fits whose predictions all fall before s: the targets from s on, stops and take-profits are
    the full plan's bit for bit, with or without a batch's memo. A genome with a sizing module (its
    hold samples the scale where the signal last changed) skips them too where the hold cannot
    reach back before the computed block, else computes the whole signal; one whose hold is
    fused into the SMA filter and ATR stop's pass (no memo) computes the whole signal."""
    from gaorg.evolve import operators
    from gaorg.evolve.operators import Space
    from gaorg.strategies import learned, learned_cache
    from gaorg.strategies.compose import indicator_uses, targets
    from gaorg.strategies.memo import Memo

    rng = random.Random(9)
    modules = (
        "linear_svc",
        "pca_tree",
        "rsi_filter",
        "sma_trend",
        "atr_stop",
        "vol_scaling",
    )  # sma + atr: the fused tail
    space = Space.from_modules(modules, max_lookback=700)
    skipped = sized_skipped = sized_whole = 0
    for k in range(40):
        bars = market(500 + k % 14)
        genome = operators.random_genome(rng, space)
        if (
            genome.sizing is not None
        ):  # a scale that moves bar to bar (not clipped at 1): a hold read wrong shows
            sizing = tuple((k, 0.05 if k == "target_vol" else min(v, 50) if k == "period" else v)
                           for k, v in genome.sizing.params)  # fmt: skip
            genome = dataclasses.replace(genome, sizing=dataclasses.replace(genome.sizing, params=sizing))
        p = genome.entry.as_dict()
        first = learned.first_fit_bar(p["feature_period"], p["horizon"], p["window"])
        # a scored bar in a block's first bars: the hold's fallback (a run from the block's start) is likely
        begin = first + rng.randint(0, max(0, (len(bars) - 2 - first) // p["refit"])) * p["refit"]
        scored_from = min(len(bars) - 2, begin + rng.choice((0, 1, 3, rng.randint(0, p["refit"]))))
        for with_memo in (False, True):
            fits = []
            for s in (0, scored_from):
                learned_cache.clear()
                memo = Memo(1 << 26).plan(indicator_uses([genome])) if with_memo else None
                plan = targets(genome, bars, memo=memo, scored_from=s)
                fits.append(learned_cache.stats()["models"]["misses"])
                if s == 0:
                    full = plan
            assert plan.target[scored_from:].tobytes() == full.target[scored_from:].tobytes(), (
                genome.to_json()
            )
            assert plan.stop.tobytes() == full.stop.tobytes() and plan.take.tobytes() == full.take.tobytes()
            skipped += fits[1] < fits[0]
            if genome.sizing is not None and learned.scored_block_start(p, scored_from)[1]:
                sized_skipped += fits[1] < fits[0]
                sized_whole += fits[1] >= fits[0]
    assert skipped >= 10 and sized_skipped >= 3 and sized_whole >= 3, (skipped, sized_skipped, sized_whole)


def test_a_sized_learned_genome_computes_the_whole_signal_where_its_hold_would_reach_back(monkeypatch):
    """A long-and-short ``linear_svc`` (a +-1 signal: runs cross the refit blocks' starts) held by a
    volatility scale that moves bar to bar: scored from a block's first bars, the hold's last change
    can lie before the computed block. The plan from the scored bar on is the full one's; skipping
    the fits there without that check would not be (the check is what keeps it)."""
    from gaorg.strategies import compose, learned, learned_cache
    from gaorg.strategies.compose import indicator_uses, targets
    from gaorg.strategies.genome import make_genome
    from gaorg.strategies.memo import Memo

    def plan(genome, bars, scored_from):
        learned_cache.clear()
        memo = Memo(1 << 26).plan(indicator_uses([genome]))
        return targets(genome, bars, memo=memo, scored_from=scored_from), learned_cache.stats()["models"][
            "misses"
        ]

    rng = random.Random(4)
    skipped = fell_back = wrong_without = 0
    for k in range(16):
        bars = market(600 + k)
        entry = {"feature_period": rng.randint(3, 20), "horizon": rng.randint(1, 12), "window": rng.randint(100, 400),
                 "refit": rng.randint(250, 400), "log_c": rng.uniform(-2.0, 0.0), "direction": "both"}  # fmt: skip
        genome = make_genome(
            ("linear_svc", entry), sizing=("vol_scaling", {"period": 20, "target_vol": 0.05})
        )
        first = learned.first_fit_bar(entry["feature_period"], entry["horizon"], entry["window"])
        for block in range(1, (len(bars) - 2 - first) // entry["refit"]):
            scored_from = first + block * entry["refit"] + rng.choice((0, 1, 2))
            full, fits = plan(genome, bars, 0)
            part, part_fits = plan(genome, bars, scored_from)
            assert part.target[scored_from:].tobytes() == full.target[scored_from:].tobytes(), (k, block)
            skipped += part_fits < fits
            fell_back += part_fits == fits
            with monkeypatch.context() as patched:
                patched.setattr(compose, "_hold_within", lambda *a: True)
                unguarded, _ = plan(genome, bars, scored_from)
            wrong_without += unguarded.target[scored_from:].tobytes() != full.target[scored_from:].tobytes()
    assert skipped >= 10 and fell_back >= wrong_without >= 3, (skipped, fell_back, wrong_without)
