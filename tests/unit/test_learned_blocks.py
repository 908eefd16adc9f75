"""The learned fits' block kernels give the Python path's numbers bit for bit.

``learned_blas`` (numpy's own BLAS called from numba) against numpy's ``@``; ``learned_svc_block``
and ``learned_tree_block`` (a walk-forward fit with its block's predictions, a cached fit's
predictions) against ``standardised_window`` + ``learned_models``' fit and apply on walk-forward
windows of random markets.
"""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.strategies import learned, learned_blas
from gaorg.strategies.learned_window import standardised_rows, standardised_window
from tests.unit.strategy_kit import random_bars

pytestmark = pytest.mark.skipif(
    not learned_blas.available(), reason="numpy's BLAS is not its bundled OpenBLAS: the Python path is used"
)


def test_matmul_abt_and_gram_are_numpys_products_bit_for_bit():
    rng = np.random.default_rng(11)
    for k in range(400):
        m = 1 if k % 7 == 0 else int(rng.integers(2, 2100))
        c = 1 if k % 5 == 0 else int(rng.integers(2, 5))
        d = int(rng.integers(2, 9))
        a, b = rng.normal(size=(m, d)), rng.normal(size=(c, d))
        assert np.array_equal(learned_blas.matmul_abt(a, b), a @ b.T), (m, c, d)
        if m >= 2:
            assert np.array_equal(learned_blas.gram(a), a.T @ a), (m, d)


def test_eigh_vectors_are_numpys_eigh_bit_for_bit():
    """numpy's ``eigh_lo`` gufunc against the kernel's call of the same LAPACK ``dsyevd``, on
    covariances of 1-8 features, repeated and zero columns included."""
    from numpy.linalg import _umath_linalg

    rng = np.random.default_rng(13)
    for k in range(600):
        d = 8 if k % 3 else int(rng.integers(1, 9))
        x = rng.normal(size=(int(rng.integers(d + 1, 400)), d)) * rng.uniform(0.01, 10.0, size=d)
        if k % 7 == 0 and d > 1:
            x[:, 0] = x[:, 1]
        if k % 11 == 0:
            x[:, -1] = 0.0
        mean = x.mean(axis=0)
        cov = (x.T @ x - len(x) * np.outer(mean, mean)) / (len(x) - 1)
        want = _umath_linalg.eigh_lo(cov, signature="d->dd")[1]
        assert np.array_equal(learned_blas.eigh_vectors(cov), want), (k, d)


def _walk_forward_case(rng, seed: int, columns: int, min_rows: int):
    """A random walk-forward fit: its features, labels, fit bar t, block [t, stop) with its finite
    rows ``ok``, and the window's first row ``lo`` with its usable rows ``keep``."""
    bars = random_bars(int(rng.integers(2500, 4000)), seed=seed)
    period, horizon, window = (
        int(rng.integers(3, 30)),
        int(rng.integers(1, 30)),
        int(rng.integers(min_rows, 2000)),
    )
    x = learned.features(bars, period, columns, order="F")
    fwd = learned.forward_returns(bars, horizon)
    finite_x = np.isfinite(x).all(axis=1)
    finite_xy = finite_x & np.isfinite(fwd)
    t = int(rng.integers(learned.first_fit_bar(period, horizon, min_rows), len(fwd) - 1))
    stop = min(len(fwd), t + (1 if seed % 10 == 0 else int(rng.integers(2, 2000))))
    lo = max(0, t - horizon - window + 1)
    return x, fwd, t, stop, finite_x[t:stop], lo, finite_xy[lo : t - horizon + 1]


