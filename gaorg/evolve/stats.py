"""Overfitting statistics and front quality: deflated Sharpe, PBO by CSCV, hypervolume.

Every trial keeps, per asset and fold, the power sums of its per-bar returns
(``n, Σr, Σr², Σr³, Σr⁴``): a few numbers that merge exactly across folds, so Sharpe ratios,
skewness and kurtosis of any union of folds can be computed without the return series.

- :func:`probabilistic_sharpe` — Bailey & López de Prado (2012), "The Sharpe Ratio Efficient
  Frontier": the probability that the true Sharpe ratio is above a benchmark, given the
  non-normality and length of the returns.
- :func:`deflated_sharpe` — Bailey & López de Prado (2014), "The Deflated Sharpe Ratio":
  the probabilistic Sharpe ratio against the expected maximum of ``n_trials`` unskilled trials
  (the paper's worked example, DSR 0.9004, is a test).
- :func:`null_sharpe_variance` — the variance of a zero-skill trial's Sharpe estimate, the spread
  that evolution deflates with (see :func:`deflated_sharpe`).
- :func:`min_backtest_length` — Bailey, Borwein, López de Prado & Zhu (2014), "Pseudo-Mathematics
  and Financial Charlatanism": the years of data below which the best of ``n_trials`` unskilled
  trials is expected to reach a target annualised Sharpe ratio.
- :func:`pbo_cscv` — Bailey, Borwein, López de Prado & Zhu (2015; J. Computational Finance, 2017),
  "The Probability of Backtest Overfitting": combinatorially symmetric cross-validation over blocks
  (asset × fold cells).
- :func:`hypervolume` — of a front, against a fixed reference point (comparable across
  generations), with ``deap.benchmarks.tools.hypervolume``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
MAX_BLOCKS = 12  # CSCV blocks: C(12, 6) = 924 splits
HV_REFERENCE = (-3.0, 1.0, 0.0)
"""Fixed hypervolume reference in objective space: Sharpe -3, drawdown 100%, consistency 0."""

_NORMAL = NormalDist()


def moments(sums: np.ndarray) -> tuple[float, float, float, float, float]:
    """``(n, mean, std, skew, kurtosis)`` of returns from power sums ``[n, Σr, Σr², Σr³, Σr⁴]``.

    Population moments; kurtosis is not excess (a normal distribution has 3).
    """
    n, s1, s2, s3, s4 = (float(x) for x in sums[:5])
    if n < 2:
        return n, 0.0, 0.0, 0.0, 3.0
    mean = s1 / n
    var = max(s2 / n - mean * mean, 0.0)
    std = math.sqrt(var)
    if std <= 1e-15:
        return n, mean, 0.0, 0.0, 3.0
    m3 = s3 / n - 3 * mean * s2 / n + 2 * mean**3
    m4 = s4 / n - 4 * mean * s3 / n + 6 * mean * mean * s2 / n - 3 * mean**4
    return n, mean, std, m3 / std**3, max(m4 / var**2, 1.0)


def return_sums(equity: np.ndarray) -> np.ndarray:
    """Power sums ``[n, Σr, Σr², Σr³, Σr⁴]`` of the per-bar simple returns of an equity curve."""
    equity = np.asarray(equity, dtype=float)
    if len(equity) < 2:
        return np.zeros(5)
    r = equity[1:] / equity[:-1] - 1.0
    return np.array([float(len(r)), r.sum(), (r**2).sum(), (r**3).sum(), (r**4).sum()])


def sharpe_per_bar(sums: np.ndarray) -> float:
    """Per-bar (not annualised) Sharpe ratio from power sums; 0 for flat returns."""
    _, mean, std, _, _ = moments(sums)
    return mean / std if std > 0 else 0.0


def expected_max_sharpe(sr_variance: float, n_trials: int) -> float:
    """Expected maximum Sharpe of ``n_trials`` unskilled trials whose Sharpe ratios vary as given."""
    if n_trials <= 1 or sr_variance <= 0:
        return 0.0
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sr_variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def probabilistic_sharpe(sr: float, n_obs: float, skew: float, kurtosis: float, benchmark: float = 0.0) -> float:
    """P(true Sharpe > ``benchmark``) from ``n_obs`` returns whose Sharpe estimate is ``sr``, in [0, 1].

    Per observation (not annualised) Sharpe ratios; ``kurtosis`` not excess (normal: 3). The
    estimate's standard error grows with negative skew and fat tails. NaN under 2 observations.
    """
    if n_obs < 2:
        return float("nan")
    denom = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    denom = math.sqrt(max(denom, 1e-12))
    return _NORMAL.cdf((sr - benchmark) * math.sqrt(n_obs - 1.0) / denom)


def deflated_sharpe(
    sr: float, n_obs: float, skew: float, kurtosis: float, sr_variance: float, n_trials: int
) -> float:
    """The deflated Sharpe ratio: P(true SR > expected max SR of ``n_trials`` trials), in [0, 1].

    ``sr`` is per observation (not annualised), ``sr_variance`` the variance of the per-observation
    Sharpe ratios of unskilled trials, ``kurtosis`` not excess. The paper estimates that variance
    across the trials; where the trials' true Sharpe ratios differ (a search over a market with an
    edge finds strategies that win and their mirror images that lose), that spread measures the
    edge, not luck, and :func:`null_sharpe_variance` is the variance the null hypothesis implies.
    Undefined (NaN) with fewer than 2 observations.
    """
    return probabilistic_sharpe(sr, n_obs, skew, kurtosis, expected_max_sharpe(sr_variance, n_trials))


def deflated_sharpe_of(sums: np.ndarray, n_trials: int, design: float = 1.0) -> float:
    """The deflated Sharpe ratio of returns given by power sums, among ``n_trials`` unskilled ones.

    The unskilled trials' Sharpe estimates spread as :func:`null_sharpe_variance` of the returns'
    effective length: their count over ``design`` (:func:`design_effect` of a correlated basket).
    NaN with fewer than 2 returns.
    """
    n, _, _, skew, kurt = moments(np.asarray(sums, dtype=float))
    n = n / max(float(design), 1.0)
    if n < 2:
        return float("nan")
    return deflated_sharpe(sharpe_per_bar(sums), n, skew, kurt, null_sharpe_variance(n), max(int(n_trials), 1))


def design_effect(series: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """How many times fewer independent returns a basket holds than it has bars: ``1 + (A-1) rho``.

    ``series`` are ``(ts, close)`` of the basket's assets over the window scored; ``rho`` is the
    mean pairwise correlation (floored at 0) of their bar returns on the timestamps they share.
    Returns pooled over correlated assets are not independent draws: a pooled Sharpe over ``n``
    bars of 3 assets correlated 0.8 varies as if it had ``n / 2.6`` (Kish's design effect). The
    strategy's own returns are approximated by the market's; assets that share no bars give 1.
    """
    series = [(np.asarray(t), np.asarray(c, dtype=float)) for t, c in series if len(t) > 2]
    if len(series) < 2:
        return 1.0
    if any(len(t) != len(series[0][0]) or not np.array_equal(t, series[0][0]) for t, _ in series[1:]):
        return _design_effect_pairwise(series)
    common = series[0][0]
    rets = np.array([np.diff(np.log(c[np.searchsorted(t, common)])) for t, c in series])
    ok = np.all(np.isfinite(rets), axis=0)
    rets = rets[:, ok]
    if rets.shape[1] < 3 or np.any(rets.std(axis=1) == 0):
        return 1.0
    corr = np.corrcoef(rets)
    a = len(series)
    rho = float((corr.sum() - a) / (a * (a - 1)))
    return 1.0 + (a - 1) * min(max(rho, 0.0), 1.0)


def _design_effect_pairwise(series: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """:func:`design_effect` of series that span different times (a universe: listed late, delisted
    early): each pair's correlation on the bars the two share (at least 3), averaged over the pairs
    that share any. The assets all count in ``A``; a pair that never overlaps adds no correlation."""
    rhos = []
    for i in range(len(series)):
        for j in range(i + 1, len(series)):
            (ta, ca), (tb, cb) = series[i], series[j]
            common = np.intersect1d(ta, tb, assume_unique=True)
            if len(common) < 4:
                continue
            ra = np.diff(np.log(ca[np.searchsorted(ta, common)]))
            rb = np.diff(np.log(cb[np.searchsorted(tb, common)]))
            ok = np.isfinite(ra) & np.isfinite(rb)
            ra, rb = ra[ok], rb[ok]
            if len(ra) < 3 or ra.std() == 0 or rb.std() == 0:
                continue
            rhos.append(float(np.corrcoef(ra, rb)[0, 1]))
    if not rhos:
        return 1.0
    return 1.0 + (len(series) - 1) * min(max(float(np.mean(rhos)), 0.0), 1.0)


def null_sharpe_variance(n_obs: float) -> float:
    """Variance of the per-observation Sharpe estimate of a zero-skill trial over ``n_obs`` returns.

    At a true Sharpe of 0 the estimate's variance is ``1 / (n_obs - 1)`` whatever the skew and
    kurtosis (Mertens, 2002): the spread of unskilled trials' Sharpe ratios under the null.
    """
    return 1.0 / (n_obs - 1.0) if n_obs > 1 else math.inf


def min_backtest_length(n_trials: int, target_sharpe: float) -> float:
    """Years of data below which the best of ``n_trials`` unskilled trials is expected to show an
    annualised Sharpe of ``target_sharpe`` (the trials' annualised Sharpe ratios vary as 1 / years).
    """
    if n_trials <= 1:
        return 0.0
    return (expected_max_sharpe(1.0, n_trials) / target_sharpe) ** 2


def blocks_of(cells: np.ndarray, max_blocks: int = MAX_BLOCKS) -> np.ndarray:
    """Merge a trial-by-cell array of power sums ``[N, cells, k]`` into an even number of blocks.

    Cells (asset × fold) are the CSCV blocks; beyond ``max_blocks`` they are grouped round-robin,
    and an odd count merges its last two cells. Sums add, so merged blocks stay exact.
    """
    n_cells = cells.shape[1]
    count = min(n_cells, max_blocks)
    if count % 2:
        count -= 1
    if count < 2:
        return cells[:, :0]
    group = np.arange(n_cells) % count
    out = np.zeros((cells.shape[0], count, cells.shape[2]))
    for g in range(count):
        out[:, g] = cells[:, group == g].sum(axis=1)
    return out


def cells_from_returns(returns: np.ndarray, n_blocks: int) -> np.ndarray:
    """Power sums ``[N trials, n_blocks, 5]`` of a ``[T, N]`` matrix of returns cut into
    ``n_blocks`` contiguous blocks of time (the paper's submatrices; the last takes the remainder).
    """
    returns = np.asarray(returns, dtype=float)
    edges = np.linspace(0, returns.shape[0], n_blocks + 1).astype(int)
    out = np.zeros((returns.shape[1], n_blocks, 5))
    for b in range(n_blocks):
        part = returns[edges[b]:edges[b + 1]]
        powers = [np.sum(part**p, axis=0) for p in (1, 2, 3, 4)]
        out[:, b] = np.stack([np.full(part.shape[1], float(len(part))), *powers], axis=1)
    return out


def pbo_cscv(sums: np.ndarray, max_blocks: int = MAX_BLOCKS) -> float:
    """Probability of backtest overfitting from power sums ``[N trials, cells, >=3]``.

    For every way of splitting the blocks in half, the trial with the best in-sample Sharpe is
    ranked out of sample; PBO is the share of splits where it lands at or below the median
    (logit <= 0). NaN with fewer than 2 trials or 2 blocks.
    """
    if sums.ndim != 3 or sums.shape[0] < 2:
        return float("nan")
    blocks = blocks_of(sums[:, :, :3], max_blocks)
    n_trials, n_blocks, _ = blocks.shape
    if n_blocks < 2:
        return float("nan")
    total = blocks.sum(axis=1)  # [N, 3]
    combos = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)))
    mask = np.zeros((len(combos), n_blocks))
    np.put_along_axis(mask, combos, 1.0, axis=1)
    below = 0
    for start in range(0, len(mask), 128):
        part = mask[start:start + 128]
        train = np.einsum("cs,nsk->cnk", part, blocks)
        test = total[None, :, :] - train
        sr_train = _sharpe_rows(train)
        sr_test = _sharpe_rows(test)
        best = np.argmax(sr_train, axis=1)
        chosen = sr_test[np.arange(len(part)), best]
        rank = (sr_test < chosen[:, None]).sum(axis=1) + 1  # 1 = worst out of sample
        omega = rank / (n_trials + 1.0)
        below += int(np.sum(np.log(omega / (1.0 - omega)) <= 0.0))
    return below / len(mask)


def _sharpe_rows(s: np.ndarray) -> np.ndarray:
    n, s1, s2 = s[..., 0], s[..., 1], s[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s1 / n, 0.0)
        var = np.where(n > 0, s2 / n - mean * mean, 0.0)
        std = np.sqrt(np.maximum(var, 0.0))
        return np.where(std > 1e-15, mean / std, 0.0)


def hypervolume(objectives: Sequence[tuple[float, float, float]]) -> float:
    """Hypervolume of (sharpe, max_drawdown, consistency) points against :data:`HV_REFERENCE`.

    Points that do not beat the reference in every objective add nothing (and are dropped).
    """
    from deap.benchmarks.tools import hypervolume as deap_hypervolume

    from gaorg.evolve.types import Fitness

    ref = HV_REFERENCE
    kept = [
        _Point(Fitness(tuple(o)))
        for o in objectives
        if o[0] > ref[0] and o[1] < ref[1] and o[2] > ref[2]
    ]
    if not kept:
        return 0.0
    ref_min = [-ref[0], ref[1], -ref[2]]  # DEAP minimises -wvalues
    return float(deap_hypervolume(kept, ref=ref_min))


class _Point:
    __slots__ = ("fitness",)

    def __init__(self, fitness) -> None:
        self.fitness = fitness
