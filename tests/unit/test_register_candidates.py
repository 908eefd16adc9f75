"""The front members a run registers: the best by walk-forward Sharpe, one per behaviour."""

from __future__ import annotations

import math

from gaorg.evolve.result import FrontMember
from gaorg.strategies.genome import make_genome
from gaorg.tracking.log import candidates

EMA = ("ema_crossover", {"fast": 5, "slow": 20, "direction": "both"})


def member(genome, sharpe: float, drawdown: float = 0.1, consistency: float = 0.75, holdout: float = 1.0) -> FrontMember:
    return FrontMember(genome, genome.canonical_hash(), sharpe, drawdown, consistency, 0.99,
                       holdout={"sharpe": holdout})


def test_members_that_traded_alike_on_the_walk_forward_take_one_slot_the_fewest_modules_first():
    plain = make_genome(EMA)
    stopped = [make_genome(EMA, exits=(("atr_stop", {"period": p, "stop_mult": 3.0, "take_mult": 6.0}),)) for p in (10, 20, 30)]
    other = make_genome(("donchian_breakout", {"period": 40, "direction": "both"}))
    slower = make_genome(("ema_crossover", {"fast": 8, "slow": 30, "direction": "both"}))
    # the three stops never fired: their walk-forward figures are the plain crossover's to the last bit,
    # while their hold-out differs (it is not looked at)
    front = [member(g, 3.0, holdout=h) for g, h in zip(stopped, (5.0, 6.0, 7.0), strict=True)]
    front += [member(plain, 3.0, holdout=4.0), member(other, 2.5), member(slower, 2.0),
              member(make_genome(("ema_crossover", {"fast": 8, "slow": 40, "direction": "both"})), 2.0, 0.2)]
    kept = candidates(front, top_k=3)
    assert [m.genome for m in kept] == [plain, other, slower]  # the next distinct members fill the slots
    assert len(candidates(front, top_k=10)) == 4  # four behaviours in seven members
    # a different drawdown or consistency is a different behaviour, whatever the Sharpe
    assert len(candidates([member(plain, 3.0), member(stopped[0], 3.0, drawdown=0.11)], 5)) == 2
    assert len(candidates([member(plain, 3.0), member(stopped[0], 3.0, consistency=0.5)], 5)) == 2


def test_members_without_figures_are_never_merged_and_an_empty_front_registers_nothing():
    a, b = make_genome(EMA), make_genome(("donchian_breakout", {"period": 40, "direction": "both"}))
    assert len(candidates([member(a, math.nan), member(b, math.nan)], 5)) == 2
    assert candidates([], 5) == []
