"""Random genomes and random module parameters, always valid. Evolution builds its operators on these.

``random_genome`` draws one entry, up to ``max_filters`` filters, up to ``max_exits`` exits and,
with probability ``p_sizing``, a sizing module (how many filters and exits: P(k) proportional to
``parsimony ** k``, so 1.0 draws every count equally often and 0.5 makes each count half as likely
as one fewer); each module's parameters are drawn from its genes
(period genes log-uniformly, see ``genes.IntGene.sample``) until the module's cross-gene check
passes and, when ``max_lookback`` is given, its lookback fits. The result goes through
``parse_genome``, so it is canonical and valid by construction. Modules that cannot fit
``max_lookback`` even at their shortest periods are left out of the draw.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from gaorg.errors import GenomeError
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.genes import ChoiceGene, IntGene
from gaorg.strategies.genome import SCHEMA, Genome, parse_genome
from gaorg.strategies.spec import ModuleSpec, Role

MAX_TRIES = 1000


def random_params(spec: ModuleSpec, rng: random.Random, max_lookback: int | None = None) -> dict[str, Any]:
    """Parameters for ``spec`` that pass its check (and fit ``max_lookback`` bars, if given).

    Period genes are drawn below ``max_lookback`` so that a short series still gets a module;
    raises GenomeError if the module cannot fit at all (its shortest periods are too long).
    """
    for _ in range(MAX_TRIES):
        params: dict[str, Any] = {}
        for gene in spec.genes:
            if max_lookback is not None and isinstance(gene, IntGene) and gene.period and gene.high > max_lookback:
                capped = IntGene(gene.name, gene.low, max(gene.low, max_lookback), period=True)
                params[gene.name] = capped.sample(rng)
            else:
                params[gene.name] = gene.sample(rng)
        if spec.check is not None and spec.check(params):
            continue
        if max_lookback is not None and spec.lookback(params) > max_lookback:
            continue
        return params
    raise GenomeError(
        f"module {spec.name!r}: no valid parameters found"
        + (f" with a lookback of at most {max_lookback} bars" if max_lookback is not None else "")
    )


def shortest_lookback(spec: ModuleSpec) -> int:
    """The module's lookback with every gene at its lower bound (lookbacks grow with periods)."""
    low = {g.name: g.choices[0] if isinstance(g, ChoiceGene) else g.low for g in spec.genes}
    return spec.lookback(low)


def draw_count(rng: random.Random, most: int, parsimony: float = 1.0) -> int:
    """A count in 0..``most`` with P(k) proportional to ``parsimony ** k``.

    At 1.0 it is ``rng.randint(0, most)``, the same draw from the same rng state as before the
    option existed, so a seed's genomes (and older runs and checkpoints) keep their meaning;
    below 1.0 it spends one ``rng.random()``. Fewer modules: fewer chances to fit noise. With
    nothing to choose (``most`` 0) it draws as 1.0 does at any setting, so a space without
    filters or exits (``--modules`` of entries only) evolves exactly as before the option.
    """
    if not 0.0 < parsimony <= 1.0:
        raise ValueError(f"parsimony: {parsimony} must be in (0, 1]")
    if parsimony == 1.0 or most == 0:
        return rng.randint(0, most)
    weights = [parsimony**k for k in range(most + 1)]
    x = rng.random() * sum(weights)
    for k, w in enumerate(weights):
        x -= w
        if x < 0:
            return k
    return most


def random_genome(
    rng: random.Random,
    catalogue: Mapping[str, ModuleSpec] = CATALOGUE,
    max_filters: int = 2,
    max_exits: int = 1,
    p_sizing: float = 0.5,
    *,
    max_lookback: int | None = None,
    learned: bool = True,
    parsimony: float = 1.0,
) -> Genome:
    """A valid random genome drawn from ``catalogue``.

    ``max_lookback`` bounds the genome's longest period (so it runs on a series of that many bars
    plus one); ``learned=False`` leaves out the learned entries (SVC, PCA + tree), which cost more;
    ``parsimony`` in (0, 1] weighs the counts of filters and exits (:func:`draw_count`).
    """

    def names(role: Role) -> list[str]:
        return sorted(
            n
            for n, s in catalogue.items()
            if s.role is role and (learned or not s.learned) and (max_lookback is None or shortest_lookback(s) <= max_lookback)
        )

    def slot(name: str) -> dict[str, Any]:
        return {"module": name, "params": random_params(catalogue[name], rng, max_lookback)}

    entries = names(Role.ENTRY)
    if not entries:
        raise GenomeError(
            "the catalogue has no entry module to build a genome from"
            + (f" with a lookback of at most {max_lookback} bars" if max_lookback is not None else "")
        )
    filters = names(Role.FILTER)
    exits = names(Role.EXIT)
    sizings = names(Role.SIZING)
    n_filters = draw_count(rng, min(max_filters, len(filters)), parsimony)
    n_exits = draw_count(rng, min(max_exits, len(exits)), parsimony)
    data = {
        "schema": SCHEMA,
        "entry": slot(rng.choice(entries)),
        "filters": [slot(n) for n in rng.sample(filters, n_filters)],
        "exits": [slot(n) for n in rng.sample(exits, n_exits)],
        "sizing": slot(rng.choice(sizings)) if sizings and rng.random() < p_sizing else None,
    }
    return parse_genome(data, catalogue)