def test_the_block_kernels_give_the_python_paths_window_fit_and_predictions():
    """``fit_block`` / ``predict_block`` against ``standardised_window`` + ``linear_svc``'s fit and apply
    (numpy's matmul: its BLAS's summation order, one-row blocks through its dot) on walk-forward
    windows and blocks of 1 to 2,000 rows, a third of them scoring rows near the boundary."""
    from gaorg.strategies import learned_models, learned_svc_block

    rng = np.random.default_rng(3)
    for k in range(150):
        x, fwd, t, stop, ok, lo, keep = _walk_forward_case(rng, k, 5, 10)
        c = 10.0 ** rng.uniform(-3.0, 1.0)
        fit, apply = learned_models.linear_svc(c)
        want = np.zeros(len(fwd))
        tx, ty, mean, std, rows = standardised_window(x, fwd, keep, lo, 10)
        raw = fit(tx, ty) if rows >= 10 else None
        if rows >= 10 and ok.any():
            want[t:stop][ok] = apply(raw, standardised_rows(x, ok, t, mean, std))
        got = np.zeros(len(fwd))
        state, got_mean, got_std, got_raw = learned_svc_block.fit_block(x, fwd, keep, lo, 10, c, ok, t, got)
        assert state == (0 if rows < 10 else 1 if raw is None else 2)
        assert np.array_equal(got, want)
        if state == 2:
            assert (
                np.array_equal(got_mean, mean)
                and np.array_equal(got_std, std)
                and np.array_equal(got_raw, raw)
            )
            if k % 3 == 0:  # a decision near 0 for some rows: the last bit decides the sign
                raw = raw.copy(order="F")
                xn = standardised_rows(x, ok, t, mean, std)
                raw[0, -1] = -float(np.median(xn @ raw[:, :-1].T))
            want = np.zeros(len(fwd))
            want[t:stop][ok] = apply(raw, standardised_rows(x, ok, t, mean, std))
            got = np.zeros(len(fwd))
            learned_svc_block.predict_block(x, ok, t, mean, std, raw, got)
            assert np.array_equal(got, want)


def test_the_decision_values_are_numpys_matmul_bit_for_bit():
    """numpy's gemv does not sum a row as a loop does (~40% of rows differ in the last bit)."""
    from gaorg.strategies import learned_svc_block

    rng = np.random.default_rng(5)
    differ = 0
    for k in range(300):
        rows, d = (1 if k % 10 == 0 else int(rng.integers(2, 2500))), int(rng.integers(2, 9))
        xn = rng.normal(size=(rows, d))
        raw = np.asfortranarray(rng.normal(size=(1, d + 1)))
        want = (xn @ raw[:, :-1].T + 1.0 * raw[:, -1]).reshape(-1)
        got = learned_svc_block.decision(xn, raw)
        assert np.array_equal(got, want), (rows, d)
        differ += int(np.sum(want != xn @ raw[0, :-1].copy() + raw[0, -1]))
        loop = np.zeros(rows)
        for j in range(d):
            loop = loop + xn[:, j] * raw[0, j]
        differ += int(np.sum(loop + raw[0, -1] != want))
    assert differ > 0  # the test can tell a loop's order from numpy's


def test_the_tree_blocks_give_the_python_paths_fit_and_predictions():
    """``learned_tree_block.blocks`` against ``standardised_window`` + ``pca_tree``'s fit and apply
    over components 1-4 (one component: numpy's gemv paths), depths 1-6, blocks of 1 to 2,000 rows."""
    from gaorg.strategies import learned_models, learned_tree_block

    rng = np.random.default_rng(4)
    for k in range(120):
        x, fwd, t, stop, ok, lo, keep = _walk_forward_case(rng, 100 + k, 8, 16)
        if not ok.any():
            continue
        params = (int(rng.integers(1, 5)), int(rng.integers(1, 7)), float(rng.uniform(0.1, 0.45)))
        fit, apply = learned_models.pca_tree(*params)
        fit_block, predict_block, _ = learned_tree_block.blocks(*params)
        want = np.zeros(len(fwd))
        tx, ty, mean, std, rows = standardised_window(x, fwd, keep, lo, 16)
        got = np.zeros(len(fwd))
        state, got_mean, got_std, got_model = fit_block(x, fwd, keep, lo, 16, ok, t, got)
        assert state == (0 if rows < 16 else 2)
        if rows < 16:
            assert not got.any()
            continue
        model = fit(tx, ty)
        want[t:stop][ok] = apply(model, standardised_rows(x, ok, t, mean, std))
        assert np.array_equal(got, want)
        assert np.array_equal(got_mean, mean) and np.array_equal(got_std, std)
        for a, b in zip(
            (*got_model[:2], *got_model[2], got_model[3]), (*model[:2], *model[2], model[3]), strict=True
        ):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        again = np.zeros(len(fwd))
        predict_block(x, ok, t, mean, std, got_model, again)
        assert np.array_equal(again, want)


