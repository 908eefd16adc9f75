"""The nightly pipeline: real papermill kernels, a real store, real MLflow, a real ccxt client.

The universes run ``tests/notebooks/nightly_probe.ipynb`` (same parameters and checks as
``03_evolve``, no evolution) so that the pipeline's own behaviour is tested quickly; the
real notebook is covered by tests/notebooks/test_03_evolve.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaorg.data.store import MarketStore
from gaorg.data.synth import synth_market
from gaorg.data.times import iso
from gaorg.testing.hyperliquid import StandInHyperliquid
from tests.notebooks import kit
from tests.notebooks.kit import PROBE, seed_store

mlflow_template, ready_home = kit.mlflow_template, kit.ready_home  # fixtures

H = 3_600_000
SYMBOL = "BTC/USDC:USDC"


def write_config(path: Path, text: str) -> Path:
    path.write_text(text.replace("PROBE", str(PROBE)))
    return path


@pytest.fixture
def live_market():
    """400 hourly bars ending now (the newest still open), as the stand-in exchange serves them."""
    now = int(time.time() * 1000)
    return synth_market(SYMBOL, "1h", 400, seed=5, start_ms=(now // H - 399) * H, exchange="hyperliquid")


@pytest.mark.slow
def test_nightly_fetches_runs_each_universe_logs_the_notebook_and_names_the_failure(cli, ready_home, tmp_path,
                                                                                   live_market):
    # the store holds the first 300 bars; the exchange has 99 more closed ones
    b = live_market.bars
    with MarketStore(ready_home / "market.duckdb") as store:
        store.write_bars("hyperliquid", SYMBOL, "1h", {"ts": b.ts[:300], "open": b.open[:300], "high": b.high[:300],
                                                       "low": b.low[:300], "close": b.close[:300],
                                                       "volume": b.volume[:300]})
    seed_store(ready_home, ("SYNTH-BTC",), n_bars=200)
    with StandInHyperliquid([b]) as srv:
        config = write_config(tmp_path / "nightly.yaml", f"""
notebook: PROBE
universes:
  - name: fresh
    exchange: hyperliquid
    symbols: ["{SYMBOL}"]
    register: probe-model
    fetch: {{api_url: "{srv.url}", retries: 1, backoff: 0.01}}
  - name: broken
    exchange: hyperliquid
    symbols: ["{SYMBOL}", NOPE]
    fetch: {{api_url: "http://127.0.0.1:9", retries: 2, backoff: 0.01, timeout_ms: 500}}
""")
        res = cli("nightly", "--config", str(config), "--date", "2026-01-02", "--json", timeout=400)
    assert res.code == 1, res.stderr
    out = res.json
    assert out["failed"] == ["broken"]
    fresh, broken = out["universes"]
    # fresh: the 99 closed bars were fetched, and the notebook saw all 399 of them
    assert fresh["error"] is None and fresh["fetched"][0]["bars"] == 99
    record = json.loads((Path(fresh["notebook"]).with_suffix("") / "record.json").read_text())
    assert record["rows"] == {SYMBOL: 399}
    assert record["params"]["register"] == "probe-model" and record["params"]["symbols"] == [SYMBOL]
    assert Path(fresh["notebook"]) == ready_home / "nightly" / "2026-01-02" / "fresh.ipynb"
    # the executed notebook is an artifact of the notebook's MLflow run
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{ready_home / 'mlflow.db'}")
    assert [a.path for a in client.list_artifacts(fresh["run_id"], "nightly")] == ["nightly/fresh.ipynb"]
    # broken: its exchange cannot be reached: a warning per symbol, and the notebook still runs on
    # the stored bars, where the unknown symbol fails the first cell after the parameters
    assert broken["fetched"] == [] and len(broken["warnings"]) == 2
    assert all("cannot be reached" in w and "evolving on the stored bars" in w for w in broken["warnings"])
    assert "unknown symbol 'NOPE'" in broken["error"] and "NotFoundError" in broken["error"]
    assert broken["error"].startswith("evolving: notebook failed at cell")
    assert Path(broken["notebook"]).exists()  # the failed notebook is kept for a look
    assert "broken: FAILED" in res.stderr and "unknown symbol 'NOPE'" in res.stderr
    summary = json.loads((ready_home / "nightly" / "2026-01-02" / "summary.json").read_text())
    assert summary["failed"] == ["broken"]


def test_nightly_config_with_an_unknown_key_is_refused_with_a_suggestion(cli, gaorg_home, tmp_path):
    config = write_config(tmp_path / "nightly.yaml", """
