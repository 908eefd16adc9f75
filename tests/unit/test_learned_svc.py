"""liblinear's primal L2-loss SVC in numba (``learned_svc.fit``) gives ``train_wrap``'s coefficients bit for bit.

``train_wrap`` is called as ``learned_models`` called it before the kernel (``LinearSVC(dual=False,
max_iter=200)``'s arguments), on the windows a walk-forward fits (standardised features of random
markets, labels from forward returns, C over the gene's range) and on degenerate ones: nearly
separable classes, columns of zeros, ties and repeated rows, one row of a class, -0.0 values, the
fewest rows a fit is given, and more than 7 features (the kernel's general path).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from gaorg.strategies import learned, learned_svc
from gaorg.strategies.learned_window import standardised_window
from tests.unit.strategy_kit import random_bars


def train_wrap(x: np.ndarray, positive: np.ndarray, c: float) -> np.ndarray:
    from sklearn.svm import _liblinear
    from sklearn.svm._base import _get_liblinear_solver_type

    _liblinear.set_verbosity_wrap(0)
    solver = _get_liblinear_solver_type("ovr", "l2", "squared_hinge", False)
    raw, _ = _liblinear.train_wrap(
        x, positive.astype(np.float64), False, solver, 1e-4, 1.0, c, np.ones(2), 200, 0, 0.1, np.ones(len(x))
    )
    return raw


def assert_same(x: np.ndarray, positive: np.ndarray, c: float) -> None:
    want = train_wrap(x, positive, c)
    got = learned_svc.fit(x, positive, c)
    assert got.shape == want.shape and got.strides == want.strides
    assert np.array_equal(got, want), (x.shape, c, got - want)


def walk_forward_windows(count: int, seed: int):
    """Standardised training windows as ``walk_forward_models`` cuts them (5 or 8 features)."""
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        bars = random_bars(int(rng.integers(2500, 4000)), seed=int(rng.integers(1 << 30)))
        period, horizon = int(rng.integers(3, 40)), int(rng.integers(1, 40))
        d = 5 if rng.random() < 0.8 else 8
        x = np.ascontiguousarray(learned.features(bars, period, d))
        fwd = learned.forward_returns(bars, horizon)
        keep_all = np.isfinite(x).all(axis=1) & np.isfinite(fwd)
        for _ in range(4):
            window = int(rng.integers(2 * d, 2000))
            t = int(rng.integers(learned.first_fit_bar(period, horizon, 100), len(fwd)))
            lo = max(0, t - horizon - window + 1)
            tx, ty, _, _, rows = standardised_window(x, fwd, keep_all[lo : t - horizon + 1], lo, 2 * d)
            positive = ty > 0.0
            if rows >= 2 * d and positive.any() and not positive.all():
                made += 1
                yield tx, positive, 10.0 ** rng.uniform(-3.0, 1.0)


def test_the_kernel_gives_train_wraps_coefficients_on_walk_forward_windows():
    for x, positive, c in walk_forward_windows(240, seed=15):
        assert_same(x, positive, c)


def degenerate_windows(seed: int):
    rng = np.random.default_rng(seed)
    for k in range(120):
        m, d = int(rng.integers(10, 1200)), int(rng.choice([1, 2, 5, 7, 8, 12]))
        x = rng.normal(size=(m, d))
        kind = k % 6
        if kind == 0:  # nearly separable: a wide margin on the first feature
            positive = x[:, 0] + rng.normal(0, 0.01, m) > 0
            x[:, 0] += np.where(positive, 3.0, -3.0)
        elif kind == 1:  # a column of zeros (and -0.0 values elsewhere)
            x[:, rng.integers(d)] = 0.0
            x[rng.random((m, d)) < 0.05] = -0.0
            positive = rng.random(m) < 0.5
        elif kind == 2:  # ties: few distinct values, repeated rows
            x = np.round(x, 0)
            x[m // 2 :] = x[: m - m // 2]
            positive = rng.random(m) < 0.5
        elif kind == 3:  # one row of one class
            positive = np.zeros(m, bool)
            positive[rng.integers(m)] = True
            if k % 12 == 3:
                positive = ~positive
        elif kind == 4:  # the fewest rows: twice the features
            m = 2 * d
            x = x[:m]
            positive = np.arange(m) % 3 == 0
        else:  # labels that no hyperplane separates, large C
            positive = rng.random(m) < rng.uniform(0.05, 0.95)
        if positive.all() or not positive.any():
            positive[0] = not positive[0]
        c = 10.0 if k % 5 == 0 else 10.0 ** rng.uniform(-3.0, 1.0)
        yield np.ascontiguousarray(x), positive, c


def test_the_kernel_gives_train_wraps_coefficients_on_degenerate_windows():
    for x, positive, c in degenerate_windows(seed=7):
        assert_same(x, positive, c)


@pytest.mark.slow
def test_a_fresh_process_loads_the_kernel_from_numbas_cache(tmp_path):
    """The BLAS calls are bound by symbol name, not by an address baked into the code, so the
    compiled kernel goes to numba's disk cache and a new process (a Dask worker) loads it."""
    code = (
        "import numpy as np\n"
        "from gaorg.strategies import learned_svc\n"
        "x = np.random.default_rng(0).normal(size=(50, 5))\n"
        "learned_svc.fit(x, x[:, 0] > 0, 1.0)\n"
        "print(sum(learned_svc.fit.stats.cache_hits.values()), sum(learned_svc.fit.stats.cache_misses.values()))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout.split() == ["0", "1"], runs[0].stderr
    assert runs[1].stdout.split() == ["1", "0"], runs[1].stderr
