"""A small tracking interface (after Qlib's ``Recorder``) with MLflow as its implementation.

A recorder keeps a stack of open runs: ``start_run`` opens one (nested under the open one when
``nested=True``) and closes it FINISHED, or FAILED when the body raises, re-raising the error.
``log_params`` / ``log_metrics(step=)`` / ``log_artifacts`` / ``set_tags`` write to the innermost
open run unless given a ``run_id``. ``begin_run`` / ``end_run`` do the same without a ``with``
block, for runs that outlive one call (the per-generation callback of an evolution); a run still
open when the process exits is closed FAILED.

    recorder = MlflowRecorder(Settings.from_env())
    with recorder.start_run("evolution"):
        recorder.log_params({"population": 64})
        recorder.log_metrics({"best_sharpe": 1.2}, step=0)
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import math
import time
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gaorg.config import Settings
from gaorg.tracking.store import EXPERIMENT, experiment_id, make_client, tracking_errors

FINISHED, FAILED = "FINISHED", "FAILED"
PARAM_MAX = 6000  # MLflow's limit on a parameter value


class Recorder(abc.ABC):
    """Runs with params, metrics per step, artifacts and tags; a run that raises ends FAILED."""

    def __init__(self) -> None:
        self._open: list[str] = []
        self.evolution: Any = None  # the evolution being logged (gaorg.tracking.log), if any

    @property
    def active_run_id(self) -> str | None:
        """The innermost open run (None when no run is open)."""
        return self._open[-1] if self._open else None

    @contextlib.contextmanager
    def start_run(self, name: str, *, nested: bool = False, tags: Mapping[str, Any] | None = None) -> Iterator[str]:
        """Open a run for the ``with`` body (yields its id); FAILED and re-raised if the body raises."""
        run_id = self.begin_run(name, nested=nested, tags=tags)
        try:
            yield run_id
        except BaseException:
            self.end_run(run_id, FAILED)
            raise
        self.end_run(run_id, FINISHED)

    def begin_run(self, name: str, *, nested: bool = False, tags: Mapping[str, Any] | None = None) -> str:
        """Open a run and make it the innermost one; close it with :meth:`end_run`."""
        parent = self.active_run_id if nested else None
        run_id = self._create_run(name, parent, dict(tags or {}))
        self._open.append(run_id)
        return run_id

    def end_run(self, run_id: str, status: str = FINISHED) -> None:
        """Close ``run_id`` with ``status`` (FINISHED or FAILED); closing twice is harmless."""
        if run_id in self._open:
            self._open.remove(run_id)
            self._terminate(run_id, status)

    def close(self, status: str = FAILED) -> None:
        """Close every open run, innermost first (at exit, an unfinished run is a failed one)."""
        for run_id in reversed(list(self._open)):
            self.end_run(run_id, status)

    def _target(self, run_id: str | None) -> str:
        target = run_id or self.active_run_id
        if target is None:
            raise RuntimeError("no open run: log inside `with recorder.start_run(...)` or pass run_id")
        return target

    @abc.abstractmethod
    def _create_run(self, name: str, parent: str | None, tags: dict[str, Any]) -> str: ...

    @abc.abstractmethod
    def _terminate(self, run_id: str, status: str) -> None: ...

    @abc.abstractmethod
    def log_params(self, params: Mapping[str, Any], run_id: str | None = None) -> None:
        """Record configuration values (logged once per run; values become strings)."""

    @abc.abstractmethod
    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, run_id: str | None = None) -> None:
        """Record figures at ``step`` (a generation); non-finite values are skipped."""

    @abc.abstractmethod
    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None,
                      run_id: str | None = None) -> None:
        """Upload every file under ``local_dir`` (to ``artifact_path`` inside the run)."""

    @abc.abstractmethod
    def set_tags(self, tags: Mapping[str, Any], run_id: str | None = None) -> None:
        """Set string tags on the run (git commit, versions, lineage)."""


class MlflowRecorder(Recorder):
    """The recorder on an MLflow store (``settings.tracking_uri``), experiment ``gaorg``.

    Talks to MLflow through ``MlflowClient`` only (no fluent global state): several recorders,
    threads and tests do not see each other's active runs.
    """

    def __init__(self, settings: Settings, experiment: str = EXPERIMENT) -> None:
        super().__init__()
        self.settings = settings
        self.experiment = experiment
        self._client: Any = None
        self._experiment_id: str | None = None
        atexit.register(_close_at_exit, weakref.ref(self))

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    @property
    def experiment_id(self) -> str:
        if self._experiment_id is None:
            self._experiment_id = experiment_id(self.client, self.settings, self.experiment)
        return self._experiment_id

    def _create_run(self, name: str, parent: str | None, tags: dict[str, Any]) -> str:
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        if parent is not None:
            tags[MLFLOW_PARENT_RUN_ID] = parent
        with tracking_errors(self.settings, "starting a run"):
            run = self.client.create_run(
                self.experiment_id, run_name=name, tags={k: str(v) for k, v in tags.items()}
            )
        return run.info.run_id

    def _terminate(self, run_id: str, status: str) -> None:
        with tracking_errors(self.settings, "ending a run"):
            self.client.set_terminated(run_id, status)

    def log_params(self, params: Mapping[str, Any], run_id: str | None = None) -> None:
        from mlflow.entities import Param

        items = [Param(str(k), _text(v)[:PARAM_MAX]) for k, v in params.items()]
        self._batch(run_id, params=items)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, run_id: str | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(str(k), float(v), now, int(step)) for k, v in metrics.items()
                 if v is not None and math.isfinite(float(v))]
        self._batch(run_id, metrics=items)

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None,
                      run_id: str | None = None) -> None:
        target = self._target(run_id)
        with tracking_errors(self.settings, "uploading artifacts"):
            self.client.log_artifacts(target, str(local_dir), artifact_path)

    def set_tags(self, tags: Mapping[str, Any], run_id: str | None = None) -> None:
        from mlflow.entities import RunTag

        self._batch(run_id, tags=[RunTag(str(k), _text(v)) for k, v in tags.items()])

    def _batch(self, run_id: str | None, **items: list) -> None:
        target = self._target(run_id)
        if not any(items.values()):
            return
        with tracking_errors(self.settings, "logging to a run"):
            # MLflow takes at most 100 params or tags per batch
            for start in range(0, max(len(v) for v in items.values()), 100):
                self.client.log_batch(target, **{k: v[start:start + 100] for k, v in items.items()})


def _close_at_exit(ref: weakref.ref) -> None:
    """A run still open at exit did not finish: mark it FAILED (quietly if the store is gone)."""
    recorder = ref()
    if recorder is None:
        return
    try:
        recorder.close(FAILED)
    except Exception:  # noqa: BLE001 - at exit there is no one left to tell
        pass


def _text(value: Any) -> str:
    return "" if value is None else str(value)
