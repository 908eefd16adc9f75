"""Helpers shared by the platform's tests: a seeded store, a ready MLflow store, papermill runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from gaorg.config import Settings

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
PROBE = Path(__file__).resolve().parent / "nightly_probe.ipynb"


def seed_store(home: Path, symbols: tuple[str, ...] = ("SYNTH-BTC", "SYNTH-ETH"), n_bars: int = 1500,
               timeframe: str = "1h", exchange: str = "synthetic", seed: int = 3, start_ms: int | None = None) -> None:
    """Write a seeded synthetic market (with funding) for ``symbols`` into ``home``'s store."""
    from gaorg.data.store import MarketStore
    from gaorg.data.synth import synth_market

    home.mkdir(parents=True, exist_ok=True)
    kw = {} if start_ms is None else {"start_ms": start_ms}
    with MarketStore(home / "market.duckdb") as store:
        for i, symbol in enumerate(symbols):
            m = synth_market(symbol, timeframe, n_bars, seed, price=100.0 * (i + 1), exchange=exchange, **kw)
            b = m.bars
            store.write_bars(exchange, symbol, timeframe, b.columns())
            store.write_funding(exchange, symbol, m.funding_ts, m.funding_rate)


_TEMPLATE: list[Path] = []  # the session's template, whichever module asked first


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow sqlite store made once per session (migrations take ~12 s).

    Each module that imports this fixture gets its own copy of it from pytest, which would
    migrate a store per module: the first one made is kept here and given to the others.
    """
    if _TEMPLATE and _TEMPLATE[0].exists():
        return _TEMPLATE[0]
    import mlflow

    path = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    # MLflow gives the Default experiment the artifact location ./mlruns of the working directory
    # at creation: create it inside the template's directory, never in the checkout
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    finally:
        os.chdir(here)
    _TEMPLATE[:] = [path]
    return path


@pytest.fixture
def ready_home(gaorg_home: Path, mlflow_template: Path) -> Path:
    """GAORG_HOME with a migrated, empty MLflow store (a copy of the session's template)."""
    gaorg_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(mlflow_template, gaorg_home / "mlflow.db")
    return gaorg_home


def run_notebook(notebook: Path, output: Path, parameters: dict[str, Any], home: Path) -> Any:
    """Execute ``notebook`` with papermill in ``home`` through gaorg's own runner; returns the notebook."""
    import nbformat

    from gaorg.nightly import execute_notebook

    assert os.environ.get("GAORG_HOME") == str(home)
    execute_notebook(notebook, output, parameters, Settings.from_env(), cell_timeout=300)
    return nbformat.read(str(output), as_version=4)


def run_notebook_in(notebook: Path, output: Path, parameters: dict[str, Any], cwd: Path) -> Any:
    """Execute ``notebook`` with papermill as a user does: kernel in ``cwd``, GAORG_HOME left unset."""
    import nbformat
    import papermill

    assert "GAORG_HOME" not in os.environ and "MLFLOW_TRACKING_URI" not in os.environ
    papermill.execute_notebook(str(notebook), str(output), parameters=parameters, kernel_name="python3",
                               progress_bar=False, log_output=False, execution_timeout=300, cwd=str(cwd))
    return nbformat.read(str(output), as_version=4)
