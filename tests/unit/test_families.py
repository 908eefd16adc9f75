"""Every module of the catalogue: output shapes and ranges, scale invariance, warm-up, short series."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gaorg.errors import DataTooShortError
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.compose import targets
from gaorg.strategies.genome import make_genome
from gaorg.strategies.sampling import random_params
from gaorg.strategies.spec import Role
from tests.unit.strategy_kit import random_bars

N = 900
MAX_LOOKBACK = 400
BARS = random_bars(N, seed=7)
BARS_X1000 = random_bars(N, seed=7, scale=1000.0)


def params_for(name: str, seed: int) -> dict:
    return random_params(CATALOGUE[name], random.Random(seed), max_lookback=MAX_LOOKBACK)


def as_arrays(out) -> list[np.ndarray]:
    return [np.asarray(a) for a in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.parametrize("name", sorted(CATALOGUE))
@pytest.mark.parametrize("seed", [1, 2])
def test_every_module_returns_its_role_shape_and_range(name, seed):
    spec = CATALOGUE[name]
    out = spec.compute(BARS, params_for(name, seed))
    arrays = as_arrays(out)
    assert all(a.shape == (N,) for a in arrays)
    if spec.role is Role.ENTRY:
        assert np.all(np.abs(np.nan_to_num(arrays[0])) <= 1.0)
    elif spec.role is Role.FILTER:
        assert len(arrays) == 2 and all(a.dtype == np.bool_ for a in arrays)
    elif spec.role is Role.EXIT:
        stop, take = arrays
        assert np.all((stop[~np.isnan(stop)] > 0) & (take[~np.isnan(take)] > 0))
    else:
        scale = arrays[0][~np.isnan(arrays[0])]
        assert np.all((scale >= 0.0) & (scale <= 1.0))


@pytest.mark.parametrize("name", sorted(n for n, s in CATALOGUE.items() if not s.learned))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_prices_times_1000_give_the_same_outputs(name, seed):
    spec = CATALOGUE[name]
    params = params_for(name, seed)
    for a, b in zip(as_arrays(spec.compute(BARS, params)), as_arrays(spec.compute(BARS_X1000, params)), strict=True):
        if a.dtype == np.bool_ or spec.role is Role.ENTRY:
            assert np.array_equal(a, b)
        else:  # exits and sizing are fractions: equal to rounding
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n, s in CATALOGUE.items() if s.role is Role.ENTRY))
def test_an_entry_is_flat_until_its_lookback_is_filled(name):
    spec = CATALOGUE[name]
    for seed in (5, 6, 7):
        params = params_for(name, seed)
        signal = np.nan_to_num(np.asarray(spec.compute(BARS, params)))
        assert np.all(signal[: spec.lookback(params) - 1] == 0.0)


@pytest.mark.parametrize("name", sorted(n for n, s in CATALOGUE.items() if s.role is Role.ENTRY))
def test_a_series_no_longer_than_the_lookback_raises_data_too_short(name):
    spec = CATALOGUE[name]
    params = params_for(name, 3)
    need = spec.lookback(params)
    genome = make_genome((name, params))
    with pytest.raises(DataTooShortError, match=f"longest period \\({name}\\) needs more than {need}"):
        targets(genome, random_bars(need, seed=1))
    plan = targets(genome, random_bars(need + 1, seed=1))
    assert np.all(np.isfinite(plan.target))


def test_the_longest_period_of_any_slot_sets_the_data_a_genome_needs():
    genome = make_genome(
        ("ema_crossover", {"fast": 2, "slow": 5, "direction": "long"}),
        filters=(("sma_trend", {"period": 300, "band": 0.0}),),
    )
    assert genome.lookback() == 300
    with pytest.raises(DataTooShortError, match=r"300 bars, but the genome's longest period \(sma_trend\) needs more than 300"):
        targets(genome, random_bars(300, seed=2))


@pytest.mark.parametrize("name", sorted(n for n, s in CATALOGUE.items() if s.learned))
def test_learned_entries_barely_notice_prices_times_1000(name):
    params = params_for(name, 4)
    a = np.asarray(CATALOGUE[name].compute(BARS, params))
    b = np.asarray(CATALOGUE[name].compute(BARS_X1000, params))
    assert np.mean(a == b) > 0.99  # features agree to rounding; a fit may flip a tie
