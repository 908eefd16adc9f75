"""Promotion through the gates, --force, rollback and hand-set aliases, on a real MLflow sqlite store.

A front of three strategies is registered once for the module; each test starts with no aliases.
Gate thresholds are set around the versions' own re-scored figures, so each gate is seen to pass
and to fail on real numbers.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from gaorg.config import Settings
from gaorg.errors import GateFailedError, InputError, NotFoundError
from gaorg.evolve.stats import moments, probabilistic_sharpe, sharpe_per_bar
from gaorg.strategies.genome import make_genome
from gaorg.tracking.fixtures import hand_made_result, store_synthetic
from gaorg.tracking.log import log_evolution
from gaorg.tracking.promote import Gates, promote, rollback
from gaorg.tracking.recorder import MlflowRecorder
from gaorg.tracking.registry import get_version
from gaorg.tracking.rescore import candidates_of, holdout_figures, recorded_figures

NAME = "trend"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("promote")
    settings = Settings(home=root / "home", tracking_uri=f"sqlite:///{root / 'home' / 'mlflow.db'}")
    data = store_synthetic(settings, ("BTC", "ETH"), "1h", 1200, seed=7)
    gs = [make_genome(("ema_crossover", {"fast": f, "slow": s, "direction": "both"}))
          for f, s in ((5, 40), (12, 60), (20, 120))]
    result = hand_made_result(data, gs, deflated_sharpe=[0.97, 0.98, 0.99])
    out = log_evolution(result, MlflowRecorder(settings), register=NAME)
    recorder = MlflowRecorder(settings)
    client = recorder.client
    figures = {}
    for v in out["versions"]:
        info = get_version(client, settings, NAME, v["version"])
        from gaorg.tracking.loader import read_genome

        figures[info.version] = holdout_figures(read_genome(client, settings, info), info, info, settings)[0]
    ranked = sorted(figures, key=lambda v: figures[v]["sharpe"])
    return settings, client, figures, ranked[0], ranked[-1]


@pytest.fixture
def fresh(registry):
    """No aliases at the start of a test."""
    settings, client, figures, low, high = registry
    for alias in ("production", "previous"):
        try:
            client.delete_registered_model_alias(NAME, alias)
        except Exception:  # noqa: BLE001 - not set
            pass
    return registry


def aliases(client) -> dict[str, str]:
    return {a: str(v) for a, v in client.get_registered_model(NAME).aliases.items()}


def passing_gates(figures, low, high) -> Gates:
    f = figures[high]
    return Gates(margin=(f["sharpe"] - figures[low]["sharpe"]) / 2, min_deflated_sharpe=0.9,
                 max_drawdown=min(1.0, f["max_drawdown"] + 0.01), min_trades=int(f["trades"]),
                 min_holdout_dsr=max(0.0, f["deflated_sharpe"] - 0.01))


def test_the_versions_trade_and_differ_so_the_gates_are_tested_on_real_figures(fresh):
    _, _, figures, low, high = fresh
    assert figures[high]["sharpe"] > figures[low]["sharpe"]
    assert figures[high]["trades"] >= 2


def test_all_gates_pass_moves_production_and_a_hand_set_champion_becomes_previous(fresh):
    settings, client, figures, low, high = fresh
    client.set_registered_model_alias(NAME, "production", low)  # as the MLflow UI would
    decision = promote(NAME, high, settings, passing_gates(figures, low, high))
    assert decision.action == "promoted" and decision.champion == low and decision.passed
    assert [g.name for g in decision.gates] == ["hold-out Sharpe", "deflated Sharpe", "hold-out deflated Sharpe",
                                                "hold-out max drawdown", "hold-out trades"]
    assert aliases(client) == {"production": high, "previous": low}
    assert get_version(client, settings, NAME, high).history()[-1]["action"] == "promoted"
    assert get_version(client, settings, NAME, low).history()[-1]["action"] == "demoted"
    assert "PASS  hold-out Sharpe" in decision.text()


def test_the_first_champion_passes_the_sharpe_gate_without_a_comparison(fresh):
    settings, client, figures, low, high = fresh
    decision = promote(NAME, low, settings, Gates(margin=5.0, min_deflated_sharpe=0.0, max_drawdown=1.0,
                                                  min_trades=0, min_holdout_dsr=0.0,
                                                  min_holdout_sharpe=figures[low]["sharpe"] - 0.01))
    assert decision.gates[0].passed and "no champion yet" in decision.gates[0].detail
    assert aliases(client) == {"production": low}


def test_a_first_champion_must_still_beat_the_hold_out_sharpe_floor(fresh):
    settings, client, figures, low, high = fresh
    floor = figures[low]["sharpe"] + 0.01
    with pytest.raises(GateFailedError, match="FAIL  hold-out Sharpe") as err:
        promote(NAME, low, settings, Gates(min_deflated_sharpe=0.0, max_drawdown=1.0, min_trades=0,
                                           min_holdout_dsr=0.0, min_holdout_sharpe=floor))
    assert f"> {floor:.2f}, no champion yet" in err.value.decision.gates[0].detail  # Sharpe's one format
    assert aliases(client) == {}


def test_the_hold_out_deflated_sharpe_deflates_for_the_runs_candidates_and_matches_the_recorded_one(fresh):
    settings, client, figures, low, high = fresh
    info = get_version(client, settings, NAME, high)
    assert candidates_of(info, settings) == 3  # the three registered versions, from the run's record
    recorded = recorded_figures(info, 3)["deflated_sharpe"]
    assert recorded == pytest.approx(figures[high]["deflated_sharpe"], rel=1e-9)  # the store has not moved
    sums = np.array(json.loads(info.tags["holdout.sums"]))
    n, _, _, skew, kurt = moments(sums)
    alone = probabilistic_sharpe(sharpe_per_bar(sums), n, skew, kurt)
    assert 0.0 < recorded < alone  # one look would have been worth more than the best of three


@pytest.mark.parametrize("gate", ["hold-out Sharpe", "deflated Sharpe", "hold-out deflated Sharpe",
                                  "hold-out max drawdown", "hold-out trades"])
def test_a_failing_gate_changes_no_alias_and_raises(fresh, gate):
    settings, client, figures, low, high = fresh
    client.set_registered_model_alias(NAME, "production", low)
    ok, f = passing_gates(figures, low, high), figures[high]
    failing = {
        "hold-out Sharpe": replace(ok, margin=f["sharpe"] - figures[low]["sharpe"] + 0.01),
        "deflated Sharpe": replace(ok, min_deflated_sharpe=0.995),
        "hold-out deflated Sharpe": replace(ok, min_holdout_dsr=f["deflated_sharpe"] + 0.001),
        "hold-out max drawdown": replace(ok, max_drawdown=f["max_drawdown"] - 0.001),
        "hold-out trades": replace(ok, min_trades=int(f["trades"]) + 1),
    }[gate]
    with pytest.raises(GateFailedError, match=f"FAIL  {gate}") as err:
        promote(NAME, high, settings, failing)
    assert [g.name for g in err.value.decision.gates if not g.passed] == [gate]
    assert aliases(client) == {"production": low}
    assert get_version(client, settings, NAME, high).history()[-1]["action"] == "rejected"


def test_force_promotes_despite_a_failing_gate_and_records_who_when_why(fresh):
    settings, client, figures, low, high = fresh
    with pytest.raises(InputError, match="--reason"):
        promote(NAME, low, settings, Gates(min_trades=10**6), force=True)
    decision = promote(NAME, low, settings, Gates(min_trades=10**6), force=True, reason="desk override")
    assert decision.action == "forced" and not decision.passed
    assert aliases(client) == {"production": low}
    tags = client.get_model_version(NAME, low).tags
    assert tags["forced.reason"] == "desk override" and tags["forced.by"] and tags["forced.at"].endswith("Z")
    assert json.loads(tags[max(k for k in tags if k.startswith("history."))])["action"] == "forced"


def test_rollback_moves_production_back_to_previous(fresh):
    settings, client, figures, low, high = fresh
    with pytest.raises(NotFoundError, match="previous"):
        rollback(NAME, settings)
    client.set_registered_model_alias(NAME, "production", low)
    promote(NAME, high, settings, passing_gates(figures, low, high))
    decision = rollback(NAME, settings, reason="live drawdown")
    assert decision.version == low and aliases(client) == {"production": low, "previous": high}
    assert get_version(client, settings, NAME, low).history()[-1]["action"] == "rolled back"


def test_promoting_the_champion_again_is_refused(fresh):
    settings, client, _, low, _ = fresh
    client.set_registered_model_alias(NAME, "production", low)
    with pytest.raises(InputError, match="already"):
        promote(NAME, low, settings)


def test_an_unknown_model_or_version_is_named_with_what_exists(fresh):
    settings, _, _, _, _ = fresh
    with pytest.raises(NotFoundError, match="did you mean 'trend'"):
        promote("trnd", 1, settings)
    with pytest.raises(NotFoundError, match="no version 99; versions: 1, 2, 3"):
        promote(NAME, 99, settings)


def test_the_gates_re_score_on_the_newest_data_in_the_store(fresh):
    settings, client, _, low, _ = fresh
    from gaorg.tracking.loader import read_genome

    info = get_version(client, settings, NAME, low)
    genome = read_genome(client, settings, info)
    _, before = holdout_figures(genome, info, info, settings)
    store_synthetic(settings, ("BTC", "ETH"), "1h", 1300, seed=7)  # 100 newer bars arrive
    _, after = holdout_figures(genome, info, info, settings)
    n_before = int(before.split(", ")[-1].split(" ")[0])
    n_after = int(after.split(", ")[-1].split(" ")[0])
    assert n_after == n_before + 200  # 100 more bars on each of the two series
    _, recorded = holdout_figures(genome, info, info, settings, rescore=False)
    assert "recorded at registration" in recorded


def test_cli_prints_each_gate_and_exits_1_on_failure_and_models_lists_aliases(fresh, cli):
    settings, client, figures, low, high = fresh
    client.set_registered_model_alias(NAME, "production", low)
    env = {"GAORG_HOME": str(settings.home)}
    res = cli("promote", NAME, high, "--min-trades", "1000000", "--no-rescore", "--json", env=env)
    assert res.code == 1, res.stderr
    assert "FAIL  hold-out trades" in res.stderr and "PASS  deflated Sharpe" in res.stderr
    assert res.json["action"] == "rejected" and res.json["gates"][4]["passed"] is False
    assert "recorded at registration (--no-rescore)" in res.json["gates"][4]["detail"]
    listed = cli("models", "--json", env=env)
    assert listed.code == 0, listed.stderr
    (model,) = listed.json["models"]
    assert model["aliases"] == {"production": low}
    assert {v["version"] for v in model["versions"]} == {"1", "2", "3"}
    assert [v["aliases"] for v in model["versions"] if v["version"] == low] == [["production"]]


def test_promoting_the_first_that_passes_skips_the_champion_and_raises_real_errors(fresh, tmp_path):
    import shutil

    from gaorg.config import Settings as S
    from gaorg.tracking.promote import promote_first_passing

    settings, client, figures, low, high = fresh
    client.set_registered_model_alias(NAME, "production", high)
    decisions, promoted = promote_first_passing(NAME, [high, low], settings, Gates(min_trades=10**6))
    assert promoted is None and [d.version for d in decisions] == [low]  # the champion is not gated
    # a store that lost the candidate's series is an error, not a rejection
    home = tmp_path / "copy"
    shutil.copytree(settings.home, home)
    (home / "market.duckdb").unlink()
    broken = S(home=home, tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    with pytest.raises(NotFoundError, match="no market store"):
        promote_first_passing(NAME, [low], broken)
