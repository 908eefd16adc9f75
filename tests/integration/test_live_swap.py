"""Hot swap: when NAME@production moves in a real MLflow sqlite registry, the runner switches strategy
at the next bar boundary, under both policies (flatten first, or hand the position over)."""

from __future__ import annotations

import json

import pytest

from gaorg.config import Settings
from gaorg.live.feed import ReplayFeed
from gaorg.live.registry import MlflowRegistryReader
from gaorg.live.runner import Runner
from gaorg.live.state import LiveState
from gaorg.monitor.metrics import LiveMetrics
from gaorg.strategies.genome import save_genome
from gaorg.tracking.registry import REGISTERED_PARAM
from tests.integration.live_kit import bars, config, genome

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")
MOVE_AT = 30


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("strat")
    genomes = (("1", genome(5, 20, stops=False)), ("2", genome(8, 40, stops=False)))
    run = client.create_run(client.create_experiment("swap"))  # what gaorg's registration records
    client.log_param(run.info.run_id, REGISTERED_PARAM,
                     json.dumps({g.canonical_hash(): {"deflated_sharpe": 0.99} for _, g in genomes}))
    for v, g in genomes:
        save_genome(g, root / f"v{v}" / "artifacts" / "genome.json")  # the layout gaorg registers
        client.create_model_version("strat", source=str(root / f"v{v}"), run_id=run.info.run_id,
                                    tags={"genome_hash": g.canonical_hash()})
    return client, uri, root


def test_the_registry_reader_resolves_the_alias_through_the_safe_loader(registry, tmp_path):
    client, uri, _ = registry
    client.set_registered_model_alias("strat", "production", "2")
    res = MlflowRegistryReader(Settings(home=tmp_path, tracking_uri=uri)).resolve("strat", "production")
    assert res.version == "2" and res.genome == genome(8, 40, stops=False)


@pytest.mark.parametrize("policy", ["flatten", "handover"])
def test_an_alias_move_switches_the_strategy_at_the_next_bar_by_the_policy(registry, tmp_path, policy):
    client, uri, _ = registry
    client.set_registered_model_alias("strat", "production", "1")
    b = bars(150)
    settings = Settings(home=tmp_path / "home", tracking_uri=uri)
    cfg = config(b, model="strat", switch_policy=policy, registry_poll_seconds=0.01)
    metrics = LiveMetrics()
    seen = []

    def on_step(runner, report):
        seen.append(report)
        if len(seen) == MOVE_AT:  # e.g. `gaorg promote strat 2`, or by hand in the MLflow UI
            client.set_registered_model_alias("strat", "production", "2")
            runner._last_poll = 0.0  # the next poll is due

    runner = Runner(cfg, settings, MlflowRegistryReader(settings), feed=ReplayFeed(b, warmup=5000, first=60))
    summary = runner.run(on_step=on_step, metrics=metrics)
    switch_ts = int(b.ts[60 + MOVE_AT])  # the next bar after the move
    assert summary.switches == [{"ts": switch_ts, "version": "2", "policy": policy}]
    assert summary.version == "2"
    assert metrics.switches.labels(policy)._value.get() == 1
    with LiveState(settings.live_db, cfg.state_key) as state:
        versions = [(v["version"], v["policy"], v["ts"]) for v in state.versions()]
        assert versions[-1] == ("2", policy, switch_ts)
        units = {ts: u for ts, _, u in state.equity()}
        switch_orders = [o for o in state.orders() if o["reason"] == "switch"]
    before = units[switch_ts]
    after = units[int(b.ts[60 + MOVE_AT + 1])]
    assert before != 0.0
    if policy == "flatten":
        assert len(switch_orders) == 1 and switch_orders[0]["target"] == 0.0 and after == 0.0
    else:
        assert switch_orders == [] and after == before  # the new strategy took the position over
