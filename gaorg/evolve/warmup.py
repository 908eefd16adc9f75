"""Warm-up: every module of the run's space evaluated once on a short slice, before any timing.

A process pays once for each module's compiled code (numba's disk cache) and, for the learned
modules, for importing scikit-learn: seconds, where a warm evaluation takes milliseconds. Left in
the first generation, that cost would be charged to whichever genome met it first, and the timing
table would call a family slow for being first. So before a run's first evaluation in a process,
each worker evaluates one genome per module (lowest periods, on the first :data:`WARM_BARS` bars
of each series); the run reports those seconds apart. Nothing of it reaches the run's results.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from gaorg.errors import DataTooShortError
from gaorg.evolve.fitness import Market, evaluate_batch
from gaorg.evolve.folds import make_split
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.genes import ChoiceGene, IntGene
from gaorg.strategies.genome import Genome, make_genome
from gaorg.strategies.spec import Role

WARM_BARS = 600
"""Bars per series of the warm-up market (enough for every module at its lowest periods)."""


def warm_genomes(entries: Sequence[str], modules: Sequence[str]) -> list[Genome]:
    """One genome per module: an entry alone, any other module behind the first of ``entries``;
    whole-number genes (periods) at their lowest, the others mid-range or their last choice, so
    it fits a short series."""
    def slot(name: str) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {}
        for gene in CATALOGUE[name].genes:
            if isinstance(gene, ChoiceGene):
                params[gene.name] = gene.choices[-1]
            else:
                params[gene.name] = gene.low if isinstance(gene, IntGene) else (gene.low + gene.high) / 2
        return name, params

    out = []
    for name in modules:
        role = CATALOGUE[name].role
        if role is Role.ENTRY:
            out.append(make_genome(slot(name)))
        elif entries:
            where = {Role.FILTER: "filters", Role.EXIT: "exits"}.get(role)
            extra = {where: (slot(name),)} if where else {"sizing": slot(name)}
            out.append(make_genome(slot(entries[0]), **extra))
    return out


def warm_market(market: Market) -> Market:
    """``market`` cut to its first :data:`WARM_BARS` bars a series, two folds (itself if too short)."""
    try:
        bars = tuple(b.slice(0, min(len(b), WARM_BARS)) for b in market.bars)
        splits = tuple(make_split(len(b), 2, 0.2, market.scheme, 20) for b in bars)
    except DataTooShortError:
        return market
    return dataclasses.replace(market, bars=bars, splits=splits)


def warm_up(genomes: Sequence[Genome], market: Market) -> float:
    """Evaluate ``genomes`` on ``market`` in this process and return the seconds it took (the
    task every worker runs once)."""
    start = time.perf_counter()
    evaluate_batch(list(genomes), market)
    return time.perf_counter() - start


def warm_workers(mapper: Any, entries: Sequence[str], modules: Sequence[str], market: Market) -> float:
    """Warm every worker of ``mapper`` for ``modules``; the wall seconds it took."""
    start = time.perf_counter()
    mapper.warm(warm_up, warm_genomes(entries, modules), warm_market(market))
    return time.perf_counter() - start
