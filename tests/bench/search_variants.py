"""Operator variants screened on the reversion market (a script, not a test; none is kept in gaorg).

    .venv/bin/python tests/bench/search_variants.py VARIANT[,VARIANT] [bench_search.py's options]
    e.g. .venv/bin/python tests/bench/search_variants.py elite --seeds 20 --methods nsga2 --budget compute

Each variant patches gaorg's operators in this process only, then runs ``bench_search.py`` with
the options given, so a record of a variant is comparable seed by seed with the default's
(``docs/benchmarks.md``, "Why the search misses the reversion rule"):

- ``log``: period genes mutate in log scale (sigma ``LOG_SCALE * strength * ln(high / low)``)
  instead of a step of ``strength`` times their whole range (~200 bars for a VWAP period).
- ``band``: a share ``BAND_SHARE`` of a finer stage's random genomes draw every period below
  the coarser stage's shortest period rescaled (the scales the coarse front cannot express).
- ``parsimony``: random genomes draw 0 filters (exits) twice as often as 1, 1 twice as often as 2.
- ``elite``: a share ``ELITE`` of each generation's children are mutants of the population's
  ``TOP`` best by mean walk-forward Sharpe (exploitation beside NSGA-II's tournament).
- ``wide``: the finer stages' first generation draws ``WIDE`` times the population (the
  coarse stage keeps ``initial_factor``): breadth where the coarse front cannot see the edge.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _log() -> None:
    from gaorg.strategies import genes

    scale = float(os.environ.get("LOG_SCALE", "1.0"))
    linear = genes.IntGene.mutate

    def mutate(self, value, rng, strength):
        if not (self.period and self.low >= 1):
            return linear(self, value, rng, strength)
        sigma = scale * strength * math.log((self.high + 1) / self.low)
        for _ in range(8):
            moved = min(self.high, max(self.low, round(value * math.exp(rng.gauss(0.0, sigma)))))
            if moved != value:
                return moved
        return min(self.high, max(self.low, value + rng.choice((-1, 1))))

    genes.IntGene.mutate = mutate


def _band() -> None:
    from gaorg.errors import GenomeError
    from gaorg.evolve import loop, operators
    from gaorg.strategies.genes import IntGene
    from gaorg.strategies.genome import parse_genome
    from gaorg.strategies.sampling import random_genome as sample_genome

    share = float(os.environ.get("BAND_SHARE", "0.5"))
    plain = operators.random_genome

    def banded(rng, space, factor):
        catalogue = {}
        for name, spec in space.catalogue().items():
            capped = tuple(dataclasses.replace(g, high=max(g.low, min(g.high, math.ceil(g.low * factor) - 1)))
                           if isinstance(g, IntGene) and g.period and g.low >= 1 else g for g in spec.genes)
            catalogue[name] = dataclasses.replace(spec, genes=capped)
        for _ in range(20):
            try:
                g = parse_genome(sample_genome(rng, catalogue, space.max_filters, space.max_exits, p_sizing=0.3,
                                               max_lookback=space.max_lookback).to_dict())
            except GenomeError:
                continue
            if space.admits(g):
                return g
        return plain(rng, space)

    original = loop.initial_population

    def initial_population(state, rng, space, seeds):
        if not seeds or state.stage == 0:
            return original(state, rng, space, seeds)
        count = [0]
        factor = state.config.rescale_factor(state.stage)

        def draw(rng_, space_):
            count[0] += 1
            return banded(rng_, space_, factor) if (count[0] * share) % 1.0 + share >= 1.0 - 1e-9 else plain(rng_, space_)

        operators.random_genome = draw
        try:
            return original(state, rng, space, seeds)
        finally:
            operators.random_genome = plain

    loop.initial_population = initial_population


def _parsimony() -> None:
    # the screen that led to EvolveConfig.parsimony; its draws are now the default's (0.5, whose
    # rng.random() this wrapper passes through), so on today's defaults this variant changes nothing:
    # compare with --set parsimony=1 instead (docs/benchmarks.md, "Parsimony")
    from gaorg.evolve import operators
    from gaorg.strategies.sampling import random_genome as sample_genome

    class Fewer:
        """The rng given, but counts from 0 drawn with weights 1, 1/2, 1/4..."""

        def __init__(self, rng) -> None:
            self.rng = rng

        def __getattr__(self, name):
            return getattr(self.rng, name)

        def randint(self, a, b):
            if a != 0:
                return self.rng.randint(a, b)
            x = self.rng.random() * sum(2.0 ** -k for k in range(b + 1))
            for k in range(b + 1):
                x -= 2.0 ** -k
                if x < 0:
                    return k
            return b

    operators.sample_genome = lambda rng, *a, **k: sample_genome(Fewer(rng), *a, **k)


def _elite() -> None:
    from gaorg.evolve import loop
    from gaorg.evolve.types import Individual

    share, top_n = float(os.environ.get("ELITE", "0.4")), int(os.environ.get("TOP", "2"))
    original = loop.vary

    def vary(tb, state, rng, parents, generation, space=None):
        kids = original(tb, state, rng, parents, generation, space)
        seen, top = set(), []
        for ind in sorted(state.population, key=lambda i: (-i.fitness.values[0], i.key)):
            if ind.key not in seen:
                seen.add(ind.key)
                top.append(ind)
        top = top[:top_n]
        k = 0
        for i in range(len(kids)):
            if rng.random() < share:
                src = top[k % len(top)]
                k += 1
                kids[i] = Individual(tb.mutate(src.genome), None, (src.key,), state.stage, generation)
        return kids

    loop.vary = vary


def _wide() -> None:
    from gaorg.evolve import loop

    factor = float(os.environ.get("WIDE", "3"))
    original = loop.initial_population

    def initial_population(state, rng, space, seeds):
        if state.stage == 0:
            return original(state, rng, space, seeds)
        wide = dataclasses.replace(state, config=dataclasses.replace(state.config, initial_factor=factor))
        return original(wide, rng, space, seeds)

    loop.initial_population = initial_population


VARIANTS = {"log": _log, "band": _band, "parsimony": _parsimony, "elite": _elite, "wide": _wide, "none": lambda: None}

if __name__ == "__main__":
    for name in sys.argv[1].split(","):
        VARIANTS[name]()
    import bench_search

    sys.exit(bench_search.main(sys.argv[2:]))
