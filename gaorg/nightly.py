"""The nightly pipeline: for each universe, fetch new bars, run ``03_evolve`` through papermill.

``gaorg nightly [--config pipelines/nightly.yaml]`` (and ``pipelines/nightly.py``) reads a typed
:class:`NightlyConfig` (unknown keys are refused), takes a lock so that two runs never overlap,
and for each universe, independently:

1. fetches the bars that closed since the last run (a basket by rule: of every stored series the
   rule picks among; an exchange that cannot be reached is a warning: the run goes on with the
   stored bars);
2. executes the evolve notebook with the universe's parameters, saving the executed notebook
   under ``$GAORG_HOME/nightly/DATE/``;
3. logs that notebook to the notebook's MLflow run as an artifact;
4. optionally runs the promotion gates on the best registered candidate (never forced).

A failing universe is recorded and the next one runs; the exit status is 1 when any failed and
``summary.json`` beside the notebooks says what happened to each. The YAML's typed configs are
:mod:`gaorg.nightly_config`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaorg.config import Settings
from gaorg.errors import ConfigError, ExchangeError, RunLockedError
from gaorg.nightly_config import (  # noqa: F401 - the configs (gaorg.nightly_config), importable from here too
    DEFAULT_CONFIG,
    FetchConfig,
    NightlyConfig,
    UniverseConfig,
    load_config,
)

RECORD = "record.json"


# -- the lock -------------------------------------------------------------------------------------

@contextlib.contextmanager
def nightly_lock(settings: Settings) -> Iterator[Path]:
    """Hold ``$GAORG_HOME/nightly/nightly.lock`` (an OS lock, freed even on kill -9) or refuse.

    A second run while one holds it raises :class:`RunLockedError` at once, naming the holder.
    """
    import fcntl

    settings.nightly.mkdir(parents=True, exist_ok=True)
    path = settings.nightly / "nightly.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise RunLockedError(
                f"another nightly run holds {path} ({holder}); wait for it to finish, "
                f"or stop that process"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {_now_iso()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# -- one universe ---------------------------------------------------------------------------------

@dataclass
class UniverseResult:
    """What happened to one universe; ``error`` is None when it succeeded."""

    name: str
    status: str = "pending"
    warnings: list[str] = field(default_factory=list)
    fetched: list[dict[str, Any]] = field(default_factory=list)
    notebook: str | None = None
    run_id: str | None = None
    model: str | None = None
    basket: dict[str, Any] | None = None  # what the notebook evolved on (a rule: what it resolved to)
    versions: list[int] = field(default_factory=list)
    promotion: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0

    def line(self) -> str:
        head = f"{self.name}: {self.status}"
        if self.error:
            return f"{head}: {self.error}"
        parts = []
        if self.fetched:
            parts.append(f"fetched {sum(f['bars'] for f in self.fetched)} new bars")
        if self.basket and self.basket.get("universe"):
            parts.append(f"basket {self.basket['universe']}: {len(self.basket['symbols'])} series")
        if self.run_id:
            parts.append(f"MLflow run {self.run_id}")
        if self.versions:
            parts.append(f"registered {self.model} v{', v'.join(map(str, self.versions))}")
        if self.promotion:
            parts.append(self.promotion.get("text", ""))
        return head + (" (" + "; ".join(p for p in parts if p) + ")" if parts else "")


def fetch_new_bars(universe: UniverseConfig, settings: Settings, result: UniverseResult) -> None:
    """Fetch closed bars since the last stored one; an unreachable exchange is a warning."""
    cfg = universe.fetch
    if not cfg.enabled:
        return
    source = universe.exchange or (universe.rule.exchange if universe.rule else None)
    if source is None:
        result.warnings.append("no exchange configured: fetch skipped, evolving on the stored bars")
        return
    from gaorg.data.exchange import RetryPolicy, make_exchange
    from gaorg.data.fetch import fetch_into
    from gaorg.data.store import open_store
    from gaorg.evolve.rule import stored_symbols

    timeframe = cfg.timeframe or universe.timeframes[-1]
    exchange = make_exchange(source, testnet=cfg.testnet, api_url=cfg.api_url, timeout_ms=cfg.timeout_ms,
                             rate_limit_ms=cfg.rate_limit_ms)
    name = universe.store_exchange
    retry = RetryPolicy(attempts=max(1, cfg.retries), base_delay=cfg.backoff, max_delay=max(cfg.backoff * 8, 0.01))
    with open_store(settings) as store:  # a rule: the stored series it picks among, brought up to date
        rule = universe.rule and dataclasses.replace(universe.rule, exchange=name)
        for symbol in universe.symbols or stored_symbols(store, rule, timeframe):
            try:
                report = fetch_into(store, exchange, symbol, timeframe, store_exchange=name, retry=retry)
            except ExchangeError as exc:
                result.warnings.append(f"fetch of {name} {symbol} {timeframe} skipped, the exchange cannot be "
                                       f"reached ({exc}); evolving on the stored bars")
                continue
            result.fetched.append(report.to_dict())


def execute_notebook(notebook: Path, output: Path, parameters: dict[str, Any], settings: Settings,
                     *, kernel: str = "python3", cell_timeout: float | None = None) -> None:
    """Run ``notebook`` top to bottom with ``parameters`` into ``output`` (kept even when it fails).

    The kernel is this interpreter's (papermill starts ``python3`` with ``sys.executable``) and
    sees this process's GAORG_HOME, made absolute. A failing cell raises
    ``papermill.PapermillExecutionError`` (``cell_index``, ``ename``, ``evalue``).
    """
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    env = {"GAORG_HOME": str(settings.home), "MLFLOW_TRACKING_URI": settings.tracking_uri}
    with _environ(env):
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=kernel, progress_bar=False,
            log_output=False, execution_timeout=cell_timeout, cwd=str(notebook.parent),
            # no widget state in the saved notebook: an HTML export then shows the static copy a
            # widget carries (gaorg.plots) instead of an empty box waiting for a CDN's widget manager
            store_widget_state=False,
            config=kernel_config(),
        )


def kernel_config() -> Any:
    """The kernel manager's config for every kernel gaorg starts: its sockets encrypted.

    ipykernel warns "Kernel is running over TCP without encryption" at every start unless the
    kernel manager provisions CurveZMQ keys (jupyter_client's ``KernelManager.transport_encryption``;
    the python3 kernelspec declares ``supported_encryption: curve``). Where libzmq has no CurveZMQ,
    the kernel talks over IPC (Unix sockets) instead, which is not TCP: no warning either way.
    """
    import zmq
    from traitlets.config import Config

    if zmq.has("curve"):
        return Config({"KernelManager": {"transport_encryption": "auto"}})
    return Config({"KernelManager": {"transport": "ipc"}})


def describe_failure(exc: BaseException) -> str:
    """One line for the summary: which cell failed, with the error's kind and message."""
    ename = getattr(exc, "ename", None)
    if ename is not None:
        source = (getattr(exc, "source", "") or "").strip().splitlines()
        first = f" `{source[0][:80]}`" if source else ""
        evalue = str(getattr(exc, "evalue", "")).strip()
        return f"notebook failed at cell {getattr(exc, 'exec_count', None) or '?'}{first}: {ename}: {evalue}"
    return f"{type(exc).__name__}: {exc}"


