"""An evolution in MLflow: one run, a nested run per stage, then the front as registered models.

    recorder = MlflowRecorder(settings)
    result = evolve(config, store, callback=evolution_callback(recorder))
    log_evolution(result, recorder, register="trend")

``evolution_callback`` opens the run (before evolving) and logs each generation's figures
(best and median of each objective, hypervolume, evaluations) on the parent run (step = the
generation across stages) and on the stage's nested run (step = the generation in the stage).
``log_evolution`` continues that run (or opens one when no callback was used, logging the
history then): the typed config as params, the data lineage, tags (gaorg version, git commit),
the artifacts, and with ``register=NAME`` the top ``top_k`` front members as model versions.
If anything raises, the run ends FAILED and the error propagates.
"""

from __future__ import annotations

import functools
import math
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gaorg.tracking.recorder import FAILED, FINISHED, Recorder

TOP_K = 20
"""Front members registered by default (best walk-forward Sharpe first)."""


class EvolutionLog:
    """The MLflow side of one evolution: its parent run and the open stage run."""

    def __init__(self, recorder: Recorder, name: str = "evolution") -> None:
        self.recorder = recorder
        self.name = name
        self.run_id: str | None = None
        self.stage_runs: dict[int, str] = {}
        self._stage_open: str | None = None
        self.steps: set[int] = set()

    def open(self) -> str:
        if self.run_id is None:
            self.run_id = self.recorder.begin_run(self.name, tags={**source_tags(), "gaorg.kind": "evolution"})
            self.recorder.evolution = self
        return self.run_id

    def __call__(self, stats: Any) -> None:
        """Log one generation's figures (the ``callback`` of ``gaorg.evolve.run.evolve``)."""
        parent = self.open()
        stage_run = self._stage(stats.stage, stats.timeframe)
        metrics = stats.metrics()
        # the stage of each step, charted beside the figures: where a stage ends, the figures jump
        self.recorder.log_metrics({**metrics, "stage": float(stats.stage)}, step=stats.step, run_id=parent)
        self.recorder.log_metrics(metrics, step=stats.generation, run_id=stage_run)
        self.steps.add(stats.step)

    def _stage(self, index: int, timeframe: str) -> str:
        if index not in self.stage_runs:
            if self._stage_open is not None:
                self.recorder.end_run(self._stage_open, FINISHED)
            run = self.recorder.begin_run(f"stage {index} ({timeframe})", nested=True,
                                          tags={"gaorg.kind": "stage", "gaorg.stage": index,
                                                "gaorg.timeframe": timeframe})
            self.stage_runs[index] = self._stage_open = run
        return self.stage_runs[index]

    def finish(self, status: str) -> None:
        for run in (self._stage_open, self.run_id):
            if run is not None:
                self.recorder.end_run(run, status)
        self._stage_open = None
        if getattr(self.recorder, "evolution", None) is self:
            self.recorder.evolution = None


def evolution_callback(recorder: Recorder, name: str = "evolution") -> Callable[[Any], None]:
    """A per-generation callback for ``evolve`` that logs to ``recorder``.

    It opens the run at once, so an unreachable store fails before any evolving is done.
    """
    log = EvolutionLog(recorder, name)
    log.open()
    return log


def log_evolution(result: Any, recorder: Recorder, register: str | None = None, top_k: int = TOP_K,
                  data: Any = None) -> dict[str, Any]:
    """Log ``result`` (an EvolutionResult) as one run; with ``register``, register its top ``top_k``.

    ``data`` is what the run evolved on (a mapping ``(symbol, timeframe) -> Bars`` or a
    MarketStore); by default the market store of the recorder's settings is opened read-only.
    Returns the run id, the versions registered and the seconds spent.
    """
    log = getattr(recorder, "evolution", None)
    if log is None:
        log = EvolutionLog(recorder)
    started = time.perf_counter()
    try:
        run_id = log.open()
        _replay(log, result.history)
        baskets = _baskets(result.config, data, getattr(recorder, "settings", None))
        lineage = _lineage(result.config, baskets)
        _log_run(recorder, run_id, result, lineage, baskets)
        logged_s = time.perf_counter() - started
        versions = _register(recorder, run_id, result, lineage, register, top_k) if register else []
        log.finish(FINISHED)
    except BaseException:
        log.finish(FAILED)
        raise
    return {"mlflow_run_id": run_id, "model": register,
            "versions": [{"version": v.version, "genome_hash": v.genome_hash} for v in versions],
            "log_seconds": round(logged_s, 3),
            "register_seconds": round(time.perf_counter() - started - logged_s, 3)}


