"""``gaorg demo``: the whole path end to end, as a real process on embedded defaults, twice in one home."""

from __future__ import annotations

import re

import mlflow
import pytest

from tests.notebooks import kit

mlflow_template, ready_home = kit.mlflow_template, kit.ready_home  # fixtures


def _what_a_seed_decides(out: dict) -> dict:
    """The demo's outcome without what differs by run: ids, times, ports, paths."""
    evo = out["evolution"]
    gates = [[(g["name"], g["figure"], g["threshold"], g["passed"]) for g in d["gates"]]
             for d in out["promotion"]["decisions"]]
    live = {k: out["live"][k] for k in ("bars", "orders", "refused", "equity", "version", "trading")}
    return {"front": evo["front"], "versions": evo["registered_versions"], "trials": evo["trials"],
            "pbo": evo["pbo"], "gates": gates, "promoted": out["promotion"]["promoted"], "live": live}


def _plain(text: str) -> str:
    """The demo's lines without what differs by run: run ids, times, ports."""
    text = re.sub(r"\b[0-9a-f]{32}\b", "RUN", text)
    text = re.sub(r"\b\d{8}-\d{6}-[0-9a-f]{6}\b", "GAORG_RUN", text)
    text = re.sub(r"by \S+ at \S+\)", "by WHO at WHEN)", text)
    text = re.sub(r"\(\d+ s\)", "(T s)", text)
    text = re.sub(r"^(stage \d+/\d+ \w+: [\d,]+ evaluations) in .*$", r"\1 (where the time went)", text, flags=re.M)
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


@pytest.mark.slow
def test_the_demo_is_deterministic_for_its_seed_and_ends_with_its_champion_trading_on_paper(cli, ready_home):
    # twice in one GAORG_HOME, as a second `make demo` does: the same thing again with the same output
    runs = []
    for _ in range(2):
        res = cli("demo", "--json", timeout=600)
        assert res.code == 0, res.stderr
        runs.append(res)
    out = runs[0].json
    # a seeded market for three symbols plus the imported sample, a two-stage evolution logged in MLflow
    assert {(s["exchange"], s["symbol"]) for s in out["series"]} >= {
        ("synthetic", "SYNTH-BTC"), ("synthetic", "SYNTH-ETH"), ("synthetic", "SYNTH-SOL"), ("local", "BTC/USDT")}
    assert [s["timeframe"] for s in out["evolution"]["stages"]] == ["4h", "1h"]
    assert out["live"]["broker"] == "paper" and out["live"]["metrics_url"].startswith("http://127.0.0.1:")
    assert float(out["live"]["scraped"]["gaorg_live_bars_processed_total"]) >= 10
    assert "gaorg ui" in runs[0].stderr and "jupyter lab notebooks/" in runs[0].stderr  # it says how to look
    first, second = (_what_a_seed_decides(r.json) for r in runs)
    assert first == second
    assert _plain(runs[0].stderr) == _plain(runs[1].stderr)
    # no copies: the model holds the second run's versions only, numbered as the first's were
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{ready_home / 'mlflow.db'}")
    registered = sorted(int(v.version) for v in client.search_model_versions("name = 'gaorg-demo'"))
    assert registered == first["versions"] == list(range(1, len(registered) + 1))
    assert {v.run_id for v in client.search_model_versions("name = 'gaorg-demo'")} == {
        runs[1].json["evolution"]["mlflow_run_id"]}
    assert client.get_run(runs[0].json["evolution"]["mlflow_run_id"]).info.lifecycle_stage == "deleted"
    assert client.get_run(runs[1].json["evolution"]["mlflow_run_id"]).info.status == "FINISHED"
    # a fresh live state each time: the paper run traded and its metrics were scraped both times
    for r in runs:
        assert r.json["live"]["bars"] == 400 and r.json["live"]["scraped"], r.stderr
    assert runs[1].json["live_state_reset"] == 400 and runs[1].json["replaced"]["versions"] == len(registered)
    # every gate passed honestly (defaults, no --force) and the champion is what trades on paper
    decision = runs[0].json["promotion"]["decisions"][-1]
    assert decision["action"] == "promoted" and all(g["passed"] for g in decision["gates"])
    assert [g["name"] for g in decision["gates"]] == ["hold-out Sharpe", "deflated Sharpe", "hold-out deflated Sharpe",
                                                      "hold-out max drawdown", "hold-out trades"]
    assert first["promoted"] == decision["version"] and not decision["reason"].startswith("--force")
    assert first["live"]["trading"] == "gaorg-demo@production" and first["live"]["orders"] > 0
    assert first["live"]["version"] == first["promoted"]
