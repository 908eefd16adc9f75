"""The loop's own frozen, picklable types: ``Fitness``, ``Individual``, ``Trial``.

No ``deap.creator`` classes: DEAP's selection works on any object with ``.fitness`` exposing
``values``, ``wvalues`` and ``dominates``; the crowding distance DEAP writes onto fitnesses is
kept on short-lived views in :mod:`gaorg.evolve.selection`, so these records never mutate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaorg.evolve.result import WEIGHTS
from gaorg.strategies.genome import Genome

CELL_FIELDS = ("n", "s1", "s2", "s3", "s4", "total_return", "max_drawdown", "trades", "sharpe")
"""Per asset × fold of a trial: power sums of per-bar returns, then the fold's own figures
(``sharpe`` annualised, as ``gaorg backtest`` reports it)."""


@dataclass(frozen=True)
class Fitness:
    """Objective values (sharpe, max_drawdown, consistency); compared with :data:`WEIGHTS`."""

    values: tuple[float, ...]

    @property
    def wvalues(self) -> tuple[float, ...]:
        return tuple(v * w for v, w in zip(self.values, WEIGHTS, strict=True))

    @property
    def valid(self) -> bool:
        return len(self.values) == len(WEIGHTS)

    def dominates(self, other: Fitness, obj: slice = slice(None)) -> bool:
        """Pareto dominance (DEAP's rule): no worse in every objective, better in one."""
        better = False
        for mine, theirs in zip(self.wvalues[obj], other.wvalues[obj], strict=True):
            if mine > theirs:
                better = True
            elif mine < theirs:
                return False
        return better


@dataclass(frozen=True)
class Individual:
    """A genome of the population with its fitness (None until evaluated) and its lineage.

    ``rank`` (0 = first front) and ``crowding`` are set by the last NSGA-II selection.
    """

    genome: Genome
    fitness: Fitness | None = None
    parents: tuple[str, ...] = ()
    stage: int = 0
    generation: int = 0
    rank: int = 0
    crowding: float = 0.0
    key: str = ""  # the genome's canonical hash (computed once)

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.genome.canonical_hash())


@dataclass(frozen=True, eq=False)
class Trial:
    """One genome's evaluation on one stage's basket: objectives and per-cell figures.

    ``cells`` is float64[assets × folds, len(CELL_FIELDS)] (row = asset * folds + fold).
    ``feasible`` is False when the genome needs more history than the folds offer or (almost)
    never trades; it then gets the worst objectives and is kept out of the overfitting statistics.
    ``rejected`` is True when the search stopped scoring it after one asset of the basket
    (:func:`gaorg.evolve.fitness.evaluate_genome`'s ``reject_below``): infeasible too, the other
    assets' cells are zeros, and it still counts as a trial for the deflated Sharpe (a checkpoint
    keeps the flag: a resumed run's archive reads as the uninterrupted run's).
    ``seconds`` is the wall time the worker spent on this genome (``time.perf_counter``): a
    measurement, not part of the trial's meaning; it is not compared and not checkpointed.
    """

    key: str
    objectives: tuple[float, float, float]
    cells: np.ndarray
    feasible: bool = True
    rejected: bool = False
    seconds: float = field(default=0.0, compare=False)


WORST = (-10.0, 1.0, 0.0)
"""Objectives of an infeasible genome: below any real strategy in every objective."""
