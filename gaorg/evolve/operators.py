"""Variation operators over genomes: plain functions, every random draw from the ``rng`` given.

- :func:`random_genome` samples a valid genome from a :class:`Space` (the allowed modules)
  with ``gaorg.strategies.sampling``.
- :func:`mutate` is a structure mutation (swap, add or drop a module) or a parameter mutation by
  gene type (bounded Gaussian for floats, bounded integer steps, choice flips; ``genes.py``).
- :func:`crossover` mixes two parents slot by slot (a module both carry mixes gene by gene).

Every result is a valid genome: numbers are clipped (``parse_genome(repair=True)``) and a
module's cross-gene rule or the space's lookback limit that still fails makes the operator draw
again, a bounded number of times, from the same ``rng`` (so runs stay reproducible), and fall
back to the unchanged parent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from gaorg.errors import ConfigError, DataTooShortError, GenomeError
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.genome import SCHEMA, Genome, Slot, parse_genome
from gaorg.strategies.sampling import random_genome as sample_genome
from gaorg.strategies.sampling import random_params
from gaorg.strategies.spec import ModuleSpec, Role

TRIES = 20  # bounded redraws before an operator gives up and keeps the parent


@dataclass(frozen=True)
class Space:
    """Which genomes evolution may build: module names by role, slot limits, a lookback ceiling.

    Holds names only (the catalogue's specs hold functions), so it pickles into a checkpoint.
    """

    entries: tuple[str, ...]
    filters: tuple[str, ...]
    exits: tuple[str, ...]
    sizings: tuple[str, ...]
    max_filters: int = 2
    max_exits: int = 1
    max_lookback: int | None = None
    parsimony: float = 1.0  # random genomes' counts of filters and exits: P(k) ~ parsimony ** k

    @classmethod
    def from_modules(
        cls, modules: tuple[str, ...] = (), max_filters: int = 2, max_exits: int = 1,
        max_lookback: int | None = None, parsimony: float = 1.0,
    ) -> Space:
        """The space of the whole catalogue, or of ``modules`` only (unknown names raise ConfigError)."""
        from gaorg.config import did_you_mean

        names = modules or tuple(sorted(CATALOGUE))
        for name in names:
            if name not in CATALOGUE:
                raise ConfigError(
                    f"modules: unknown module {name!r}{did_you_mean(name, CATALOGUE)}; "
                    f"known modules: {', '.join(sorted(CATALOGUE))}"
                )
        by_role = {role: tuple(sorted(n for n in names if CATALOGUE[n].role is role)) for role in Role}
        if not by_role[Role.ENTRY]:
            raise ConfigError("modules: include at least one entry module, e.g. ema_crossover")
        return cls(by_role[Role.ENTRY], by_role[Role.FILTER], by_role[Role.EXIT], by_role[Role.SIZING],
                   max_filters, max_exits, max_lookback, parsimony)

    def catalogue(self) -> dict[str, ModuleSpec]:
        """The catalogue restricted to this space's modules."""
        names = (*self.entries, *self.filters, *self.exits, *self.sizings)
        return {name: CATALOGUE[name] for name in names}

    def with_lookback(self, max_lookback: int | None) -> Space:
        """This space for series that give at most ``max_lookback`` bars of warm-up.

        Modules whose shortest parameters still need more are left out (DataTooShortError when
        no entry module fits).
        """
        if max_lookback is None:
            return Space(self.entries, self.filters, self.exits, self.sizings,
                         self.max_filters, self.max_exits, None, self.parsimony)
        keep = [tuple(n for n in names if _fits(CATALOGUE[n], max_lookback))
                for names in (self.entries, self.filters, self.exits, self.sizings)]
        if not keep[0]:
            raise DataTooShortError(
                f"no entry module ({', '.join(self.entries)}) fits in {max_lookback} bars of warm-up; "
                "load longer series, use fewer --folds or a finer timeframe"
            )
        return Space(*keep, self.max_filters, self.max_exits, max_lookback, self.parsimony)

    def admits(self, genome: Genome) -> bool:
        """True when ``genome`` uses allowed modules within the limits and the lookback ceiling."""
        ok = (
            genome.entry.module in self.entries
            and all(s.module in self.filters for s in genome.filters)
            and all(s.module in self.exits for s in genome.exits)
            and (genome.sizing is None or genome.sizing.module in self.sizings)
            and len(genome.filters) <= self.max_filters
            and len(genome.exits) <= self.max_exits
        )
        return ok and (self.max_lookback is None or genome.lookback() <= self.max_lookback)


def _fits(spec: ModuleSpec, max_lookback: int) -> bool:
    """True when some parameters of ``spec`` need at most ``max_lookback`` bars."""
    for seed in range(2):  # its own rngs: the run's stays untouched
        try:
            random_params(spec, random.Random(seed), max_lookback)
            return True
        except GenomeError:
            continue
    return False


def sample_slot(spec: ModuleSpec, rng: random.Random, max_lookback: int | None = None) -> dict[str, Any]:
    """Random parameters for ``spec`` that pass its cross-gene rule (a slot as a JSON object)."""
    return {"module": spec.name, "params": random_params(spec, rng, max_lookback)}


def random_genome(rng: random.Random, space: Space) -> Genome:
    """A random valid genome of ``space`` (``gaorg.strategies.sampling``), within its limits."""
    catalogue = space.catalogue()
    for _ in range(TRIES):
        try:
            genome = sample_genome(rng, catalogue, space.max_filters, space.max_exits, p_sizing=0.3,
                                   max_lookback=space.max_lookback, parsimony=space.parsimony)
        except GenomeError:  # a module drawn found no parameters within the lookback: draw again
            continue
        if space.admits(genome):
            return genome
    raise GenomeError(
        f"no random genome fits the lookback limit of {space.max_lookback} bars; "
        "use longer series or fewer folds"
    )


def mutate(genome: Genome, rng: random.Random, space: Space, structure_rate: float = 0.25,
           strength: float = 0.1) -> Genome:
    """A mutated, valid copy of ``genome`` (the parent itself if no valid variant is found)."""
    for _ in range(TRIES):
        if rng.random() < structure_rate:
            try:
                child = mutate_structure(genome, rng, space)
            except GenomeError:  # the drawn module cannot fit the lookback limit: draw again
                child = None
        else:
            child = mutate_params(genome, rng, strength)
        if child is not None and child != genome and space.admits(child):
            return child
    return genome


def mutate_params(genome: Genome, rng: random.Random, strength: float = 0.1) -> Genome | None:
    """Mutate each gene with probability 1/genes (at least one gene); None if the result is invalid."""
    slots = list(genome.slots)
    genes = [(i, name) for i, slot in enumerate(slots) for name, _ in slot.params]
    if not genes:
        return None
    rate = 1.0 / len(genes)
    chosen = [g for g in genes if rng.random() < rate] or [rng.choice(genes)]
    params = [slot.as_dict() for slot in slots]
    for i, name in chosen:
        gene = CATALOGUE[slots[i].module].gene(name)
        params[i][name] = gene.mutate(params[i][name], rng, strength)
    new = [{"module": s.module, "params": p} for s, p in zip(slots, params, strict=True)]
    return _rebuild(genome, new)


def mutate_structure(genome: Genome, rng: random.Random, space: Space) -> Genome | None:
    """Swap a module for another of its role, add a filter/exit/sizing, or drop one."""
    data = genome.to_dict()
    moves: list[tuple[str, str]] = []
    if len(space.entries) > 1:
        moves.append(("swap", "entry"))
    for key, pool, most in (("filters", space.filters, space.max_filters),
                            ("exits", space.exits, space.max_exits)):
        have = {s["module"] for s in data[key]}
        if data[key]:
            moves.append(("drop", key))
            if set(pool) - have:
                moves.append(("swap", key))
        if len(data[key]) < most and set(pool) - have:
            moves.append(("add", key))
    if space.sizings:
        moves.append(("drop" if data["sizing"] else "add", "sizing"))
        if data["sizing"] and len(space.sizings) > 1:
            moves.append(("swap", "sizing"))
    if not moves:
        return None
    move, key = rng.choice(moves)
    if key in ("entry", "sizing"):
        current = data[key]["module"] if data[key] else None
        pool = space.entries if key == "entry" else space.sizings
        if move == "drop":
            data[key] = None
        else:
            options = [n for n in pool if n != current]
            data[key] = sample_slot(CATALOGUE[rng.choice(options)], rng, space.max_lookback)
    else:
        pool = space.filters if key == "filters" else space.exits
        slots: list[dict[str, Any]] = data[key]
        have = {s["module"] for s in slots}
        free = sorted(set(pool) - have)
        if move == "drop":
            slots.pop(rng.randrange(len(slots)))
        elif move == "add":
            slots.append(sample_slot(CATALOGUE[rng.choice(free)], rng, space.max_lookback))
        else:
            slots[rng.randrange(len(slots))] = sample_slot(CATALOGUE[rng.choice(free)], rng, space.max_lookback)
    return _parse(data)


def crossover(a: Genome, b: Genome, rng: random.Random, space: Space) -> tuple[Genome, Genome]:
    """Two valid children of ``a`` and ``b`` (the parents themselves if no valid mix is found).

    The entry and sizing slots go to either child (mixed gene by gene when both parents use the
    same module); each filter/exit module of either parent goes to one child, or, when both carry
    it, each child gets a gene-by-gene mix.
    """
    for _ in range(TRIES):
        one: dict[str, Any] = {"schema": SCHEMA}
        two: dict[str, Any] = {"schema": SCHEMA}
        for key in ("entry", "sizing"):
            one[key], two[key] = _cross_single(_single(a, key), _single(b, key), rng)
        for key in ("filters", "exits"):
            one[key], two[key] = _cross_many(getattr(a, key), getattr(b, key), rng)
        c1, c2 = _parse(one), _parse(two)
        if c1 is not None and c2 is not None and space.admits(c1) and space.admits(c2):
            return c1, c2
    return a, b


def _single(genome: Genome, key: str) -> Slot | None:
    return genome.entry if key == "entry" else genome.sizing


def _cross_single(x: Slot | None, y: Slot | None, rng: random.Random) -> tuple[Any, Any]:
    if x is not None and y is not None and x.module == y.module:
        p, q = _mix(x, y, rng)
        return p, q
    if rng.random() < 0.5:
        x, y = y, x
    return (x.to_json_obj() if x else None), (y.to_json_obj() if y else None)


def _cross_many(xs: tuple[Slot, ...], ys: tuple[Slot, ...], rng: random.Random) -> tuple[list, list]:
    bx = {s.module: s for s in xs}
    by = {s.module: s for s in ys}
    one: list[dict[str, Any]] = []
    two: list[dict[str, Any]] = []
    for name in sorted(set(bx) | set(by)):
        if name in bx and name in by:
            p, q = _mix(bx[name], by[name], rng)
            one.append(p)
            two.append(q)
        else:
            slot = (bx.get(name) or by[name]).to_json_obj()
            (one if rng.random() < 0.5 else two).append(slot)
    return one, two


def _mix(x: Slot, y: Slot, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """Uniform crossover of two slots of the same module, gene by gene."""
    p, q = x.as_dict(), y.as_dict()
    for name in p:
        if rng.random() < 0.5:
            p[name], q[name] = q[name], p[name]
    return {"module": x.module, "params": p}, {"module": x.module, "params": q}


def _rebuild(genome: Genome, slots: list[dict[str, Any]]) -> Genome | None:
    n_f, n_e = len(genome.filters), len(genome.exits)
    data = {
        "schema": SCHEMA,
        "entry": slots[0],
        "filters": slots[1:1 + n_f],
        "exits": slots[1 + n_f:1 + n_f + n_e],
        "sizing": slots[1 + n_f + n_e] if genome.sizing else None,
    }
    return _parse(data)


def _parse(data: dict[str, Any]) -> Genome | None:
    """Clip numbers to bounds; None when a rule still fails (the caller draws again)."""
    try:
        return parse_genome(data, repair=True)
    except GenomeError:
        return None
