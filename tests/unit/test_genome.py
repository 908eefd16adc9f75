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


RSI = {"module": "rsi_filter", "params": {"period": 14, "upper": 70.0, "lower": 30.0}}
ATR = {"module": "atr_stop", "params": {"period": 14, "stop_mult": 2.0, "take_mult": 4.0}}
VOL = {"module": "vol_scaling", "params": {"period": 50, "target_vol": 0.3}}


@pytest.mark.parametrize(
    "data, message",
    [
        (genome_dict(filters=[{"module": "rsi_filtr", "params": RSI["params"]}]), r"did you mean 'rsi_filter'"),
        (genome_dict(filters=[{"module": "rsi_filter", "params": {"period": 14, "upper": 70.0}}]), r"missing parameter 'lower'"),
        (genome_dict(filters=[{"module": "rsi_filter", "params": {**RSI["params"], "uper": 1}}]), r"no parameter 'uper' \(did you mean 'upper'\?\)"),
        (genome_dict(filters=[{"module": "rsi_filter", "params": {**RSI["params"], "upper": "high"}}]), r"upper must be a number"),
        (genome_dict(filters=[{"module": "rsi_filter", "params": {**RSI["params"], "upper": 99.5}}]), r"upper=99.5 is out of bounds \[50.0, 95.0\]"),
        (genome_dict(filters=[{"module": "rsi_filter", "params": {**RSI["params"], "upper": float("nan")}}]), r"upper=nan is out of bounds"),
        (genome_dict(filters=[{"module": "rsi_filter", "params": {**RSI["params"], "period": True}}]), r"period must be a whole number"),
        (genome_dict(filters=[{"module": "rsi_filter", "params": {**RSI["params"], "period": 14.5}}]), r"period must be a whole number"),
        (genome_dict(exits=[{**ATR, "params": {**ATR["params"], "stop_mult": 0.1}}]), r"stop_mult=0.1 is out of bounds \[0.5, 10.0\]"),
        (genome_dict(exits=[RSI]), r"'rsi_filter' is a filter module, not exit; exit modules: atr_stop"),
        (genome_dict(sizing=ATR), r"is a exit module, not sizing"),
        (genome_dict(filters=[RSI, {**RSI, "params": {**RSI["params"], "period": 15}}]), r"'rsi_filter' appears twice"),
        (genome_dict(filters=RSI), r"'filters' must be a list"),
        (genome_dict(entry={"module": "ema_crossover", "params": [12, 48]}), r"'params' of 'ema_crossover' must be an object"),
        (genome_dict(entry={"module": "ema_crossover", "params": EMA["params"], "weight": 1}), r"unexpected field 'weight'"),
        (genome_dict(entry={"module": "ichimoku", "params": {"tenkan": 30, "kijun": 20, "senkou": 52, "direction": "both"}}), r"periods must rise"),
        (genome_dict(entry={"module": "vwap_reversion", "params": {"period": 50, "entry_z": 1.0, "exit_z": 1.5, "direction": "both"}}), r"exit_z \(1.5\) must be below entry_z"),
        (genome_dict(entry={"module": "funding_carry", "params": {"period": 8, "threshold": 0.1, "direction": "long"}}), r"direction='long' is not one of 'short', 'both'"),
        (genome_dict(schema="gaorg.genome/2"), r"this gaorg reads 'gaorg.genome/1'"),
        ([1, 2], r"a genome is a JSON object, got list"),
    ],
)
def test_invalid_modules_of_every_role_are_rejected_with_a_message_that_names_the_problem(data, message):
    with pytest.raises(GenomeError, match=message):
        parse_genome(data)


def test_a_filter_given_twice_with_the_same_parameters_is_one_filter():
    assert parse_genome(genome_dict(filters=[RSI, RSI])) == parse_genome(genome_dict(filters=[RSI]))


def test_filters_and_exits_in_any_order_are_the_same_strategy():
    sma = {"module": "sma_trend", "params": {"period": 100, "band": 0.0}}
    a = parse_genome(genome_dict(filters=[RSI, sma], exits=[ATR], sizing=VOL))
    b = parse_genome(genome_dict(filters=[sma, RSI], exits=[ATR], sizing=VOL))
    assert a == b and a.canonical_hash() == b.canonical_hash()


def test_rescaling_leaves_non_period_genes_alone_and_clips_periods_to_their_bounds():
    g = parse_genome(genome_dict(filters=[RSI], exits=[ATR], sizing=VOL))
    fine = g.rescaled(24.0)
    assert fine.filters[0].as_dict() == {"period": 336, "upper": 70.0, "lower": 30.0}
    assert fine.sizing.as_dict() == {"period": 1200, "target_vol": 0.3}
    assert g.rescaled(100.0).sizing.as_dict()["period"] == 2000  # the gene's upper bound
    svc = make_genome(("linear_svc", {"feature_period": 10, "horizon": 5, "window": 300, "refit": 250, "log_c": 0.0, "direction": "both"}))
    assert svc.rescaled(4.0).entry.as_dict()["refit"] == 250  # a compute budget, not a market period


@pytest.mark.parametrize("content, message", [
    (b"\xff\xfe{}", "byte 0 is not UTF-8"),
    (("[" * 10_000 + "]" * 10_000).encode(), "nested too deep"),
    (b" " * 1_000_001 + b"{}", "far smaller"),
])
def test_hostile_genome_files_are_refused_with_a_message_not_a_traceback(tmp_path, content, message):
    path = tmp_path / "g.json"
    path.write_bytes(content)
    with pytest.raises(GenomeError, match=message):
        load_genome(path)


def test_a_folder_or_a_device_is_not_reported_as_missing(tmp_path):
    from gaorg.errors import InputError

    with pytest.raises(InputError, match="is not a regular file"):
        load_genome(tmp_path)
    with pytest.raises(InputError, match="is not a regular file"):
        load_genome("/dev/zero")
    with pytest.raises(InputError, match="does not exist"):
        load_genome(tmp_path / "nope.json")
