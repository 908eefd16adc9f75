"""Variation operators: every child is a valid genome of the space, and runs are reproducible."""

from __future__ import annotations

import random

import pytest

from gaorg.errors import ConfigError
from gaorg.evolve.operators import Space, crossover, mutate, mutate_params, mutate_structure, random_genome
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.genome import make_genome, parse_genome
from gaorg.strategies.spec import Role

SPACE = Space.from_modules()


def ema(fast: int, slow: int, direction: str = "both"):
    return make_genome(("ema_crossover", {"fast": fast, "slow": slow, "direction": direction}))


def assert_valid(genome, space: Space = SPACE) -> None:
    assert parse_genome(genome.to_dict()) == genome  # canonical and valid against the catalogue
    assert space.admits(genome)


def test_random_genome_is_valid_and_respects_the_lookback_limit():
    rng = random.Random(3)
    space = SPACE.with_lookback(60)
    for _ in range(100):
        genome = random_genome(rng, space)
        assert_valid(genome, space)
        assert genome.lookback() <= 60


def test_same_seed_gives_the_same_genomes_and_mutants():
    def run(seed: int) -> list[str]:
        rng = random.Random(seed)
        out = []
        for _ in range(30):
            g = random_genome(rng, SPACE)
            out.append(mutate(g, rng, SPACE).canonical_hash())
        return out

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_parameter_mutation_changes_values_within_their_bounds():
    rng = random.Random(0)
    parent = ema(10, 40)
    changed = 0
    for _ in range(300):
        child = mutate_params(parent, rng, strength=0.3)
        if child is None:  # e.g. fast pushed above slow: the caller draws again
            continue
        assert_valid(child)
        assert child.modules == parent.modules
        p = child.entry.as_dict()
        for name in ("fast", "slow"):
            gene = CATALOGUE["ema_crossover"].gene(name)
            assert gene.low <= p[name] <= gene.high
        assert p["fast"] < p["slow"]
        changed += child != parent
    assert changed > 200


def test_mutate_always_returns_a_valid_child_different_from_its_parent():
    rng = random.Random(1)
    parent = ema(10, 40)
    for _ in range(200):
        child = mutate(parent, rng, SPACE, structure_rate=0.5, strength=0.2)
        assert_valid(child)
        assert child != parent


def test_structure_mutation_swaps_adds_or_drops_a_module():
    rng = random.Random(2)
    parent = ema(10, 40)
    seen_sets = set()
    for _ in range(200):
        child = mutate_structure(parent, rng, SPACE)
        if child is None:
            continue
        assert_valid(child)
        assert child.modules != parent.modules  # the structure changed, not only parameters
        seen_sets.add(child.modules)
    assert len(seen_sets) >= 2
    other_entries = set(SPACE.entries) - {"ema_crossover"}
    if other_entries:  # an entry swap happened
        assert any(mods[0] in other_entries for mods in seen_sets)


def test_structure_mutation_can_drop_what_it_added():
    rng = random.Random(5)
    if not (SPACE.filters or SPACE.exits or SPACE.sizings):
        pytest.skip("the catalogue has no filter, exit or sizing module yet")
    genome = ema(10, 40)
    grew = shrank = False
    for _ in range(300):
        child = mutate_structure(genome, rng, SPACE)
        if child is None:
            continue
        grew |= len(child.slots) > len(genome.slots)
        shrank |= len(child.slots) < len(genome.slots)
        genome = child
    assert grew and shrank


def test_crossover_of_one_module_mixes_genes_and_repairs_cross_gene_rules():
    rng = random.Random(4)
    a, b = ema(5, 10, "long"), ema(150, 700, "both")
    for _ in range(200):
        c1, c2 = crossover(a, b, rng, SPACE)
        for child in (c1, c2):
            assert_valid(child)
            p = child.entry.as_dict()
            assert p["fast"] in (5, 150) and p["slow"] in (10, 700) and p["fast"] < p["slow"]


def test_crossover_children_only_carry_modules_of_their_parents():
    rng = random.Random(6)
    for _ in range(100):
        a, b = random_genome(rng, SPACE), random_genome(rng, SPACE)
        c1, c2 = crossover(a, b, rng, SPACE)
        for child in (c1, c2):
            assert_valid(child)
            assert set(child.modules) <= set(a.modules) | set(b.modules)


def test_space_rejects_unknown_modules_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'ema_crossover'"):
        Space.from_modules(("ema_crosover",))


def test_space_needs_an_entry_module():
    non_entry = [n for n, s in CATALOGUE.items() if s.role is not Role.ENTRY]
    if not non_entry:
        pytest.skip("the catalogue has only entry modules yet")
    with pytest.raises(ConfigError, match="entry module"):
        Space.from_modules((non_entry[0],))


def test_space_for_short_series_drops_modules_that_cannot_warm_up():
    short = SPACE.with_lookback(30)
    assert "ema_crossover" in short.entries
    learned = {n for n, s in CATALOGUE.items() if s.learned}
    assert not learned & set(short.entries)  # a model fit needs more than 30 bars
    rng = random.Random(0)
    assert all(random_genome(rng, short).lookback() <= 30 for _ in range(50))


def test_no_entry_module_fitting_the_warm_up_is_data_too_short():
    from gaorg.errors import DataTooShortError

    with pytest.raises(DataTooShortError, match="fits in 0 bars of warm-up; load longer series"):
        SPACE.with_lookback(0)