def _replay(log: EvolutionLog, history: Any) -> None:
    """Log the generations the callback did not see (no callback, or a resumed run)."""
    for stats in history:
        if stats.step not in log.steps:
            log(stats)


def _log_run(recorder: Recorder, run_id: str, result: Any, lineage: Any, baskets: Mapping) -> None:
    from gaorg.tracking import artifacts

    recorder.log_params({**{f"config.{k}": v for k, v in result.config.items()},
                         **(lineage.params() if lineage else {})}, run_id=run_id)
    recorder.set_tags({"gaorg.run_id": result.run_id, "gaorg.checkpoint_dir": result.checkpoint_dir or "",
                       "gaorg.lineage": "recorded" if lineage else "unavailable (no market data at hand)"},
                      run_id=run_id)
    best = result.best
    metrics = {"trials": result.trials, "pbo": result.pbo, "run.evaluations": result.evaluations,
               "run.front_size": len(result.front)}  # per-generation names are taken
    metrics.update({f"evaluations.{k.replace(':', '_')}": v for k, v in result.evaluations_per_stage.items()})
    metrics.update(result.timing.metrics())  # time.<i>_<tf>[.<entry module>].share, .eval_per_s, ...
    if best is not None:
        held = best.holdout_summary()
        metrics.update({"front.best.walk_forward_sharpe": best.sharpe,
                        "front.best.walk_forward_max_drawdown": best.max_drawdown,
                        "front.best.deflated_sharpe": best.deflated_sharpe,
                        "front.best.holdout_sharpe": held["sharpe"],
                        "front.best.holdout_max_drawdown": held["max_drawdown"],
                        "front.best.holdout_trades": held["trades"]})
    recorder.log_metrics(metrics, step=max((h.step for h in result.history), default=0), run_id=run_id)
    with tempfile.TemporaryDirectory(prefix="gaorg-run-") as tmp:
        folder = Path(tmp)
        artifacts.write_front_csv(result.front, folder / "front.csv")
        artifacts.write_genomes(result.front, folder / "genomes")
        if result.front:
            artifacts.write_front_html(result.front, folder / "front.html")
        if lineage is not None:
            (folder / "lineage.json").write_text(lineage.to_json() + "\n")
            starts = {s.key: s.holdout_start for s in lineage.series}
            artifacts.write_equity_html(result.front, baskets, _costs(result.config), folder / "equity.html",
                                        starts)
        (folder / "checkpoint.txt").write_text(
            f"{result.checkpoint_dir}\nresume with: gaorg evolve --resume {result.run_id}\n"
            if result.checkpoint_dir else "no checkpoint directory\n"
        )
        recorder.log_artifacts(folder, run_id=run_id)


