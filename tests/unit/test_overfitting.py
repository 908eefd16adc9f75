"""Overfitting statistics: deflated Sharpe ratio, PBO by CSCV, hypervolume, power-sum moments."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from gaorg.evolve.stats import (
    blocks_of,
    deflated_sharpe,
    expected_max_sharpe,
    hypervolume,
    moments,
    pbo_cscv,
    sharpe_per_bar,
)


def power_sums(r: np.ndarray) -> np.ndarray:
    return np.array([len(r), r.sum(), (r**2).sum(), (r**3).sum(), (r**4).sum()])


def test_moments_from_power_sums_match_numpy():
    r = np.random.default_rng(0).standard_t(5, 5000) * 0.01 + 0.001
    n, mean, std, skew, kurt = moments(power_sums(r))
    z = (r - r.mean()) / r.std()
    assert n == 5000
    assert mean == pytest.approx(r.mean())
    assert std == pytest.approx(r.std())
    assert skew == pytest.approx(np.mean(z**3), rel=1e-6)
    assert kurt == pytest.approx(np.mean(z**4), rel=1e-6)


def test_power_sums_of_folds_merge_exactly():
    r = np.random.default_rng(1).normal(0.001, 0.01, 900)
    merged = power_sums(r[:300]) + power_sums(r[300:])
    assert sharpe_per_bar(merged) == pytest.approx(r.mean() / r.std())


def test_flat_returns_have_zero_sharpe():
    assert sharpe_per_bar(power_sums(np.zeros(50))) == 0.0


def test_deflated_sharpe_with_one_trial_is_the_probabilistic_sharpe_ratio():
    sr, n = 0.05, 1000
    expected = NormalDist().cdf(sr * math.sqrt(n - 1) / math.sqrt(1 + 0.5 * sr * sr))
    assert deflated_sharpe(sr, n, 0.0, 3.0, 0.01, 1) == pytest.approx(expected)


def test_more_trials_deflate_more():
    values = [deflated_sharpe(0.08, 1000, 0.0, 3.0, 0.001, n) for n in (1, 10, 100, 1000)]
    assert values == sorted(values, reverse=True)
    assert values[0] > 0.99 and values[-1] < values[0]


def test_fat_tails_and_negative_skew_lower_the_deflated_sharpe():
    normal = deflated_sharpe(0.15, 500, 0.0, 3.0, 0.001, 50)
    assert deflated_sharpe(0.15, 500, -1.0, 10.0, 0.001, 50) < normal


def test_expected_max_sharpe_matches_monte_carlo():
    rng = np.random.default_rng(2)
    n_trials, sd = 100, 0.05
    maxima = rng.normal(0.0, sd, (4000, n_trials)).max(axis=1)
    assert expected_max_sharpe(sd**2, n_trials) == pytest.approx(maxima.mean(), rel=0.05)


def test_noise_trials_overfit_about_half_the_time():
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0, 0.01, (200, 12, 250))  # 200 trials, 12 blocks of 250 bars, no edge
    sums = np.stack([[power_sums(block) for block in trial] for trial in returns])
    pbo = pbo_cscv(sums)
    assert 0.25 < pbo < 0.75


def test_a_real_edge_does_not_overfit():
    rng = np.random.default_rng(4)
    returns = rng.normal(0.0, 0.01, (50, 12, 250))
    returns[7] += 0.003  # one trial is genuinely better in every block
    sums = np.stack([[power_sums(block) for block in trial] for trial in returns])
    assert pbo_cscv(sums) < 0.05


def test_pbo_is_undefined_without_enough_trials_or_blocks():
    assert math.isnan(pbo_cscv(np.ones((1, 4, 5))))
    assert math.isnan(pbo_cscv(np.ones((5, 1, 5))))


def test_blocks_merge_into_an_even_count_keeping_the_sums():
    cells = np.random.default_rng(5).random((3, 15, 5))
    blocks = blocks_of(cells, max_blocks=12)
    assert blocks.shape == (3, 12, 5)
    assert np.allclose(blocks.sum(axis=1), cells.sum(axis=1))
    assert blocks_of(cells[:, :7], max_blocks=12).shape[1] == 6


def test_hypervolume_against_the_fixed_reference_point():
    # box from the reference (Sharpe -3, drawdown 1, consistency 0) to the point
    assert hypervolume([(0.0, 0.5, 0.5)]) == pytest.approx(3.0 * 0.5 * 0.5)
    # a dominated point adds nothing; a point worse than the reference is ignored
    assert hypervolume([(0.0, 0.5, 0.5), (-1.0, 0.6, 0.4), (-5.0, 0.1, 0.9)]) == pytest.approx(0.75)
    assert hypervolume([(1.0, 0.5, 0.5)]) > hypervolume([(0.0, 0.5, 0.5)])
    assert hypervolume([]) == 0.0
