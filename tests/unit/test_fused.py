"""The fused kernels (gaorg/strategies/fused.py) give the unfused path's values bit for bit: the
indicators of indicators.py, numpy's elementwise operations and compose's filter and hold, on
random bars (NaN closes, series shorter than the period) and signals (-0.0, fractions, runs)."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from gaorg.evolve import operators
from gaorg.evolve.operators import Space
from gaorg.strategies import fused
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.compose import apply_filter, hold_unit_scale_from_entry, indicator_uses, targets
from gaorg.strategies.indicators import atr, realised_vol, scale_from_realised, sma
from gaorg.strategies.memo import Memo
from tests.unit.strategy_kit import random_bars


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def case(seed: int):
    """Random bars' arrays, a period (sometimes longer than the series) and a signal."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    bars = random_bars(n, seed=seed, scale=10 ** rng.uniform(-3, 4))
    close, high, low = (np.array(getattr(bars, k)) for k in ("close", "high", "low"))
    if seed % 3 == 0 and n > 10:  # another indicator's warm-up: the SMA restarts
        close[rng.integers(0, n, 3)] = np.nan
    for arr in (close, high, low):  # read-only, as Bars' arrays are: the compiled kernels are compose's
        arr.flags.writeable = False
    period = int(rng.integers(1, 60)) if seed % 5 else n + int(rng.integers(0, 3))
    values = np.array([1.0, -1.0, 0.0, -0.0, 0.5, -0.25, 1.0])
    runs = rng.geometric(0.2, n)  # held for a few bars, as entries hold
    signal = np.repeat(values[rng.integers(0, len(values), n)], runs)[:n]
    return close, high, low, period, np.ascontiguousarray(signal), rng


@pytest.mark.parametrize("seed", range(60))
def test_fused_kernels_are_the_unfused_path_bit_for_bit(seed):
    close, high, low, period, signal, rng = case(seed)
    band = float(rng.choice([0.0, rng.uniform(0, 0.1)]))
    avg = sma(close, period)
    expect = signal.copy()
    apply_filter(expect, close > avg * (1.0 + band), close < avg * (1.0 - band))
    fused_sma, fused_avg = signal.copy(), signal.copy()
    fused.sma_band_filter(fused_sma, close, period, 1.0 + band, 1.0 - band)
    fused.band_filter(fused_avg, close, avg, 1.0 + band, 1.0 - band)
    assert same_bits(fused_sma, expect) and same_bits(fused_avg, expect)

    stop_mult, take_mult = rng.uniform(0.5, 10), rng.uniform(0.5, 30)
    rel = atr(high, low, close, period) / close
    stop, take = fused.atr_exit(high, low, close, period, stop_mult, take_mult)
    assert same_bits(stop, stop_mult * rel) and same_bits(take, take_mult * rel)
    stop, take = fused.scaled_pair(rel, stop_mult, take_mult)
    assert same_bits(stop, stop_mult * rel) and same_bits(take, take_mult * rel)

    annualise, target = float(np.sqrt(rng.choice([8760.0, 2190.0, 365.0]))), rng.uniform(0.05, 2.0)
    realised = realised_vol(close, period, annualise)
    expect = hold_unit_scale_from_entry(signal, scale_from_realised(realised, target))
    assert same_bits(fused.vol_hold(signal, close, period, annualise, target), expect)
    assert same_bits(fused.hold_from_realised(signal, realised, target), expect)

    # the three in one pass, each present or not (period 0), as compose's fused tail runs them
    f, a, v = (period if seed % k else 0 for k in (2, 3, 7))
    expect = signal.copy()
    if f:
        apply_filter(expect, close > avg * (1.0 + band), close < avg * (1.0 - band))
    if v:
        expect = hold_unit_scale_from_entry(expect, scale_from_realised(realised, target))
    got = signal.copy()
    stop, take = fused.filter_exit_hold(
        got, close, high, low, f, 1.0 + band, 1.0 - band, a, stop_mult, take_mult, v, annualise, target
    )
    assert same_bits(got, expect)
    if a:
        assert same_bits(stop, stop_mult * rel) and same_bits(take, take_mult * rel)


def test_targets_with_and_without_the_fused_paths_are_the_same_plans():
    """Random rule genomes with an SMA filter, an ATR stop or volatility scaling, composed through
    the fused paths (alone: compose's one-pass tail or the modules' own; with a batch's memo) and
    through the modules' plain outputs + compose's generic filter and hold."""

    def atr_stop(bars, params, memo=None):
        close = np.asarray(bars.close)
        rel = atr(np.asarray(bars.high), np.asarray(bars.low), close, params["period"]) / close
        return params["stop_mult"] * rel, params["take_mult"] * rel

    unfused = {  # copies: compose's fused tail takes the catalogue's own modules only
        **CATALOGUE,
        "sma_trend": replace(CATALOGUE["sma_trend"], apply=None),
        "atr_stop": replace(CATALOGUE["atr_stop"], compute=atr_stop, indicators=None),
        "vol_scaling": replace(CATALOGUE["vol_scaling"], hold=None),
    }
    rule = tuple(name for name, spec in CATALOGUE.items() if not spec.learned)
    space = Space.from_modules(modules=rule, max_exits=2, max_lookback=300)
    rng = random.Random(7)
    focus = {"sma_trend", "atr_stop", "vol_scaling"}
    checked = 0
    for seed in range(4):
        bars = random_bars(rng.randint(400, 1500), seed=seed, scale=10 ** rng.uniform(-2, 4))
        genomes = [
            g for g in (operators.random_genome(rng, space) for _ in range(40)) if focus & set(g.modules)
        ]
        memo = Memo().plan(indicator_uses(genomes))
        for genome in genomes:
            expect = targets(genome, bars, unfused)
            for plan in (targets(genome, bars), targets(genome, bars, memo=memo)):
                for a, b in (
                    (plan.target, expect.target),
                    (plan.stop, expect.stop),
                    (plan.take, expect.take),
                ):
                    assert same_bits(a, b), genome.to_json()
            checked += 1
    assert checked >= 60
