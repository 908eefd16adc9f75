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


def test_evolve_params_carry_the_search_settings_with_evolve_configs_defaults():
    """03_evolve (and the nightly, which injects them) sets ``reject_below`` and ``initial_factor``
    as ``gaorg evolve --reject-below/--initial-factor`` do; their defaults are the run's own."""
    from gaorg.evolve.config import EvolveConfig
    from gaorg.nightly_config import UniverseConfig

    defaults = EvolveConfig(symbols=("A",))
    for name in ("reject_below", "initial_factor", "pipelined"):
        assert getattr(EvolveParams(), name) == getattr(defaults, name)
        assert getattr(UniverseConfig(name="u", symbols=("A",)), name) == getattr(defaults, name)
    cfg = notebook_params(EvolveParams, {"symbols": ["X"], "reject_below": None, "initial_factor": 3}).evolve_config()
    assert (cfg.reject_below, cfg.initial_factor) == (None, 3.0)  # None: every genome scored on every asset
    assert notebook_params(EvolveParams, {"symbols": ["X"], "reject_below": -0.5}).evolve_config().reject_below == -0.5
    with pytest.raises(ConfigError, match=r"initial_factor: 20.0 must be in \[1, 10\]"):
        notebook_params(EvolveParams, {"initial_factor": 20}).evolve_config()
    with pytest.raises(ConfigError, match="notebook parameter.reject_below: expected a number"):
        notebook_params(EvolveParams, {"reject_below": "off"})


def test_a_nightly_universes_pipelined_reaches_the_run_through_the_notebooks_parameters(tmp_path):
    """``pipelined: true`` in a nightly universe, injected into 03_evolve, is the run's
    ``EvolveConfig.pipelined`` (as ``gaorg evolve --pipelined``); a non-boolean is refused."""
    from gaorg.nightly_config import NightlyConfig, UniverseConfig

    for value in (True, False):
        universe = UniverseConfig(name="u", symbols=("A",), pipelined=value)
        injected = universe.notebook_parameters(NightlyConfig(universes=(universe,)), tmp_path)
        assert notebook_params(EvolveParams, injected).evolve_config().pipelined is value
    with pytest.raises(ConfigError, match="notebook parameter.pipelined: expected bool, got 'yes'"):
        notebook_params(EvolveParams, {"symbols": ["X"], "pipelined": "yes"})


def test_a_nightly_universe_with_a_model_name_mlflow_refuses_fails_at_load_naming_it():
    """As ``EvolveParams`` and ``gaorg evolve --register`` refuse it before the run, the nightly's
    config refuses it at load (the notebook would fail on it for that universe only)."""
    from gaorg.nightly_config import UniverseConfig

    with pytest.raises(ValueError, match="universe u: register 'trend/4h': a model name cannot contain '/'"):
        UniverseConfig(name="u", symbols=("A",), register="trend/4h")
    with pytest.raises(ValueError, match="universe it's: register \"gaorg-it's\": a model name cannot contain"):
        UniverseConfig(name="it's", symbols=("A",))  # the default name, gaorg-NAME
    assert UniverseConfig(name="u", symbols=("A",), register="trend-4h").model == "trend-4h"


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


@pytest.mark.parametrize(("namespace", "message"), [
    ({"universe": "hyperliquid"}, "universe 'hyperliquid': give EXCHANGE:KIND with KIND one of perp, spot, all"),
    ({"universe": "hyperliquid:perp", "min_history": "1 year"}, "min_history '1 year' is not a duration"),
    ({"universe": "hyperliquid:perp", "top": 0}, "top 0: give how many series the basket holds, at least 1"),
    ({"top": 3}, "min_history and top choose within a rule; add universe"),
    ({"universe": "hyperliquid:perp", "exchange": "binance"}, "drop symbols and exchange"),
    ({"universe": "hyperliquid:perp", "top": "ten"}, "notebook parameter.top: expected a whole number"),
    ({"register": "trend/4h"}, "register 'trend/4h': a model name cannot contain '/'"),  # MLflow: after the run
    ({"register": "..trend"}, "register '..trend': a model name cannot be '.' or start with '..'"),
])
def test_a_bad_rule_in_the_notebook_parameters_is_a_config_error_as_gaorg_evolve_gives(namespace, message):
    with pytest.raises(ConfigError, match=message):
        notebook_params(EvolveParams, namespace)


