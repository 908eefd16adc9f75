"""04_compare_promote runs top to bottom under papermill on a real registry, and decides through the gates."""

from __future__ import annotations

import json

import pytest

from gaorg.config import Settings
from gaorg.strategies.genome import make_genome
from tests.notebooks import kit
from tests.notebooks.kit import NOTEBOOKS, run_notebook

mlflow_template, ready_home = kit.mlflow_template, kit.ready_home  # fixtures
NOTEBOOK = NOTEBOOKS / "04_compare_promote.ipynb"


def register_three(settings: Settings) -> list[str]:
    """Three EMA crossovers registered as model ``cmp`` (real backtests, real MLflow)."""
    from gaorg.tracking.fixtures import hand_made_result, store_synthetic
    from gaorg.tracking.log import log_evolution
    from gaorg.tracking.recorder import MlflowRecorder

    data = store_synthetic(settings, ["SYNTH-A"], n_bars=1500, seed=2)
    genomes = [make_genome(("ema_crossover", {"fast": f, "slow": s, "direction": "long"}))
               for f, s in ((5, 40), (12, 60), (20, 120))]
    logged = log_evolution(hand_made_result(data, genomes), MlflowRecorder(settings), register="cmp", top_k=3)
    return [v["version"] for v in logged["versions"]]


@pytest.mark.slow
def test_compare_shows_the_injected_versions_and_promotes_through_the_gates(ready_home, tmp_path):
    versions = register_three(Settings.from_env())
    assert len(versions) == 3
    out = tmp_path / "out"
    nb = run_notebook(NOTEBOOK, tmp_path / "04.ipynb", {
        "model": "cmp", "versions": [1, 2], "action": "promote", "version": 2, "reason": "notebook test",
        "output_dir": str(out)}, ready_home)
    record = json.loads((out / "record.json").read_text())
    # only the injected versions were compared, each scored on its hold-out
    assert record["compared"] == ["v1", "v2"]
    assert set(record["holdout_returns"]) == {"v1", "v2"}
    assert len(record["correlation"]) == 2 and record["correlation"][0][0] == 1.0
    said = json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])
    assert "Downloading artifacts" not in said and "INFO mlflow" not in said  # a bar per version's genome.json
    # the gates ran on version 2 (never forced) and the aliases follow their verdict
    decision = record["decision"]
    assert decision["version"] == "2" and decision["reason"] == "notebook test"
    assert {g["name"] for g in decision["gates"]} >= {"deflated Sharpe", "hold-out trades"}
    if decision["action"] == "promoted":
        assert all(g["passed"] for g in decision["gates"])
        assert record["aliases"] == {"production": "2"}
    else:
        assert decision["action"] == "rejected" and not all(g["passed"] for g in decision["gates"])
        assert record["aliases"] == {}