def candidates(front: Any, top_k: int) -> list:
    """The front members a run registers: the ``top_k`` best by walk-forward Sharpe, one per
    behaviour.

    Members whose walk-forward objectives are equal to the last bit (Sharpe, drawdown and
    consistency over every fold and asset) traded alike on everything the search saw, e.g. an
    ATR stop that never fired beside the same entry alone: they are one trial, not several. Each
    would take a registered slot and count as a candidate that the hold-out's deflated Sharpe is
    deflated for, so only the first is kept (the fewest modules, then the hash), and the next
    distinct member takes the slot. Chosen on the walk-forward figures alone: the hold-out is
    not looked at. Members with a figure that is not finite are never merged.
    """
    ranked = sorted(front, key=lambda m: (-m.sharpe, len(m.genome.modules), m.genome_hash))
    kept, seen = [], set()
    for member in ranked:
        behaviour = (member.sharpe, member.max_drawdown, member.consistency)
        if all(math.isfinite(x) for x in behaviour):
            if behaviour in seen:
                continue
            seen.add(behaviour)
        kept.append(member)
    return kept[:top_k]


def _register(recorder: Recorder, run_id: str, result: Any, lineage: Any, name: str, top_k: int) -> list:
    from gaorg.tracking.describe import version_description
    from gaorg.tracking.registry import (
        REGISTERED_PARAM,
        RESCORE_PARAM,
        register_versions,
        registered_record,
        rescore_record,
        version_tags,
    )
    from gaorg.tracking.store import tracking_errors
    from gaorg.tracking.strategy_models import log_strategy_models

    client, settings = recorder.client, recorder.settings  # type: ignore[attr-defined]
    members = candidates(result.front, top_k)
    costs = _cost_tags(result.config)
    with tempfile.TemporaryDirectory(prefix="gaorg-models-") as tmp:
        logged = log_strategy_models(client, settings, recorder.experiment_id, run_id,  # type: ignore[attr-defined]
                                     members, Path(tmp))
    entries = []
    for rank, (member, model) in enumerate(zip(members, logged, strict=True)):
        series = lineage.for_timeframe(member.timeframe) if lineage else ()
        entries.append((model, version_tags(member, series=series, costs=costs, candidates=len(members)),
                        version_description(member, rank=rank, count=len(members), run_id=run_id,
                                            evolution_run_id=result.run_id)))
    timeframes = sorted({m.timeframe for m in members})
    with tracking_errors(settings, "recording the registered genomes on the run"):
        client.log_param(run_id, REGISTERED_PARAM, registered_record(members))
        if lineage:  # what promotion re-scores on, unchangeable like the genomes
            client.log_param(run_id, RESCORE_PARAM,
                             rescore_record(costs, {tf: lineage.for_timeframe(tf) for tf in timeframes}))
    return register_versions(client, settings, name, entries,
                             description="strategies evolved by gaorg (genome.json inside each version)")


def _baskets(config: Mapping[str, Any], data: Any, settings: Any) -> dict[str, tuple]:
    """Each stage's bars, from ``data`` or the settings' market store; {} when none is at hand."""
    from gaorg.tracking.lineage import baskets_of

    if not config.get("symbols"):
        return {}
    if data is not None:
        return baskets_of(config, data)
    if settings is None or not settings.market_db.exists():
        return {}
    from gaorg.data.store import open_store

    with open_store(settings, read_only=True) as store:
        return baskets_of(config, store)


def _lineage(config: Mapping[str, Any], baskets: Mapping) -> Any:
    from gaorg.tracking.lineage import lineage_of

    return lineage_of(baskets, float(config.get("holdout", 0.0) or 0.0)) if baskets else None


def _cost_tags(config: Mapping[str, Any]) -> dict[str, float]:
    costs = _costs(config)
    return {"fee": costs.fee, "slippage": costs.slippage}


def _costs(config: Mapping[str, Any]) -> Any:
    from gaorg.backtest.engine import Costs

    fee, slippage = config.get("fee"), float(config.get("slippage") or 0.0)
    return Costs(slippage=slippage) if fee in (None, "") else Costs(fee=float(fee), slippage=slippage)


@functools.cache
def source_tags() -> dict[str, str]:
    """Tags naming the code: gaorg's version and, in a git checkout, the commit (dirty or not)."""
    import gaorg

    tags = {"gaorg.version": gaorg.__version__}
    root = Path(gaorg.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return tags
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags["gaorg.git_commit"] = commit
    return tags