def log_notebook(settings: Settings, run_id: str, path: Path) -> None:
    """Attach the executed notebook to MLflow run ``run_id`` (artifact path ``nightly/``)."""
    import mlflow

    from gaorg.errors import TrackingError

    try:
        mlflow.MlflowClient(tracking_uri=settings.tracking_uri).log_artifact(run_id, str(path), "nightly")
    except Exception as exc:  # the store is unreachable or the run is unknown: say which
        raise TrackingError(f"could not log {path.name} to MLflow run {run_id}: {exc}") from None


def promote_best(settings: Settings, model: str, versions: list[int]) -> dict[str, Any]:
    """Run the promotion gates on the first (best) registered version; never forced.

    A failed gate is an outcome, not a failure of the universe: the champion stays.
    """
    from gaorg.errors import GateFailedError
    from gaorg.tracking.promote import promote

    version = versions[0]
    try:
        decision = promote(model, version, settings, force=False, reason="nightly")
    except GateFailedError as exc:
        decision = exc.decision  # type: ignore[attr-defined]
    verdict = "promoted to production" if decision.action == "promoted" else "kept out: a gate failed"
    return {"version": version, "action": decision.action, "text": f"v{version} {verdict}",
            "gates": decision.to_dict()["gates"]}


def run_universe(universe: UniverseConfig, config: NightlyConfig, settings: Settings, day_dir: Path) -> UniverseResult:
    """Fetch, evolve (papermill), log, promote one universe; every failure lands in the result."""
    from gaorg.research.params import read_record

    result = UniverseResult(universe.name, model=universe.model)
    started = time.monotonic()
    try:
        result.status = "fetching"
        fetch_new_bars(universe, settings, result)
        result.status = "evolving"
        output = _unique(day_dir / f"{universe.name}.ipynb")
        result.notebook = str(output)
        record_dir = output.with_suffix("")
        assert config.notebook is not None
        execute_notebook(config.notebook, output, universe.notebook_parameters(config, record_dir), settings,
                         kernel=config.kernel, cell_timeout=config.cell_timeout)
        record = read_record(record_dir / RECORD)
        result.run_id, result.basket = record.get("mlflow_run_id"), record.get("basket")
        result.versions = [int(v) for v in record.get("registered_versions") or []]
        if result.run_id:
            result.status = "logging"
            log_notebook(settings, result.run_id, output)
        else:
            result.warnings.append("the notebook made no MLflow run: the executed notebook is only on disk")
        if config.promote and result.versions:
            result.status = "promoting"
            result.promotion = promote_best(settings, universe.model, result.versions)
        result.status = "ok"
    except Exception as exc:  # noqa: BLE001 - one universe's failure must not stop the others
        result.error = f"{result.status}: {describe_failure(exc)}"
        result.status = "FAILED"
    result.seconds = round(time.monotonic() - started, 1)
    return result


