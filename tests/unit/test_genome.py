"""The genome core: validation with clear messages, canonical form and hash, rescaling."""

from __future__ import annotations

import json

import pytest

from gaorg.errors import GenomeError
from gaorg.strategies.genome import SCHEMA, load_genome, make_genome, parse_genome, save_genome

EMA = {"module": "ema_crossover", "params": {"fast": 12, "slow": 48, "direction": "both"}}


def genome_dict(**overrides):
    return {"schema": SCHEMA, "entry": EMA, "filters": [], "exits": [], "sizing": None, **overrides}


def test_a_genome_round_trips_through_json_and_a_file(tmp_path):
    g = parse_genome(genome_dict())
    assert parse_genome(g.to_json()) == g
    path = save_genome(g, tmp_path / "g.json")
    assert load_genome(path) == g
    assert json.loads(path.read_text())["schema"] == SCHEMA


def test_key_order_and_int_valued_floats_do_not_change_the_hash():
    a = parse_genome(genome_dict())
    b = parse_genome(
        {"sizing": None, "exits": [], "entry": {"params": {"direction": "both", "slow": 48.0, "fast": 12}, "module": "ema_crossover"}, "schema": SCHEMA}
    )
    assert a == b and a.canonical_hash() == b.canonical_hash()


def test_different_parameters_give_different_hashes():
    a = parse_genome(genome_dict())
    b = make_genome(("ema_crossover", {"fast": 13, "slow": 48, "direction": "both"}))
    assert a.canonical_hash() != b.canonical_hash()


@pytest.mark.parametrize(
    "data, message",
    [
        (genome_dict(schema="gaorg.genome/9"), r"unknown genome schema 'gaorg.genome/9'"),
        ({k: v for k, v in genome_dict().items() if k != "schema"}, r"unknown genome schema None"),
        (genome_dict(entry={"module": "ema_crosover", "params": {}}), r"did you mean 'ema_crossover'"),
        (genome_dict(entry={"module": "ema_crossover", "params": {"fast": 12, "slow": 48}}), r"missing parameter 'direction'"),
        (genome_dict(entry={"module": "ema_crossover", "params": {**EMA["params"], "fsat": 1}}), r"no parameter 'fsat'"),
        (genome_dict(entry={"module": "ema_crossover", "params": {**EMA["params"], "fast": 1}}), r"fast=1 is out of bounds \[2, 500\]"),
        (genome_dict(entry={"module": "ema_crossover", "params": {**EMA["params"], "fast": "12"}}), r"fast must be a whole number"),
        (genome_dict(entry={"module": "ema_crossover", "params": {**EMA["params"], "fast": 50}}), r"fast \(50\) must be shorter than slow \(48\)"),
        (genome_dict(entry={"module": "ema_crossover", "params": {**EMA["params"], "direction": "up"}}), r"direction='up' is not one of"),
        (genome_dict(extra=1), r"unexpected field 'extra'"),
        (genome_dict(entry=None), r"'entry' is missing"),
        (genome_dict(filters=[EMA]), r"is a entry module, not filter"),
        ("{not json", r"not valid JSON"),
    ],
)
def test_invalid_genomes_are_rejected_with_a_message_that_names_the_problem(data, message):
    with pytest.raises(GenomeError, match=message):
        parse_genome(data)


def test_load_genome_names_the_file_in_its_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(genome_dict(schema="v0")))
    with pytest.raises(GenomeError, match="bad.json"):
        load_genome(path)


def test_rescaling_multiplies_period_genes_and_keeps_choices():
    g = make_genome(("ema_crossover", {"fast": 5, "slow": 20, "direction": "long"}))
    fine = g.rescaled(4.0)
    assert fine.entry.as_dict() == {"fast": 20, "slow": 80, "direction": "long"}
    assert fine.lookback() == 80
