"""Pieces of gaorg.tracking that need no MLflow store: frames, lineage, gates, URIs, the recorder's rules."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gaorg.config import Settings
from gaorg.data.synth import synth_bars
from gaorg.errors import ConfigError, InputError
from gaorg.tracking.frames import bars_from_frame, frame_from_bars
from gaorg.tracking.lineage import lineage_of
from gaorg.tracking.promote import Decision, GateResult, Gates
from gaorg.tracking.recorder import FAILED, FINISHED, Recorder
from gaorg.tracking.store import is_remote, redact


def test_a_model_input_frame_round_trips_to_the_same_bars():
    bars = synth_bars("BTC", "1h", 50, seed=1)
    back = bars_from_frame(frame_from_bars(bars), timeframe="1h")
    for name in ("ts", "open", "high", "low", "close", "volume", "funding"):
        np.testing.assert_array_equal(getattr(back, name), getattr(bars, name))


def test_a_model_input_without_volume_or_funding_is_accepted_and_a_missing_close_is_named():
    frame = frame_from_bars(synth_bars("BTC", "1h", 10, seed=1)).drop(columns=["volume", "funding"])
    assert bars_from_frame(frame, "1h").volume.sum() == 0
    with pytest.raises(InputError, match="lacks column.*close"):
        bars_from_frame(frame.drop(columns=["close"]), "1h")


def test_lineage_names_each_series_its_range_its_holdout_start_and_one_content_hash():
    a, b = synth_bars("BTC", "1h", 100, seed=1), synth_bars("ETH", "1h", 100, seed=2)
    lineage = lineage_of({"1h": (a, b)}, holdout=0.2)
    assert [s.key for s in lineage.series] == ["synthetic/BTC/1h", "synthetic/ETH/1h"]
    assert lineage.series[0].first == a.ts[0] and lineage.series[0].last == a.ts[-1]
    assert lineage.series[0].holdout_start == a.ts[80]
    assert lineage_of({"1h": (a, b)}, 0.2).content_hash == lineage.content_hash
    assert lineage_of({"1h": (a, synth_bars("ETH", "1h", 100, seed=3))}, 0.2).content_hash != lineage.content_hash
    assert lineage_of({"1h": (a,)}, 0.0).series[0].holdout_start is None


def test_gates_refuse_impossible_thresholds():
    with pytest.raises(ConfigError, match="min_deflated_sharpe"):
        Gates(min_deflated_sharpe=1.5)
    with pytest.raises(ConfigError, match="max_drawdown"):
        Gates(max_drawdown=0.0)
    with pytest.raises(ConfigError, match="min_trades"):
        Gates(min_trades=-1)


def test_a_decision_prints_each_gate_with_its_figure_and_verdict_and_its_json_has_no_nan():
    gates = (GateResult("hold-out Sharpe", 1.5, 1.2, True, "> 1.2"),
             GateResult("hold-out trades", float("nan"), 10, False, ">= 10"),
             GateResult("hold-out max drawdown", 0.0364, 0.3, True, "<= 30.0%"),
             GateResult("hold-out trades", 14.0, 10, True, ">= 10"))
    decision = Decision("rejected", "trend", "3", "2", "ana", "2026-01-01T00:00:00Z", "", gates)
    text = decision.text()
    assert "PASS  hold-out Sharpe" in text and " 1.50  (needs" in text  # Sharpe: 2 decimals
    assert "FAIL  hold-out trades" in text and "n/a" in text
    assert " 3.6%  (needs" in text and " 14  (needs" in text  # drawdown a percent, trades a whole count
    assert decision.to_dict()["gates"][1]["figure"] is None and decision.passed is False


def test_one_quantity_has_one_format_and_says_which_window_it_covers():
    from gaorg.quantities import QUANTITIES, fmt, why_rejected

    assert fmt("holdout.max_drawdown", 0.0364) == fmt("wf.max_drawdown", 0.0364) == "3.6%"
    assert fmt("holdout.trades", 14.0) == "14" and fmt("holdout.sharpe", 1.234) == "1.23"
    assert fmt("holdout.sharpe", None) == fmt("holdout.sharpe", float("nan")) == "n/a"
    assert "worst" in QUANTITIES["holdout.max_drawdown"].window and "total" in QUANTITIES["holdout.trades"].window
    assert "walk-forward" in QUANTITIES["wf.max_drawdown"].window
    history = [{"action": "rejected", "gates": {"hold-out Sharpe": [1.5, True, 0.0, ">"],
                                                "hold-out trades": [9.0, False, 10, ">="]}}]
    assert why_rejected(history) == "hold-out trades 9 (needs >= 10)"
    assert why_rejected([*history, {"action": "promoted"}]) == ""


def test_credentials_in_a_tracking_uri_are_redacted_and_servers_are_recognised():
    assert redact("https://ana:s3cret@mlflow.example.com/api") == "https://***@mlflow.example.com/api"
    assert is_remote("http://127.0.0.1:5000") and not is_remote("sqlite:////tmp/x/mlflow.db")


def test_the_default_store_is_under_gaorg_home_and_mlflow_tracking_uri_overrides_it(tmp_path):
    settings = Settings.from_env({"GAORG_HOME": str(tmp_path)})
    assert settings.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert settings.artifacts == tmp_path / "mlartifacts"
    assert Settings.from_env({"GAORG_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": "http://h:1"}).tracking_uri == "http://h:1"


class ListRecorder(Recorder):
    """A recorder that keeps runs in a dict: the base class's run rules, seen without a store."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, dict] = {}

    def _create_run(self, name, parent, tags):
        run_id = f"r{len(self.runs)}"
        self.runs[run_id] = {"name": name, "parent": parent, "status": "RUNNING", "metrics": []}
        return run_id

    def _terminate(self, run_id, status):
        self.runs[run_id]["status"] = status

    def log_params(self, params, run_id=None):
        self.runs[self._target(run_id)]["params"] = dict(params)

    def log_metrics(self, metrics, step=0, run_id=None):
        self.runs[self._target(run_id)]["metrics"].append((step, dict(metrics)))

    def log_artifacts(self, local_dir, artifact_path=None, run_id=None):
        self._target(run_id)

    def set_tags(self, tags, run_id=None):
        self._target(run_id)


def test_a_run_that_raises_ends_failed_and_re_raises_and_nested_runs_know_their_parent():
    rec = ListRecorder()
    with pytest.raises(KeyError):
        with rec.start_run("outer") as outer:
            with rec.start_run("inner", nested=True) as inner:
                rec.log_metrics({"x": 1.0}, step=3)
            raise KeyError("boom")
    assert rec.runs[inner] == {"name": "inner", "parent": outer, "status": FINISHED, "metrics": [(3, {"x": 1.0})]}
    assert rec.runs[outer]["status"] == FAILED and rec.active_run_id is None


def test_logging_outside_a_run_is_an_error_and_close_fails_what_is_still_open():
    rec = ListRecorder()
    with pytest.raises(RuntimeError, match="no open run"):
        rec.log_params({"a": 1})
    run = rec.begin_run("left open")
    rec.close()
    assert rec.runs[run]["status"] == FAILED


def test_importing_the_tracking_cli_and_loader_modules_does_not_import_mlflow():
    code = ("import sys, gaorg.tracking.cli, gaorg.tracking.promote, gaorg.tracking.registry, "
            "gaorg.tracking.loader, gaorg.tracking.log; print('mlflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"