notebook: PROBE
universes:
  - name: majors
    symbols: [BTC]
    populaton: 10
""")
    res = cli("nightly", "--config", str(config), "--json")
    assert res.code == 2
    assert "unknown key 'populaton'" in res.json["error"] and "did you mean 'population'" in res.json["error"]
    assert not (gaorg_home / "nightly").exists()  # nothing ran
    # a parameter of the wrong type is refused before any notebook runs, naming the universe's key
    config.write_text(config.read_text().replace("populaton: 10", "population: ten"))
    res = cli("nightly", "--config", str(config), "--json")
    assert res.code == 2
    assert "universes[0].population: expected a whole number, got 'ten'" in res.json["error"]


def test_a_second_nightly_run_is_refused_while_another_holds_the_lock(cli, gaorg_home, tmp_path):
    config = write_config(tmp_path / "nightly.yaml", "notebook: PROBE\nuniverses: [{name: a, symbols: [X]}]\n")
    code = ("from gaorg.config import Settings; from gaorg.nightly import nightly_lock; import time\n"
            "with nightly_lock(Settings.from_env()):\n    print('held', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**__import__("os").environ, "GAORG_HOME": str(gaorg_home)})
    try:
        assert holder.stdout.readline().strip() == "held"
        res = cli("nightly", "--config", str(config), "--json")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert res.code == 2
    assert res.json["kind"] == "RunLockedError"
    assert f"pid {holder.pid}" in res.json["error"]
    # once the holder is gone (even killed) the lock is free again
    from gaorg.config import Settings
    from gaorg.nightly import nightly_lock

    with nightly_lock(Settings.from_env()) as path:
        assert path.exists()


def test_the_shipped_config_and_schedules_run_gaorg_nightly_on_the_evolve_notebook(tmp_path):
    import papermill

    from gaorg.nightly import load_config

    repo = PROBE.parents[2]
    config = load_config(repo / "pipelines" / "nightly.yaml")
    assert config.notebook == repo / "notebooks" / "03_evolve.ipynb" and config.promote is False
    # the parameters the pipeline injects are exactly those the notebooks declare
    injected = set(config.universes[0].notebook_parameters(config, tmp_path))
    assert injected == set(papermill.inspect_notebook(str(config.notebook)))
    assert injected == set(papermill.inspect_notebook(str(PROBE)))
    cron = (repo / "pipelines" / "gaorg-nightly.cron").read_text()
    assert "gaorg nightly --config pipelines/nightly.yaml" in cron
    service = (repo / "pipelines" / "gaorg-nightly.service").read_text()
    assert "ExecStart=@GAORG@ nightly --config pipelines/nightly.yaml" in service  # a template: gaorg.nightly_unit fills it
    assert "Unit=gaorg-nightly.service" in (repo / "pipelines" / "gaorg-nightly.timer").read_text()


@pytest.mark.slow
def test_nightly_evolves_a_rule_basket_in_the_real_notebook_logs_it_to_its_run_and_runs_the_gates(cli, ready_home,
                                                                                                 tmp_path):
    # the store holds a small universe of perpetuals (one listed late, one delisted) but its newest
    # 30 bars; the stand-in exchange serves them all
    from gaorg.evolve.checkpoint import load_state
    from gaorg.evolve.rule import parse_rule, resolve
    from gaorg.testing.universe import store_universe, universe_stand_in

    now = int(time.time() * 1000)
    spec = {"bars": 600, "late": 0.25, "delisted": 1, "seed": 0, "now_ms": now}
    notebook = PROBE.parents[2] / "notebooks" / "03_evolve.ipynb"
    with universe_stand_in(8, **spec) as srv:
        with MarketStore(ready_home / "market.duckdb") as store:
            store_universe(store, srv.listings, before=(now // H - 30) * H)
        config = tmp_path / "nightly.yaml"
        config.write_text(f"""