def test_a_rule_replaces_the_symbols_is_resolved_once_by_basket_and_recorded_in_the_config(settings, gaorg_home):
    from gaorg.data.store import MarketStore
    from gaorg.evolve.rule import parse_rule, resolve
    from gaorg.testing.universe import store_universe, universe_listings

    listings = universe_listings(8, bars=800, late=0.25, delisted=1, seed=0, now_ms=1_767_225_600_000)
    gaorg_home.mkdir(parents=True)
    with MarketStore(gaorg_home / "market.duckdb") as store:
        store_universe(store, listings)
        expected = resolve(store, parse_rule("hyperliquid:perp", "20d", 3), "1h", 0.2)
    params = notebook_params(EvolveParams, {"symbols": ["SYNTH-BTC"], "universe": "hyperliquid:perp",
                                            "min_history": "20d", "top": 3, "timeframes": ["4h", "1h"]})
    assert params.symbols == () and params.rule == parse_rule("hyperliquid:perp", "20d", 3)
    with pytest.raises(ConfigError, match="is a rule: resolve it once"):
        params.evolve_config()  # not resolved behind the caller's back
    basket = params.basket(settings)
    assert basket.symbols == expected.symbols and len(basket.symbols) == 3
    assert basket.describe() == expected.describe()
    # what gaorg evolve --json reports as its basket, and what the run records (checkpoint, MLflow params)
    got = basket.to_dict()
    assert (got["universe"], got["exchange"]) == ("hyperliquid:perp min-history=20d top=3", "hyperliquid")
    assert [c["symbol"] for c in got["candidates"] if c["picked"]] == sorted(expected.symbols)
    config = params.evolve_config(basket)
    assert (config.symbols, config.exchange, config.universe) == (expected.symbols, "hyperliquid", got["universe"])
    with pytest.raises(NotFoundError, match="has 90d of history") as refused:
        notebook_params(EvolveParams, {"universe": "hyperliquid:perp", "min_history": "90d"}).basket(settings)
    assert str(refused.value).endswith("give a shorter min_history")  # the parameter's name, not the flag's


@pytest.mark.parametrize("notebook", ["01_data_explorer", "02_strategy_lab", "03_evolve", "04_compare_promote"])
def test_each_notebooks_parameters_cell_names_every_field_of_its_parameters_and_they_parse(notebook):
    """What a researcher reads at the top of a notebook is all it takes: a field the parameters
    class reads but the cell leaves out (03's ``parsimony`` was) can only be set by injection."""
    import ast
    import dataclasses
    import re

    import gaorg.research.params as params_module
    from tests.notebooks.kit import NOTEBOOKS

    cells = json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text())["cells"]
    cell = next(c for c in cells if "parameters" in c["metadata"].get("tags", []))
    source = "".join(cell["source"])
    cls = getattr(params_module, re.search(r"notebook_params\((\w+)", "".join(
        "".join(c["source"]) for c in cells)).group(1))
    assigned = {t.id for node in ast.parse(source).body if isinstance(node, ast.Assign) for t in node.targets}
    fields = {f.name for f in dataclasses.fields(cls)}
    assert (fields - assigned, assigned - fields) == (set(), set())  # (left out, not read)
    # each says what it does: papermill --help-notebook shows these comments as the parameters' help
    bare = [line for line in source.splitlines() if "=" in line and "#" not in line]
    assert not bare, f"{notebook}: parameters without a comment: {bare}"
    namespace: dict = {}
    exec(compile(source, notebook, "exec"), namespace)  # literals only: the cell as papermill runs it
    notebook_params(cls, namespace)


def test_a_rules_kind_is_read_in_any_case():
    from gaorg.evolve.rule import parse_rule

    assert parse_rule("hyperliquid:PERP", "1y", 3) == parse_rule("hyperliquid:perp", "1y", 3)
    with pytest.raises(ConfigError, match="KIND one of perp, spot, all"):
        parse_rule("hyperliquid:perps")
