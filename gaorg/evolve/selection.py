"""NSGA-II selection with DEAP, over frozen individuals; parent tournaments from the loop's rng.

DEAP's ``selNSGA2`` writes ``crowding_dist`` onto each fitness; here it works on throw-away
views, and the survivors come back as new frozen ``Individual`` records carrying their front
rank and crowding distance. DEAP's own tournament (``selTournamentDCD``) draws from the global
``random`` module, so the parent tournament is written here against the ``rng`` given.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
from deap import tools

from gaorg.evolve.types import Individual


class _View:
    __slots__ = ("fitness", "index")

    def __init__(self, fitness, index: int) -> None:
        self.fitness = _MutableFitness(fitness)
        self.index = index


class _MutableFitness:
    """A fitness DEAP may write ``crowding_dist`` onto; hashes and compares like the frozen one."""

    __slots__ = ("frozen", "values", "wvalues", "crowding_dist")

    def __init__(self, frozen) -> None:
        self.frozen = frozen
        self.values = frozen.values
        self.wvalues = frozen.wvalues
        self.crowding_dist = 0.0

    def dominates(self, other, obj=slice(None)) -> bool:
        a, b = self.wvalues[obj], other.wvalues[obj]
        if len(a) == 3:  # the three objectives, unrolled: the hot loop of NSGA-II's sort
            return a[0] >= b[0] and a[1] >= b[1] and a[2] >= b[2] and a != b
        return all(x >= y for x, y in zip(a, b, strict=True)) and a != b

    def __hash__(self) -> int:
        return hash(self.wvalues)

    def __eq__(self, other) -> bool:
        return isinstance(other, _MutableFitness) and self.wvalues == other.wvalues


def sort_nondominated(individuals: list, k: int, first_front_only: bool = False) -> list[list]:
    """DEAP's ``tools.sortNondominated``, the same fronts in the same order, dominance in numpy.

    DEAP compares every pair of distinct fitnesses in Python (65,000 ``dominates`` calls to
    select 128 of 256: a fifth of the client's time between two generations of a Dask run, with
    the workers idle). Here the pairs are one numpy comparison; the fronts are then peeled in
    DEAP's order: fitnesses grouped as DEAP groups them (by hash and equality, first seen first),
    each front's members in the order DEAP appends them, a dominated list in index order (which is
    the order DEAP's pair loop builds it in).
    """
    if k == 0:
        return []
    groups: dict = {}
    for ind in individuals:
        groups.setdefault(ind.fitness, []).append(ind)
    fits = list(groups)
    if not fits:
        return [[]]
    w = np.array([f.wvalues for f in fits], dtype=float)
    with np.errstate(invalid="ignore"):
        dominates = ((w[:, None, :] >= w[None, :, :]).all(axis=2)
                     & (w[:, None, :] != w[None, :, :]).any(axis=2))  # [p, q]: p dominates q
    dominators = dominates.sum(axis=0).tolist()
    current = [i for i, n in enumerate(dominators) if n == 0]
    fronts = [[ind for i in current for ind in groups[fits[i]]]]
    sorted_count = len(fronts[0])
    if not first_front_only:
        wanted = min(len(individuals), k)
        while sorted_count < wanted:
            fronts.append([])
            following = []
            for p in current:
                for d in np.flatnonzero(dominates[p]).tolist():
                    dominators[d] -= 1
                    if dominators[d] == 0:
                        following.append(d)
                        sorted_count += len(groups[fits[d]])
                        fronts[-1].extend(groups[fits[d]])
            current = following
    return fronts


def select_nsga2(individuals: list[Individual], k: int) -> list[Individual]:
    """The ``k`` survivors by NSGA-II (front rank, then crowding), distinct genomes first.

    Duplicated genomes compete once; copies fill in only when there are fewer than ``k``
    distinct genomes. Deterministic: DEAP's sort is stable and draws no random numbers.
    """
    seen: set[str] = set()
    unique: list[Individual] = []
    copies: list[Individual] = []
    for ind in individuals:
        (copies if ind.key in seen else unique).append(ind)
        seen.add(ind.key)
    views = [_View(ind.fitness, i) for i, ind in enumerate(unique)]
    k_unique = min(k, len(views))
    fronts = sort_nondominated(views, k_unique)  # DEAP's NSGA-II sort, as in tools.selNSGA2
    for front in fronts:
        tools.emo.assignCrowdingDist(front)
    chosen = [(r, v) for r, front in enumerate(fronts[:-1]) for v in front]
    if fronts:
        last = sorted(fronts[-1], key=lambda v: v.fitness.crowding_dist, reverse=True)
        chosen += [(len(fronts) - 1, v) for v in last[: k_unique - len(chosen)]]
    out = [
        dataclasses.replace(unique[v.index], rank=r, crowding=float(v.fitness.crowding_dist))
        for r, v in chosen
    ]
    for ind in copies[: max(0, k - len(out))]:
        out.append(dataclasses.replace(ind, rank=len(fronts), crowding=0.0))
    return out


def first_front(individuals: list[Individual]) -> list[Individual]:
    """The non-dominated individuals (one per distinct genome), in population order."""
    seen: set[str] = set()
    unique = []
    for ind in individuals:
        if ind.key not in seen:
            seen.add(ind.key)
            unique.append(ind)
    views = [_View(ind.fitness, i) for i, ind in enumerate(unique)]
    if not views:
        return []
    front = sort_nondominated(views, len(views), first_front_only=True)[0]
    return [unique[i] for i in sorted(v.index for v in front)]


def select_parents(population: list[Individual], k: int, rng: random.Random) -> list[Individual]:
    """``k`` parents by binary tournament: lower front rank wins, then larger crowding distance."""
    out = []
    for _ in range(k):
        a = population[rng.randrange(len(population))]
        b = population[rng.randrange(len(population))]
        if (a.rank, -a.crowding) <= (b.rank, -b.crowding):
            out.append(a)
        else:
            out.append(b)
    return out