notebook: {notebook}
workers: 0
promote: true
universes:
  - name: perps
    universe: hyperliquid:perp
    min_history: 15d
    top: 3
    timeframes: [4h, 1h]
    population: 6
    generations: 1
    folds: 2
    top_k: 2
    fetch: {{api_url: "{srv.url}", retries: 1, backoff: 0.01, rate_limit_ms: 0}}
""")
        res = cli("nightly", "--config", str(config), "--date", "2026-02-03", "--json", timeout=400)
        listings = {x.symbol: x for x in srv.listings}
    assert res.code == 0, res.stderr
    (perps,) = res.json["universes"]
    assert perps["error"] is None and perps["model"] == "gaorg-perps" and perps["versions"]
    # the fetch brought every stored perpetual up to date (the delisted one has nothing new) ...
    fetched = {f["symbol"]: f["bars"] for f in perps["fetched"]}
    assert set(fetched) == set(listings)
    assert {s for s, n in fetched.items() if n} == {s for s, x in listings.items() if x.active}
    # ... before the notebook resolved the rule, once, as gaorg evolve resolves it on the same store
    with MarketStore(ready_home / "market.duckdb", read_only=True) as store:
        expected = resolve(store, parse_rule("hyperliquid:perp", "15d", 3), "1h", 0.2)
    basket = perps["basket"]
    assert (basket["universe"], basket["exchange"], basket["symbols"]) == (
        "hyperliquid:perp min-history=15d top=3", "hyperliquid", list(expected.symbols))
    assert {c["symbol"] for c in basket["candidates"]} == set(listings)
    assert max(c["last"] for c in basket["candidates"]) > iso((now // H - 30) * H)  # it saw the fetched bars
    assert "basket hyperliquid:perp min-history=15d top=3: 3 series" in res.stderr
    shown = Path(perps["notebook"]).read_text()  # the executed notebook says what the rule picked
    assert expected.describe() in shown
    # the run records the rule beside its symbols: the checkpoint and the MLflow params
    record = json.loads((Path(perps["notebook"]).with_suffix("") / "record.json").read_text())
    state = load_state(ready_home / "checkpoints" / record["evolution_run_id"])
    assert (state.config.universe, state.config.symbols) == (basket["universe"], expected.symbols)
    assert record["params"]["universe"] == "hyperliquid:perp" and record["params"]["symbols"] == []
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{ready_home / 'mlflow.db'}")
    run = client.get_run(perps["run_id"])  # the evolution's own run holds the executed notebook
    assert run.data.tags.get("gaorg.kind") == "evolution"
    assert run.data.params["config.universe"] == basket["universe"]
    assert run.data.params["config.symbols"] == ",".join(expected.symbols)
    assert [a.path for a in client.list_artifacts(perps["run_id"], "nightly")] == ["nightly/perps.ipynb"]
    # the gates ran on the best version, never forced; production moved only if they all passed
    promotion = perps["promotion"]
    assert promotion["version"] == perps["versions"][0] and promotion["action"] in ("promoted", "rejected")
    aliases = client.get_registered_model("gaorg-perps").aliases
    assert (aliases.get("production") == str(promotion["version"])) == (promotion["action"] == "promoted")
    assert all(g["passed"] for g in promotion["gates"]) == (promotion["action"] == "promoted")


def test_a_testnet_universe_fetches_into_and_evolves_on_the_testnet_series_never_the_main_ones(settings):
    # the store holds the same universe twice: under hyperliquid (main) and hyperliquid-testnet, the
    # latter short of its newest 30 bars; a testnet fetch completes the testnet series only, and the
    # notebook is told to pick among those
    from gaorg.nightly import FetchConfig, NightlyConfig, UniverseConfig, UniverseResult, fetch_new_bars
    from gaorg.testing.universe import store_universe, universe_stand_in

    now = int(time.time() * 1000)
    settings.home.mkdir(parents=True)
    with universe_stand_in(4, bars=300, late=0.0, delisted=0, seed=2, now_ms=now) as srv:
        with MarketStore(settings.market_db) as store:
            store_universe(store, srv.listings, seed=2)
            store_universe(store, srv.listings, seed=2, before=(now // H - 30) * H, exchange="hyperliquid-testnet")
            main_before = {s.symbol: s.rows for s in store.series() if s.exchange == "hyperliquid"}
        fetch = FetchConfig(api_url=srv.url, testnet=True, retries=1, backoff=0.01, rate_limit_ms=0)
        for universe in (UniverseConfig(name="perps", universe="hyperliquid:perp", timeframes=("1h",), fetch=fetch),
                         UniverseConfig(name="two", symbols=("A", "B"), exchange="hyperliquid", timeframes=("1h",),
                                        fetch=FetchConfig(enabled=False, testnet=True))):
            assert universe.store_exchange == "hyperliquid-testnet"
        rule_universe = UniverseConfig(name="perps", universe="hyperliquid:perp", timeframes=("1h",), fetch=fetch)
        result = UniverseResult("perps")
        fetch_new_bars(rule_universe, settings, result)
    assert result.warnings == [] and {f["symbol"] for f in result.fetched} == {x.symbol for x in srv.listings}
    assert all(f["bars"] > 0 for f in result.fetched)
    with MarketStore(settings.market_db, read_only=True) as store:
        series = store.series()
        testnet = {s.symbol: s for s in series if s.exchange == "hyperliquid-testnet"}
        assert {s.symbol: s.rows for s in series if s.exchange == "hyperliquid"} == main_before  # untouched
        assert max(s.last for s in testnet.values()) > (now // H - 30) * H  # the fetch reached the testnet series
        assert sorted(testnet) == sorted(main_before)
    params = rule_universe.notebook_parameters(NightlyConfig(universes=(rule_universe,)), settings.home)
    assert (params["universe"], params["exchange"]) == ("hyperliquid-testnet:perp", None)
    plain = UniverseConfig(name="majors", symbols=("BTC",), exchange="hyperliquid")
    assert plain.store_exchange == "hyperliquid"


def test_a_universe_pipelined_that_is_not_a_boolean_exits_2_before_anything_runs(capsys, gaorg_home, tmp_path):
    from gaorg.cli import main

    config = write_config(tmp_path / "nightly.yaml",
                          "notebook: PROBE\nuniverses:\n  - name: perps\n    symbols: [BTC]\n    pipelined: sometimes\n")
    assert main(["nightly", "--config", str(config), "--json"]) == 2
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert error.endswith("universes[0].pipelined: expected bool, got 'sometimes'"), error
    assert not (gaorg_home / "nightly").exists()


@pytest.mark.parametrize(("universe", "says"), [
    ("universe: hyperliquid", "universe 'hyperliquid': give EXCHANGE:KIND"),
    ("universe: hyperliquid:perp\n    min_history: 1 year", "min_history '1 year' is not a duration"),
    ("universe: hyperliquid:perp\n    top: 0", "top 0: give how many series the basket holds"),
    ("symbols: [BTC]\n    top: 3", "min_history and top choose within a rule; add universe"),
    ("universe: hyperliquid:perp\n    symbols: [BTC]", "drop symbols and exchange"),
    ("symbols: [BTC]\n    parsimony: 0", "parsimony: 0.0 must be in (0, 1]"),
    ("symbols: [BTC]\n    parsimony: 1.5", "parsimony: 1.5 must be in (0, 1]"),
    ("symbols: [BTC]\n    initial_factor: 0.5", "initial_factor: 0.5 must be in [1, 10]"),
    ("symbols: [BTC]\n    reject_below: 1000", "reject_below: 1000.0 must be an annualised Sharpe in [-100, 100]"),
])
def test_a_bad_rule_in_the_nightly_config_exits_2_naming_the_universe_before_anything_runs(capsys, gaorg_home,
                                                                                        tmp_path, universe, says):
    from gaorg.cli import main

    config = write_config(tmp_path / "nightly.yaml", f"notebook: PROBE\nuniverses:\n  - name: perps\n    {universe}\n")
    assert main(["nightly", "--config", str(config), "--json"]) == 2
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert "universes[0]: universe perps: " in error and says in error, error
    assert not (gaorg_home / "nightly").exists()  # nothing ran
