"""The overfitting statistics against their papers' worked examples, and DSR's error rate on noise.

- Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", section 4's numerical example:
  100 trials whose annualised Sharpe ratios vary by 1/2, the best at 2.5 over 5 years of daily
  returns (1,250, 250 a year) with skew -3 and kurtosis 10: SR0 = 0.1132 a day, DSR = 0.9004.
- Bailey, Borwein, López de Prado & Zhu (2014), "Pseudo-Mathematics and Financial Charlatanism":
  with 5 years of data, no more than 45 independent trials before the best shows a Sharpe of 1.
- Bailey, Borwein, López de Prado & Zhu (2015), "The Probability of Backtest Overfitting",
  test case 1: N = 100 strategies, T = 1,000 returns, every one recentred to a Sharpe of exactly
  0: the in-sample best is the out-of-sample worst, PBO = 1.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gaorg.evolve.stats import (
    cells_from_returns,
    deflated_sharpe,
    deflated_sharpe_of,
    design_effect,
    expected_max_sharpe,
    min_backtest_length,
    null_sharpe_variance,
    pbo_cscv,
    probabilistic_sharpe,
)

DAYS = 250  # the paper's trading days in a year


def test_the_deflated_sharpe_papers_worked_example():
    sr0 = expected_max_sharpe(0.5 / DAYS, 100)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert sr0 * math.sqrt(DAYS) == pytest.approx(1.7894, abs=5e-4)  # annualised
    dsr = deflated_sharpe(2.5 / math.sqrt(DAYS), 1250, -3.0, 10.0, 0.5 / DAYS, 100)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_the_deflated_sharpe_is_the_probabilistic_sharpe_against_the_expected_maximum():
    sr, n = 2.5 / math.sqrt(DAYS), 1250
    sr0 = expected_max_sharpe(0.5 / DAYS, 100)
    assert deflated_sharpe(sr, n, -3.0, 10.0, 0.5 / DAYS, 100) == probabilistic_sharpe(sr, n, -3.0, 10.0, sr0)
    # a normal, one-trial PSR is the t-like z-score sr * sqrt(n - 1)
    assert probabilistic_sharpe(0.05, 401, 0.0, 3.0) == pytest.approx(0.8427, abs=2e-3)


def test_forty_five_trials_need_five_years_for_a_lucky_sharpe_of_one():
    assert min_backtest_length(45, 1.0) == pytest.approx(5.0, abs=0.05)
    assert min_backtest_length(46, 1.0) > 5.0 > min_backtest_length(44, 1.0)
    assert min_backtest_length(1, 1.0) == 0.0


def test_the_null_variance_is_the_spread_of_zero_skill_sharpe_estimates():
    rng = np.random.default_rng(5)
    r = rng.standard_t(4, (4000, 500))  # fat-tailed, zero mean
    sr = r.mean(axis=1) / r.std(axis=1)
    assert np.var(sr) == pytest.approx(null_sharpe_variance(500), rel=0.08)


def _test_case_one(rng: np.random.Generator, n: int = 100, t: int = 1000) -> np.ndarray:
    m = rng.standard_normal((t, n))
    sigma = 1.0 / math.sqrt(252.0)
    m = m * sigma / m.std(axis=0, ddof=1)
    return m - m.mean(axis=0)  # every strategy's Sharpe is exactly 0 over the whole sample


def test_pbo_of_the_papers_test_case_one_is_one():
    rng = np.random.default_rng(6)
    assert pbo_cscv(cells_from_returns(_test_case_one(rng), 16), max_blocks=16) == 1.0


def _pbo_as_the_paper_writes_it(m: np.ndarray, s: int) -> float:
    """CSCV step by step on the returns themselves (the paper's algorithm, no power sums)."""
    t, n = m.shape
    blocks = np.array_split(np.arange(t), s)
    below = 0
    splits = list(itertools.combinations(range(s), s // 2))
    for train in splits:
        rows = np.concatenate([blocks[i] for i in train])
        rest = np.concatenate([blocks[i] for i in range(s) if i not in train])
        sr_in = m[rows].mean(axis=0) / m[rows].std(axis=0)
        sr_out = m[rest].mean(axis=0) / m[rest].std(axis=0)
        best = int(np.argmax(sr_in))
        rank = 1 + int(np.sum(sr_out < sr_out[best]))  # 1: worst out of sample, N: best
        omega = rank / (n + 1.0)
        below += math.log(omega / (1.0 - omega)) <= 0.0
    return below / len(splits)


@pytest.mark.parametrize("planted", [0.0, 0.02, 0.2])
def test_pbo_from_power_sums_equals_the_papers_algorithm_on_the_returns(planted):
    rng = np.random.default_rng(7)
    m = rng.normal(0.0, 0.01, (1200, 40))
    m[:, 3] += planted * 0.01  # one strategy with a real edge of this per-bar Sharpe
    assert pbo_cscv(cells_from_returns(m, 10), max_blocks=10) == _pbo_as_the_paper_writes_it(m, 10)


def test_a_strong_planted_strategy_is_not_overfit():
    rng = np.random.default_rng(8)
    m = _test_case_one(rng)
    m[:, -1] += 3.0 / 252.0  # test case 3's kind: one strategy with an annualised Sharpe of 3
    assert pbo_cscv(cells_from_returns(m, 16), max_blocks=16) < 0.1


def _best_of_noise(rng: np.random.Generator, runs: int, trials: int, t: int) -> tuple[np.ndarray, ...]:
    r = rng.standard_normal((runs, trials, t))
    mean, std = r.mean(axis=2), r.std(axis=2)
    sr = mean / std
    z = (r - mean[..., None]) / std[..., None]
    best = np.argmax(sr, axis=1)
    pick = np.arange(runs)
    skew = np.mean(z[pick, best] ** 3, axis=1)
    kurt = np.mean(z[pick, best] ** 4, axis=1)
    return sr, sr[pick, best], skew, kurt


def test_dsr_false_positive_rate_on_noise_is_the_nominal_level_for_one_trial():
    rng = np.random.default_rng(9)
    _, sr, skew, kurt = _best_of_noise(rng, 20_000, 1, 250)
    dsr = np.array([deflated_sharpe(s, 250, g, k, null_sharpe_variance(250), 1) for s, g, k in zip(sr, skew, kurt, strict=True)])
    assert np.mean(dsr >= 0.95) == pytest.approx(0.05, abs=0.006)  # ±4 standard errors


@pytest.mark.parametrize("variance", ["paper", "null"])
def test_dsr_of_the_best_of_many_noise_trials_is_significant_at_most_at_the_nominal_rate(variance):
    rng = np.random.default_rng(10)
    all_sr, sr, skew, kurt = _best_of_noise(rng, 2_000, 50, 250)
    var = np.var(all_sr, axis=1, ddof=1) if variance == "paper" else np.full(len(sr), null_sharpe_variance(250))
    dsr = np.array([deflated_sharpe(s, 250, g, k, v, 50) for s, g, k, v in zip(sr, skew, kurt, var, strict=True)])
    rate = float(np.mean(dsr >= 0.95))
    assert rate <= 0.05
    # the maximum of 50 trials is spread far less than one trial's estimate: DSR is conservative
    assert rate < 0.02


def _correlated_basket(rng: np.random.Generator, runs: int, assets: int, bars: int, rho: float):
    """Closes of ``assets`` random walks correlated ``rho``, and a strategy's returns on them."""
    common = rng.standard_normal((runs, 1, bars))
    own = rng.standard_normal((runs, assets, bars))
    x = (math.sqrt(rho) * common + math.sqrt(1 - rho) * own) * 0.01
    position = rng.choice((-1.0, 1.0), size=(runs, 1, bars))  # one rule, the same call on every asset
    return x, position * x


def test_a_correlated_basket_counts_fewer_independent_returns():
    rng = np.random.default_rng(11)
    x, r = _correlated_basket(rng, 3000, 3, 400, 0.8)
    pooled = r.reshape(3000, -1)
    sr = pooled.mean(axis=1) / pooled.std(axis=1)
    ts = np.arange(401)
    design = design_effect([(ts, 100 * np.exp(np.concatenate([[0], np.cumsum(x[0, a])]))) for a in range(3)])
    assert design == pytest.approx(1 + 2 * 0.8, abs=0.15)
    assert np.var(sr) == pytest.approx(null_sharpe_variance(1200 / design), rel=0.12)
    assert np.var(sr) > 2 * null_sharpe_variance(1200)  # what pooling as if independent would assume
    # one unskilled trial on the basket: significant at the nominal 5% only with the design effect
    sums = np.stack([pooled.shape[1] * np.ones(3000), *(np.sum(pooled**p, axis=1) for p in (1, 2, 3, 4))], axis=1)
    with_design = np.mean([deflated_sharpe_of(s, 1, design) >= 0.95 for s in sums])
    without = np.mean([deflated_sharpe_of(s, 1) >= 0.95 for s in sums])
    assert with_design == pytest.approx(0.05, abs=0.015) and without > 0.09


def test_independent_or_disjoint_series_have_no_design_effect():
    rng = np.random.default_rng(12)
    ts = np.arange(2000)
    closes = [100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2000))) for _ in range(3)]
    assert design_effect([(ts, c) for c in closes]) == pytest.approx(1.0, abs=0.1)
    assert design_effect([(ts[:1000], closes[0][:1000]), (ts[1000:], closes[1][1000:])]) == 1.0
    assert design_effect([(ts, closes[0])]) == 1.0
