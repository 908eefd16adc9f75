"""``gaorg demo --small``: the whole path end to end, as a real process on embedded defaults."""

from __future__ import annotations

import shutil

import mlflow
import pytest

from tests.notebooks import kit

mlflow_template, ready_home = kit.mlflow_template, kit.ready_home  # fixtures


def test_demo_runs_market_evolution_registry_gates_and_paper_live_and_says_where_to_look(cli, ready_home):
    res = cli("demo", "--small", "--workers", "1", "--json", timeout=600)
    assert res.code == 0, res.stderr
    out = res.json
    # a seeded market for three symbols plus the imported sample
    assert {(s["exchange"], s["symbol"]) for s in out["series"]} >= {
        ("synthetic", "SYNTH-BTC"), ("synthetic", "SYNTH-ETH"), ("synthetic", "SYNTH-SOL"), ("local", "BTC/USDT")}
    # a two-stage evolution of the small size, logged and registered in MLflow
    evo = out["evolution"]
    assert [(s["timeframe"], s["population"], s["generations"]) for s in evo["stages"]] == [("4h", 8, 1), ("1h", 8, 1)]
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{ready_home / 'mlflow.db'}")
    assert client.get_run(evo["mlflow_run_id"]).info.status == "FINISHED"
    registered = sorted(int(v.version) for v in client.search_model_versions("name = 'gaorg-demo'"))
    assert registered == sorted(evo["registered_versions"]) and registered
    # the gates ran, best first; production is set exactly when a candidate passed them all
    promotion = out["promotion"]
    assert promotion["decisions"], "no gate ran"
    passed = [d for d in promotion["decisions"] if d["action"] == "promoted"]
    aliases = {a: str(v) for a, v in client.get_registered_model("gaorg-demo").aliases.items()}
    if passed:
        assert all(g["passed"] for g in passed[0]["gates"])
        assert aliases == {"production": passed[0]["version"]} == {"production": promotion["promoted"]}
    else:
        assert promotion["promoted"] is None and "production" not in aliases
    # the live runner traded on paper over the replay, with the metrics endpoint answering meanwhile
    live = out["live"]
    assert live["broker"] == "paper" and live["bars"] == 60 and live["stopped"] == "max_bars 60 reached"
    assert float(live["scraped"]["gaorg_live_bars_processed_total"]) >= 10
    assert live["metrics_url"].startswith("http://127.0.0.1:")
    assert ("gaorg-demo@production" in live["trading"]) == bool(passed)
    # it ends by saying how to look
    assert "gaorg ui" in res.stderr and "jupyter lab notebooks/" in res.stderr


def _what_a_seed_decides(out: dict) -> dict:
    """The demo's outcome without what differs by run: ids, times, ports, paths."""
    evo = out["evolution"]
    gates = [[(g["name"], g["figure"], g["threshold"], g["passed"]) for g in d["gates"]]
             for d in out["promotion"]["decisions"]]
    live = {k: out["live"][k] for k in ("bars", "orders", "refused", "equity", "version", "trading")}
    return {"front": evo["front"], "versions": evo["registered_versions"], "trials": evo["trials"],
            "pbo": evo["pbo"], "gates": gates, "promoted": out["promotion"]["promoted"], "live": live}


@pytest.mark.slow
def test_the_demo_is_deterministic_for_its_seed_and_ends_with_its_champion_trading_on_paper(
        cli, ready_home, mlflow_template, tmp_path):
    runs = []
    for home in (ready_home, tmp_path / "second"):
        home.mkdir(exist_ok=True)
        shutil.copy(mlflow_template, home / "mlflow.db")
        res = cli("demo", "--json", timeout=600, env={"GAORG_HOME": str(home)})
        assert res.code == 0, res.stderr
        runs.append(res.json)
    first, second = (_what_a_seed_decides(o) for o in runs)
    assert first == second
    # every gate passed honestly (defaults, no --force) and the champion is what trades on paper
    decision = runs[0]["promotion"]["decisions"][-1]
    assert decision["action"] == "promoted" and all(g["passed"] for g in decision["gates"])
    assert [g["name"] for g in decision["gates"]] == ["hold-out Sharpe", "deflated Sharpe", "hold-out deflated Sharpe",
                                                      "hold-out max drawdown", "hold-out trades"]
    assert first["promoted"] == decision["version"] and not decision["reason"].startswith("--force")
    assert first["live"]["trading"] == "gaorg-demo@production" and first["live"]["orders"] > 0
    assert first["live"]["version"] == first["promoted"]
