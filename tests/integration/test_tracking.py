"""An evolution logged to a real MLflow sqlite store: one run, stage runs, artifacts, a registered front.

One store for the module (logging is the expensive part); each test reads what it needs from it.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from gaorg.config import Settings
from gaorg.errors import NotFoundError
from gaorg.strategies.compose import targets
from gaorg.strategies.genome import make_genome, parse_genome
from gaorg.tracking.fixtures import hand_made_result, store_synthetic
from gaorg.tracking.frames import frame_from_bars
from gaorg.tracking.log import evolution_callback, log_evolution
from gaorg.tracking.recorder import MlflowRecorder

N_FRONT = 6


def genomes(n: int = N_FRONT):
    return [make_genome(("ema_crossover", {"fast": 4 + 2 * i, "slow": 30 + 5 * i, "direction": "both"}),
                        exits=(("atr_stop", {"period": 14, "stop_mult": 2.0 + i / 2, "take_mult": 6.0}),))
            for i in range(n)]


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """Evolution of a hand-made result over a stored market, logged through the callback, registered."""
    root = tmp_path_factory.mktemp("tracking")
    settings = Settings(home=root / "home", tracking_uri=f"sqlite:///{root / 'home' / 'mlflow.db'}")
    cwd = root / "cwd"
    cwd.mkdir()
    data = store_synthetic(settings, ("BTC", "ETH"), "1h", 1200)
    result = hand_made_result(data, genomes(), checkpoint_dir=str(root / "ckpt" / "run1"))
    here = Path.cwd()
    os.chdir(cwd)  # nothing may land in the working directory
    try:
        recorder = MlflowRecorder(settings)
        callback = evolution_callback(recorder)
        for stats in result.history:
            callback(stats)
        out = log_evolution(result, recorder, register="trend", top_k=4)
    finally:
        os.chdir(here)
    return settings, result, out, recorder.client, cwd, data


def test_nothing_is_written_to_the_working_directory(logged):
    settings, _, _, _, cwd, _ = logged
    assert list(cwd.iterdir()) == []
    assert (settings.home / "mlflow.db").is_file()
    assert any(settings.artifacts.iterdir())


def test_the_evolution_is_one_finished_run_with_a_nested_run_per_stage(logged):
    _, result, out, client, _, _ = logged
    run = client.get_run(out["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["gaorg.run_id"] == result.run_id
    assert run.data.tags["gaorg.version"]
    assert len(run.data.tags["mlflow.source.git.commit"]) == 40
    children = client.search_runs([run.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert [c.data.tags["gaorg.timeframe"] for c in children] == ["1h"]
    assert children[0].info.status == "FINISHED"
    hist = client.get_metric_history(children[0].info.run_id, "best_sharpe")
    assert [m.step for m in hist] == [0, 1]


def test_params_hold_the_typed_config_and_the_data_lineage(logged):
    _, result, out, client, _, data = logged
    params = client.get_run(out["mlflow_run_id"]).data.params
    assert params["config.population"] == str(result.config["population"])
    assert params["config.holdout"] == "0.25"
    assert params["data.series"] == "synthetic/BTC/1h,synthetic/ETH/1h"
    assert len(params["data.content_hash"]) == 16
    assert "(1200 bars)" in params["data.synthetic/BTC/1h"]


def test_per_generation_metrics_are_logged_with_the_generation_as_step(logged):
    _, result, out, client, _, _ = logged
    for name in ("best_sharpe", "median_max_drawdown", "hypervolume", "evaluations"):
        hist = client.get_metric_history(out["mlflow_run_id"], name)
        assert [m.step for m in hist] == [h.step for h in result.history]
    hv = client.get_metric_history(out["mlflow_run_id"], "hypervolume")
    assert [m.value for m in hv] == pytest.approx([h.hypervolume for h in result.history])
    assert client.get_run(out["mlflow_run_id"]).data.metrics["pbo"] == pytest.approx(result.pbo)


def test_artifacts_hold_the_front_csv_every_genome_the_plots_and_the_checkpoint(logged, tmp_path):
    _, result, out, client, _, _ = logged
    names = {a.path for a in client.list_artifacts(out["mlflow_run_id"])}
    assert {"front.csv", "genomes", "front.html", "equity.html", "lineage.json", "checkpoint.txt"} <= names
    local = Path(client.download_artifacts(out["mlflow_run_id"], "", str(tmp_path)))
    rows = list(csv.DictReader((local / "front.csv").read_text().splitlines()))
    assert [r["genome_hash"] for r in rows] == [m.genome_hash for m in result.front]
    for r, m in zip(rows, result.front, strict=True):  # the basket's hold-out as gaorg evolve and the gates count it
        held = m.holdout_summary()
        assert len(m.holdout_per_asset) == 2 and float(r["holdout_trades"]) == held["trades"]
        assert float(r["holdout_max_drawdown"]) == pytest.approx(held["max_drawdown"], rel=1e-12)
    for m in result.front:
        assert parse_genome((local / "genomes" / f"{m.genome_hash}.json").read_text()) == m.genome
    assert "plotly" in (local / "front.html").read_text()[:20000].lower()
    assert result.checkpoint_dir in (local / "checkpoint.txt").read_text()
    lineage = json.loads((local / "lineage.json").read_text())
    assert [s["symbol"] for s in lineage["series"]] == ["BTC", "ETH"]


def test_the_top_k_front_members_are_new_versions_with_their_tags(logged):
    _, result, out, client, _, _ = logged
    best = sorted(result.front, key=lambda m: -m.sharpe)[:4]
    assert [v["genome_hash"] for v in out["versions"]] == [m.genome_hash for m in best]
    mv = client.get_model_version("trend", out["versions"][0]["version"])
    tags, member = mv.tags, best[0]
    assert tags["modules"] == "ema_crossover+atr_stop"
    assert float(tags["holdout.sharpe"]) == pytest.approx(member.holdout["sharpe"])
    assert float(tags["deflated_sharpe"]) == pytest.approx(member.deflated_sharpe)
    assert float(tags["objective.max_drawdown"]) == pytest.approx(member.max_drawdown)
    assert out["mlflow_run_id"] == mv.run_id
    series = json.loads(tags["rescore.series"])
    assert [s[:3] for s in series] == [["synthetic", "BTC", "1h"], ["synthetic", "ETH", "1h"]]


def test_a_version_explains_itself_in_markdown_and_keeps_few_tags(logged):
    """Rules, figures with their windows and lineage in the description; the tags are what gaorg reads."""
    from gaorg.quantities import fmt
    from gaorg.tracking.registry import append_history, get_version, list_models

    settings, result, out, client, _, _ = logged
    version = out["versions"][2]["version"]
    mv = client.get_model_version("trend", version)
    member = next(m for m in result.front if m.genome_hash == mv.tags["genome_hash"])
    held = member.holdout_summary()
    assert len(mv.tags) <= 12, sorted(mv.tags)
    text = mv.description
    assert "### Rules" in text and "entry: ema_crossover(fast=" in text and "exit: atr_stop(period=14" in text
    assert f"| hold-out max drawdown | hold-out, worst over the basket | {fmt('holdout.max_drawdown', held['max_drawdown'])} |" in text
    assert f"| hold-out trades | hold-out, total over the basket | {fmt('holdout.trades', held['trades'])} |" in text
    assert f"| walk-forward max drawdown | walk-forward folds, worst fold x asset | {fmt('wf.max_drawdown', member.max_drawdown)} |" in text
    assert "parents `" in text and "### Decisions\nnone yet" in text
    info = get_version(client, settings, "trend", version)
    append_history(client, settings, info, {"action": "rejected", "by": "ana", "at": "2026-01-01T00:00:00Z",
                                            "reason": "", "gates": {"hold-out trades": [3.0, False, 10, ">="]}})
    text = client.get_model_version("trend", version).description
    assert text.split("### Decisions\n")[1].startswith("- 2026-01-01T00:00:00Z rejected by ana; failed: "
                                                        "hold-out trades 3 (needs >= 10)")
    row = next(v for v in list_models(settings, "trend")[0]["versions"] if v["version"] == version)
    assert row["rejected"] == "hold-out trades 3 (needs >= 10)"


def test_models_shows_a_version_by_its_rules_and_parameters_and_counts_versions_in_words(logged):
    from gaorg.tracking.cli import _models_text
    from gaorg.tracking.registry import list_models
    from gaorg.tracking.show import show_version

    settings, result, out, client, _, _ = logged
    version = out["versions"][0]["version"]
    text, payload = show_version(settings, "trend", version)
    assert "rules:\n  entry: ema_crossover(fast=" in text and ", direction=both)" in text
    assert "  exit: atr_stop(period=14, stop_mult=" in text and "hold-out trades" in text
    assert payload["genome"]["entry"]["module"] == "ema_crossover"
    (model,) = list_models(settings, "trend")
    assert "(4 versions;" in _models_text([model], 10)
    assert "(1 version;" in _models_text([{**model, "versions": model["versions"][:1]}], 10)


def test_the_experiment_opens_on_runs_and_run_metrics_say_what_they_are(logged):
    """Classic experiment kind; the run's model metrics are the best's; a stage metric per step."""
    settings, result, out, client, _, _ = logged
    run = client.get_run(out["mlflow_run_id"])
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"
    best = result.best
    held = best.holdout_summary()
    metrics = run.data.metrics
    assert metrics["holdout_sharpe"] == pytest.approx(held["sharpe"])  # the front's best's, not the last one's
    assert metrics["deflated_sharpe"] == pytest.approx(best.deflated_sharpe)
    assert metrics["front.best.holdout_trades"] == pytest.approx(held["trades"])
    assert metrics["front.best.holdout_max_drawdown"] == pytest.approx(held["max_drawdown"])
    assert metrics["time.0_1h.ema_crossover.share"] == pytest.approx(1.0)  # where the evaluation time went
    assert metrics["time.0_1h.ema_crossover.eval_per_s"] == pytest.approx(result.timing.families[0].eval_per_s)
    assert metrics["time.0_1h.evaluations"] == result.stages[0].evaluations
    stages = client.get_metric_history(out["mlflow_run_id"], "stage")
    assert [(m.step, m.value) for m in stages] == [(h.step, float(h.stage)) for h in result.history]


def test_pyfunc_by_alias_and_the_safe_loader_give_equal_target_positions(logged, monkeypatch):
    import mlflow.pyfunc

    from gaorg.tracking.loader import load_production_genome

    settings, _, out, client, _, data = logged
    version = out["versions"][1]["version"]
    client.set_registered_model_alias("trend", "candidate", version)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.tracking_uri)
    model = mlflow.pyfunc.load_model("models:/trend@candidate")
    assert model.metadata.signature.inputs.input_names()[:5] == ["ts", "open", "high", "low", "close"]
    bars = data[("ETH", "1h")]
    predicted = model.predict(frame_from_bars(bars), params={"timeframe": "1h"})
    genome, info = load_production_genome("trend", "candidate", settings)
    assert info.version == version and genome.canonical_hash() == out["versions"][1]["genome_hash"]
    np.testing.assert_array_equal(predicted["target"].to_numpy(), targets(genome, bars).target)
    assert np.abs(predicted["target"].to_numpy()).max() > 0  # it does trade


def test_the_input_example_of_a_model_is_long_enough_to_predict_on(logged, tmp_path):
    import mlflow.artifacts
    from mlflow.models import Model

    from gaorg.tracking.loader import load_version_genome

    settings, _, out, client, _, _ = logged
    version = out["versions"][0]["version"]
    genome, _ = load_version_genome("trend", version, settings)
    src = client.get_model_version_download_uri("trend", version)
    path = Path(mlflow.artifacts.download_artifacts(artifact_uri=src, dst_path=str(tmp_path)))
    example = Model.load(str(path)).load_input_example(str(path))
    assert len(example) > genome.lookback()
    assert (path / "artifacts" / "genome.json").is_file()


def test_a_run_that_raises_is_marked_failed_and_the_error_re_raised(logged):
    settings, _, _, client, _, _ = logged
    recorder = MlflowRecorder(settings, experiment="gaorg-failing")
    with pytest.raises(ZeroDivisionError):
        with recorder.start_run("doomed") as run_id:
            recorder.log_metrics({"x": 1.0}, step=0)
            1 / 0  # noqa: B018
    assert client.get_run(run_id).info.status == "FAILED"
    assert recorder.active_run_id is None


def test_log_evolution_that_fails_marks_its_run_failed(logged):
    settings, result, _, client, _, _ = logged
    recorder = MlflowRecorder(settings, experiment="gaorg-failing")
    with pytest.raises(NotFoundError, match="no series for symbol"):
        log_evolution(result, recorder, register="never", data={})  # the data is not at hand
    runs = client.search_runs([recorder.experiment_id], "tags.`gaorg.kind` = 'evolution'")
    assert [r.info.status for r in runs] == ["FAILED"]
    assert client.search_registered_models("name = 'never'") == []


def test_a_run_left_open_by_a_process_that_dies_of_an_error_ends_failed(logged):
    """The per-generation callback opens the run; if evolve raises, exiting marks it FAILED."""
    import subprocess
    import sys

    settings, _, _, client, _, _ = logged
    code = ("import sys; from pathlib import Path; from gaorg.config import Settings; "
            "from gaorg.tracking.recorder import MlflowRecorder; "
            f"r = MlflowRecorder(Settings(home=Path({str(settings.home)!r}), tracking_uri={settings.tracking_uri!r})); "
            "print(r.begin_run('doomed evolution'), flush=True); raise SystemExit(1)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1
    run_id = proc.stdout.strip().splitlines()[-1]
    assert client.get_run(run_id).info.status == "FAILED"


def test_the_notebook_comparison_prints_the_figures_as_gaorg_models_does(logged):
    from gaorg.research.compare import load_candidates, table
    from gaorg.tracking.cli import _models_text
    from gaorg.tracking.registry import list_models

    settings, _, out, _, _, _ = logged
    version = out["versions"][0]["version"]
    (row,) = table(load_candidates(settings, "trend", (int(version),)))
    listed = next(line.split() for line in _models_text(list_models(settings, "trend"), 10).splitlines()
                  if line.split()[:1] == [version])
    assert [row["hold-out Sharpe"], row["hold-out max drawdown"], row["hold-out trades"]] == listed[5:8]
    assert [row["walk-forward Sharpe"], row["walk-forward max drawdown"]] == listed[2:4]


def test_the_fast_listing_of_a_sqlite_store_equals_mlflows(logged, monkeypatch):
    """gaorg models reads a sqlite registry without MLflow; what it lists is what MLflow lists."""
    import gaorg.tracking.listing as listing
    from gaorg.tracking.registry import list_models

    settings, _, out, client, _, _ = logged
    client.set_registered_model_alias("trend", "champion-test", out["versions"][1]["version"])
    try:
        fast = list_models(settings)
        monkeypatch.setattr(listing, "read_registry", lambda *a, **k: None)
        assert list_models(settings) == fast and fast[0]["aliases"]["champion-test"] == out["versions"][1]["version"]
    finally:
        client.delete_registered_model_alias("trend", "champion-test")
    assert listing.sqlite_file("sqlite:///rel.db").as_posix() == "rel.db"  # relative, as SQLAlchemy reads it
    assert listing.sqlite_file("http://mlflow:5000") is None
