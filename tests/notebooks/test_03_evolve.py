"""03_evolve runs top to bottom under papermill: evolution, MLflow run, registered front."""

from __future__ import annotations

import json

import pytest

from tests.notebooks import kit
from tests.notebooks.kit import NOTEBOOKS, run_notebook, seed_store

mlflow_template, ready_home = kit.mlflow_template, kit.ready_home  # fixtures
NOTEBOOK = NOTEBOOKS / "03_evolve.ipynb"


@pytest.mark.slow
def test_evolve_runs_the_injected_stages_and_sizes_logs_to_mlflow_and_registers_top_k(ready_home, tmp_path):
    seed_store(ready_home, ("SYNTH-BTC", "SYNTH-ETH", "SYNTH-SOL"), n_bars=1200)
    out = tmp_path / "out"
    nb = run_notebook(NOTEBOOK, tmp_path / "03.ipynb", {
        "symbols": ["SYNTH-ETH", "SYNTH-SOL"], "timeframes": ["4h", "1h"], "population": 6, "generations": 1,
        "folds": 2, "seed": 4, "workers": 0, "register": "nb-model", "top_k": 2, "output_dir": str(out)},
        ready_home)
    record = json.loads((out / "record.json").read_text())
    # the injected stages and sizes are what ran: two stages of 6 genomes, 1 generation each
    assert [(s["timeframe"], s["population"], s["generations"]) for s in record["stages"]] == [
        ("4h", 6, 1), ("1h", 6, 1)]
    assert record["generations_seen"] == 4  # generation 0 and 1 of each stage
    assert record["params"]["symbols"] == ["SYNTH-ETH", "SYNTH-SOL"] and record["params"]["seed"] == 4
    assert record["front"]
    # where the time went: the timing table, a row per stage and entry module evaluated
    timing = next(c for c in nb.cells if c.cell_type == "code" and "result.timing.frame()" in c.source)
    table = timing.outputs[0]["data"]["text/plain"]
    assert "eval_per_s" in table and "4h" in table and "1h" in table
    # gaorg's lines only: no MLflow "INFO ... Validating input example" per registered model, no
    # "Downloading artifacts" bar (notebook_params quiets MLflow as the command line does)
    said = json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])
    assert "INFO mlflow" not in said and "Downloading artifacts" not in said
    # the run is in MLflow with its per-generation metrics, the front registered (top 2)
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{ready_home / 'mlflow.db'}")
    run = client.get_run(record["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert "best_sharpe" in run.data.metrics
    versions = client.search_model_versions("name = 'nb-model'")
    assert sorted(int(v.version) for v in versions) == sorted(record["registered_versions"])
    assert 1 <= len(versions) <= 2
