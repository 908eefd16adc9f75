"""No lookahead, for every module and for random genomes (freqtrade's lookahead analysis as a test).

Replace every field (open, high, low, close, volume, funding) of every bar after i: the outputs
(module level) and the targets, stops and take-profits (genome level) at bars <= i must not move.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.compose import targets
from gaorg.strategies.sampling import random_genome, random_params
from tests.unit.strategy_kit import random_bars, with_changed_tail

N = 600
MAX_LOOKBACK = 300
BARS = random_bars(N, seed=3)


def arrays(out) -> list[np.ndarray]:
    return [np.asarray(a) for a in (out if isinstance(out, tuple) else (out,))]


def cut_points(lookback: int, rng: random.Random) -> list[int]:
    """Bars to cut at: around the end of warm-up, a few random ones, the last but one."""
    points = {max(0, lookback - 2), lookback, lookback + 1, N - 2}
    points.update(rng.randrange(0, N - 1) for _ in range(3))
    return sorted(p for p in points if p < N - 1)


def leaks(compute, i: int, seed: int) -> bool:
    """True if any output of ``compute(bars)`` at bars <= i moves when the bars after i change."""
    base = arrays(compute(BARS))
    changed = arrays(compute(with_changed_tail(BARS, i, seed=seed)))
    return any(not np.array_equal(a[: i + 1], b[: i + 1], equal_nan=True) for a, b in zip(base, changed, strict=True))


@pytest.mark.parametrize("name", sorted(CATALOGUE))
@pytest.mark.parametrize("seed", range(3))
def test_a_module_output_up_to_bar_i_ignores_every_bar_after_i(name, seed):
    spec = CATALOGUE[name]
    rng = random.Random(seed)
    params = random_params(spec, rng, max_lookback=MAX_LOOKBACK)
    for i in cut_points(spec.lookback(params), rng):
        assert not leaks(lambda bars: spec.compute(bars, params), i, seed=100 + i), f"{name} {params} leaks at bar {i}"


@pytest.mark.parametrize("seed", range(40))
def test_the_targets_of_a_random_genome_up_to_bar_i_ignore_every_bar_after_i(seed):
    rng = random.Random(seed)
    genome = random_genome(rng, max_filters=2, max_exits=1, max_lookback=MAX_LOOKBACK)
    for i in cut_points(genome.lookback(), rng):
        plan = lambda bars: tuple(vars(targets(genome, bars)).values())  # noqa: E731 - target, stop, take
        assert not leaks(plan, i, seed=1000 + i), f"{genome.to_json()} leaks at bar {i}"


@pytest.mark.parametrize("field", ["open", "high", "low", "close", "volume", "funding"])
def test_the_check_catches_a_module_that_peeks_one_bar_ahead_in_any_field(field):
    def peeking(bars):
        x = np.asarray(getattr(bars, field))
        return np.concatenate((np.diff(x), [0.0]))  # uses x[i+1] at bar i

    assert leaks(peeking, 300, seed=5)