def test_features_from_the_series_bases_are_the_features_bit_for_bit():
    """The cached path computes ``log_returns``, ``log(close)`` and ``log(high / low)`` once per
    series (``learned.series_bases``) and each period's columns in one kernel
    (``learned_window.feature_columns``): the reference's row-major features, bit for bit, NaN
    included, on markets with flat stretches (zero volatility: NaN and infinite logs)."""
    for seed in range(8):
        bars = random_bars(3000, seed=seed)
        if seed % 2:
            close = np.array(bars.close)
            close[500:700] = close[500]  # no move: zero deviations, log(0) in the volatility ratio
            bars = type(bars).from_arrays(
                bars.ts, close, np.maximum(bars.high, close), np.minimum(bars.low, close), close
            )
        bases = learned.series_bases(bars)
        for period in (3, 17, 60):
            for count in (1, 3, 5, 8):
                want = learned.features(bars, period, count)
                for got in (
                    learned.features(bars, period, count, order="F"),
                    learned.features(bars, period, count, order="F", bases=bases),
                ):
                    assert got.shape == want.shape and got.flags.f_contiguous
                    assert np.array_equal(got.view(np.uint64), want.view(np.uint64)), (seed, period, count)


def test_the_block_kernels_cache_depends_on_the_kernels_they_call():
    import os

    from gaorg.strategies import indicators, learned_svc_block, learned_tree_block, signals

    assert learned_svc_block.DEPENDENCIES_STAMPED and learned_tree_block.DEPENDENCIES_STAMPED
    # signals' kernels call indicators' step_max / step_min: their stamps carry indicators.py's
    assert signals.DEPENDENCIES_STAMPED
    stat = os.stat(indicators.__file__)
    for kernel in (signals.donchian_signal, signals.ichimoku_signal, signals.stochastic_signal):
        assert ((stat.st_mtime, stat.st_size),) in kernel._cache._cache_file._source_stamp


@pytest.mark.slow
def test_a_cached_kernel_recompiles_when_a_kernel_it_calls_changes(tmp_path):
    """numba alone would load the caller's old machine code after the callee's module changed."""
    import os
    import subprocess
    import sys
    import time

    (tmp_path / "callee.py").write_text(
        "from numba import njit\n@njit(cache=True)\ndef g(x):\n    return x + 1\n"
    )
    (tmp_path / "caller.py").write_text(
        "from numba import njit\nimport callee\nfrom gaorg.strategies.stamps import stamp_dependencies\n"
        "@njit(cache=True)\ndef f(x):\n    return callee.g(x) * 10\n"
        "STAMPED = stamp_dependencies((f,), (callee,))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}

    def run() -> list[str]:
        code = "import caller; print(caller.STAMPED, caller.f(1), sum(caller.f.stats.cache_hits.values()))"
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    assert run() == ["True", "20", "0"]
    assert run() == ["True", "20", "1"]  # from the cache
    time.sleep(0.01)
    (tmp_path / "callee.py").write_text(
        "from numba import njit\n@njit(cache=True)\ndef g(x):\n    return x + 2\n"
    )
    assert run() == ["True", "30", "0"]


def test_the_batched_fits_give_the_per_fit_loops_signal_with_the_cache_cold_or_warm():
    """``walk_forward_models`` with a module's third block (all the fits the cache lacks in one call)
    against the per-fit loop over the same blocks and against the Python path (fit, apply), cold and
    after other refits cached some of the same fit bars (hits predicted from the cache)."""
    from gaorg.strategies import learned_cache, learned_models

    rng = np.random.default_rng(11)
    for k in range(12):
        bars = random_bars(int(rng.integers(2500, 6000)), seed=200 + k)
        period, horizon, window = (
            int(rng.integers(3, 30)),
            int(rng.integers(1, 30)),
            int(rng.integers(100, 1200)),
        )
        if k % 2:
            name, columns, c = "linear_svc", 5, 10.0 ** rng.uniform(-3.0, 1.0)
            fit, apply = learned_models.linear_svc(c)
            blocks = learned_models.linear_svc_blocks(c)
        else:
            name, columns, c = "pca_tree", 8, (int(rng.integers(1, 5)), int(rng.integers(1, 7)), 0.3)
            fit, apply = learned_models.pca_tree(*c)
            blocks = learned_models.pca_tree_blocks(*c)
        x = learned.features(bars, period, columns, order="F")
        fwd = learned.forward_returns(bars, horizon)
        start = learned.first_fit_bar(period, horizon, window) + int(rng.integers(0, 700))
        key = (b"market", name, period, horizon, window, c)
        learned_cache.clear()
        for refit in (int(rng.integers(250, 1000)), 250, 500):
            args = (x, fwd, horizon, window, refit, start)
            want = learned.walk_forward_models(*args, fit, apply, ("python", *key))
            per_fit = learned.walk_forward_models(*args, fit, apply, ("per fit", *key), blocks[:2])
            batched = learned.walk_forward_models(*args, fit, apply, key, blocks)
            assert np.array_equal(per_fit, want) and np.array_equal(batched, want), (k, refit)
    learned_cache.clear()
