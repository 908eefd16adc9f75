"""Random genomes: always valid, reproducible, bounded by a lookback, covering the catalogue."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from gaorg.errors import GenomeError
from gaorg.strategies import random_genome as lazy_random_genome
from gaorg.strategies.catalogue import CATALOGUE, describe, format_catalogue
from gaorg.strategies.genes import IntGene
from gaorg.strategies.genome import parse_genome
from gaorg.strategies.sampling import random_genome, random_params
from gaorg.strategies.spec import Role

FAMILIES = {
    "EMA crossover", "Donchian breakout", "RSI filter", "stochastic oscillator", "SMA trend filter",
    "ATR stop-loss", "Ichimoku cloud", "VWAP reversion", "volatility scaling", "funding-rate carry",
    "linear SVC classifier", "PCA + tree quantile model",
}  # fmt: skip


def test_random_genomes_are_valid_canonical_and_round_trip():
    rng = random.Random(1)
    for _ in range(300):
        g = random_genome(rng)
        assert parse_genome(g.to_json()) == g
        assert len(g.filters) <= 2 and len(g.exits) <= 1


def test_the_same_seed_gives_the_same_genomes():
    a = [random_genome(random.Random(7)).canonical_hash() for _ in range(3)]
    b = [random_genome(random.Random(7)).canonical_hash() for _ in range(3)]
    assert a == b and lazy_random_genome is random_genome


def test_random_genomes_draw_every_module_of_the_catalogue():
    rng = random.Random(2)
    seen = Counter(m for _ in range(400) for m in random_genome(rng, max_filters=2, max_exits=1).modules)
    assert set(seen) == set(CATALOGUE)


@pytest.mark.parametrize("max_lookback", [30, 120, 700])
def test_max_lookback_bounds_the_longest_period(max_lookback):
    rng = random.Random(max_lookback)
    for _ in range(100):
        assert random_genome(rng, max_lookback=max_lookback).lookback() <= max_lookback


def test_learned_false_leaves_out_the_learned_entries():
    rng = random.Random(3)
    modules = {m for _ in range(300) for m in random_genome(rng, learned=False).modules}
    assert not modules & {n for n, s in CATALOGUE.items() if s.learned}


def test_a_module_that_cannot_fit_the_lookback_is_refused_with_the_reason():
    with pytest.raises(GenomeError, match="lookback of at most 10 bars"):
        random_params(CATALOGUE["linear_svc"], random.Random(0), max_lookback=10)


def test_period_genes_are_drawn_log_uniformly():
    gene = IntGene("p", 2, 2000, period=True)
    rng = random.Random(4)
    draws = [gene.sample(rng) for _ in range(4000)]
    short = sum(d < 63 for d in draws) / len(draws)  # 63 ~ geometric middle of [2, 2000]
    assert 0.45 < short < 0.55 and min(draws) >= 2 and max(draws) <= 2000


def test_the_catalogue_has_the_12_seed_families_and_one_entry_per_role_at_least():
    assert {s.family for s in CATALOGUE.values()} == FAMILIES
    assert {s.role for s in CATALOGUE.values()} == set(Role)


def test_the_catalogue_listing_names_every_module_gene_bound_and_doc():
    rows = describe()
    assert [r["module"] for r in rows] == sorted(r["module"] for r in rows if r["role"] == "entry") + [
        r["module"] for r in rows if r["role"] != "entry"
    ]
    text = format_catalogue()
    for row in rows:
        spec = CATALOGUE[row["module"]]
        assert [g["name"] for g in row["genes"]] == [g.name for g in spec.genes]
        assert row["module"] in text and row["role"] in text
        for g, gene in zip(row["genes"], spec.genes, strict=True):
            if g["type"] == "choice":
                assert tuple(g["choices"]) == gene.choices
            else:
                assert (g["low"], g["high"]) == (gene.low, gene.high)
                assert f"[{gene.low}, {gene.high}]" in text
            assert g["doc"] and g["doc"] in text


def test_each_family_module_says_its_role_in_its_docstring():
    import importlib

    for spec in CATALOGUE.values():
        module = importlib.import_module(spec.compute.__module__)
        assert f"role: {spec.role.value}" in module.__doc__.lower(), spec.name
