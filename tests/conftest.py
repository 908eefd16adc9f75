"""Shared fixtures: an isolated GAORG_HOME per test and a way to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gaorg.config import Settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def gaorg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh GAORG_HOME (and default MLflow store inside it) for one test."""
    home = tmp_path / "gaorg_home"
    monkeypatch.setenv("GAORG_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home


@pytest.fixture
def settings(gaorg_home: Path) -> Settings:
    return Settings.from_env()


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        """The JSON object on the last line of stdout."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert lines, f"no stdout; stderr was:\n{self.stderr}"
        return json.loads(lines[-1])


@pytest.fixture
def cli(gaorg_home: Path):
    """Run ``gaorg ARGS`` as a real process (exit status, stdout, stderr) in the test's home."""

    def run(*args: str, timeout: float = 300, env: dict[str, str] | None = None, cwd: Path | None = None) -> CliResult:
        full_env = {**os.environ, "GAORG_HOME": str(gaorg_home), **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "gaorg.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            cwd=cwd or gaorg_home.parent,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:  # noqa: ARG001
    """Modules holding a test marked ``slow`` run first, the rest after in their order.

    ``make test`` hands whole modules to two xdist workers in this order (``--dist loadscope
    --no-loadscope-reorder``): started first, the long modules (a notebook, the demo, a nightly
    run) run beside the many short ones instead of leaving one worker alone with them at the end.
    """
    slow = {item.module.__name__ for item in items if item.get_closest_marker("slow") and item.module}
    items.sort(key=lambda item: item.module is None or item.module.__name__ not in slow)


@pytest.fixture(scope="session", autouse=True)
def no_stray_mlflow_store():
    """The suite leaves no MLflow store in the checkout: gaorg keeps it under GAORG_HOME."""
    stray = ("mlruns", "mlflow.db")
    before = {name for name in stray if (REPO / name).exists()}
    yield
    after = {name for name in stray if (REPO / name).exists()}
    assert after <= before, f"a test wrote {sorted(after - before)} into the checkout {REPO}"
