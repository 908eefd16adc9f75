"""Notebook parameters: typed at the first cell, unknown symbols named, records strict JSON."""

from __future__ import annotations

import json
import math

import pytest

from gaorg.errors import ConfigError, NotFoundError
from gaorg.research.params import (
    CompareParams,
    EvolveParams,
    check_symbols,
    notebook_params,
    read_record,
    write_record,
)
from tests.notebooks.kit import seed_store


def test_notebook_params_reads_only_its_fields_and_coerces_lists_to_tuples():
    namespace = {"symbols": ["A", "B"], "population": 8, "In": [], "get_ipython": object()}
    params = notebook_params(EvolveParams, namespace)
    assert params.symbols == ("A", "B") and params.population == 8 and params.generations == 4


@pytest.mark.parametrize(("namespace", "message"), [
    ({"population": "ten"}, "notebook parameter.population: expected a whole number, got 'ten'"),
    ({"symbols": "BTC"}, "notebook parameter.symbols: expected a list"),
    ({"holdout": True}, "notebook parameter.holdout: expected a number"),
    ({"action": "delete"}, "action: 'delete' is not one of"),
])
def test_a_parameter_of_the_wrong_type_is_a_config_error_naming_it(namespace, message):
    cls = CompareParams if "action" in namespace else EvolveParams
    with pytest.raises(ConfigError, match=message):
        notebook_params(cls, namespace)


def test_evolve_params_become_the_library_evolve_config_with_its_checks():
    cfg = notebook_params(EvolveParams, {"symbols": ["X"], "population": 6, "workers": 0}).evolve_config()
    assert (cfg.symbols, cfg.population, cfg.workers) == (("X",), 6, 0)
    with pytest.raises(ConfigError, match="population"):
        notebook_params(EvolveParams, {"population": 2}).evolve_config()


def test_check_symbols_names_the_unknown_symbol_and_what_the_store_holds(settings, gaorg_home):
    seed_store(gaorg_home, ("SYNTH-BTC",), n_bars=30)
    assert check_symbols(settings, ["SYNTH-BTC"]) == {"SYNTH-BTC": "synthetic"}
    with pytest.raises(NotFoundError, match="unknown symbol 'NOPE'; the store holds SYNTH-BTC"):
        check_symbols(settings, ["SYNTH-BTC", "NOPE"])
    with pytest.raises(NotFoundError, match="unknown symbol 'SYNTH-BTC'.*no stored series of SYNTH-BTC on binance"):
        check_symbols(settings, ["SYNTH-BTC"], exchange="binance")


def test_check_symbols_without_a_store_says_how_to_make_one(settings):
    with pytest.raises(NotFoundError, match="gaorg data synth"):
        check_symbols(settings, ["X"])


def test_records_are_strict_json_and_nothing_is_written_without_an_output_dir(tmp_path):
    params = EvolveParams()
    assert write_record("", "03_evolve", params) is None
    path = write_record(tmp_path, "03_evolve", params, pbo=math.nan, front=({"sharpe": 1.5},))
    record = read_record(path)
    assert record["pbo"] is None and record["front"] == [{"sharpe": 1.5}]
    assert record["params"]["symbols"] == ["SYNTH-BTC", "SYNTH-ETH"]
    json.loads(path.read_text())  # strict: no NaN
    with pytest.raises(ConfigError, match="wrote no record"):
        read_record(tmp_path / "missing.json")