@dataclass
class NightlySummary:
    """Every universe's result; ``failed`` names those that did not finish."""

    date: str
    directory: str
    results: list[UniverseResult]

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.results if r.error]

    def text(self) -> str:
        lines = [f"nightly {self.date}: {len(self.results) - len(self.failed)} of {len(self.results)} "
                 f"universes ok; notebooks in {self.directory}"]
        for r in self.results:
            lines.append("  " + r.line())
            lines.extend(f"    warning: {w}" for w in r.warnings)
        if self.failed:
            lines.append(f"FAILED: {', '.join(self.failed)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date, "directory": self.directory, "failed": self.failed,
                "universes": [dataclasses.asdict(r) for r in self.results]}


def run_nightly(config: NightlyConfig, settings: Settings, *, date: str | None = None,
                only: tuple[str, ...] = ()) -> NightlySummary:
    """Run every universe (or those named in ``only``) under the lock; write ``summary.json``."""
    import json

    unknown = [n for n in only if n not in {u.name for u in config.universes}]
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: no such universe; the config has "
                          f"{', '.join(u.name for u in config.universes)}")
    date = date or time.strftime("%Y-%m-%d", time.gmtime())
    with nightly_lock(settings):
        day_dir = settings.nightly / date
        day_dir.mkdir(parents=True, exist_ok=True)
        results = []
        for universe in config.universes:
            if only and universe.name not in only:
                continue
            print(f"nightly: {universe.name} ...", file=sys.stderr, flush=True)
            results.append(run_universe(universe, config, settings, day_dir))
        summary = NightlySummary(date, str(day_dir), results)
        (day_dir / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2, default=str))
    return summary


def _unique(path: Path) -> Path:
    """``path``, or ``NAME-HHMMSS.ipynb`` when a run of the same day already wrote it."""
    if not path.exists():
        return path
    return path.with_name(f"{path.stem}-{time.strftime('%H%M%S', time.gmtime())}{path.suffix}")


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- command line ---------------------------------------------------------------------------------

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``gaorg nightly``."""
    p = sub.add_parser("nightly", parents=[common], help="the nightly papermill pipeline (fetch, evolve, log)",
                       description="For each universe of the config: fetch new bars, run the evolve notebook "
                                   "through papermill, log the executed notebook to MLflow, optionally promote.")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="nightly YAML (default: %(default)s)")
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this universe (repeatable)")
    p.add_argument("--date", default=None, help="name of the output directory (default: today, UTC)")
    p.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, settings: Settings) -> Any:
    from gaorg.command import Outcome

    config = load_config(args.config)
    summary = run_nightly(config, settings, date=args.date, only=tuple(args.only))
    return Outcome(summary.text(), summary.to_dict(), 1 if summary.failed else 0)


__all__ = ["NightlyConfig", "UniverseConfig", "FetchConfig", "load_config", "run_nightly", "nightly_lock"]
