"""The hostile-input battery's harness: every case is one attempt, judged the same way.

A case runs the real ``gaorg`` command (or, for faults that are not a command line, reports what it
saw with :func:`record`) and is judged on three things: did it exit with the status it should (2 for
input the user can fix), did it crash (a Python traceback on stderr, or a status gaorg never uses),
and did it change a store it should have left alone (the DuckDB file, the MLflow store, a state
folder: hashed before and after). The session ends with a summary line per group and a total:
cases tried, how many exited 2, how many were refused as the case demands (exit 2 for input, exit 1
where the environment failed or a gate said no, all with a message; or, for a fault such as a
kill -9, came back as it was), crashed, stores changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from tests.conftest import CliResult

CASES: list[Outcome] = []


@dataclass(frozen=True)
class Outcome:
    """What one hostile case did."""

    group: str
    name: str
    code: int | None  # the exit status (None: not a command line)
    refused: bool  # exit 2 with a message, or refused another way the case names
    crashed: bool
    changed: bool  # a store that had to stay unchanged did not


def record(group: str, name: str, *, refused: bool, crashed: bool = False, changed: bool = False,
           code: int | None = None) -> Outcome:
    """Count a case that is not one command line (a kill -9, a server, an in-process call)."""
    outcome = Outcome(group, name, code, refused, crashed, changed)
    CASES.append(outcome)
    return outcome


def fingerprint(paths: Iterable[Path]) -> dict[str, str]:
    """A hash of every file under ``paths`` (missing paths count as absent), to see what changed."""
    seen: dict[str, str] = {}
    for root in paths:
        root = Path(root)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            if path.is_file():
                seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                seen[str(path)] = "absent"
    return seen


def crashed(result: CliResult) -> bool:
    """A traceback reached the user, or the status is one gaorg never sets on purpose."""
    return "Traceback (most recent call last)" in result.stderr or result.code not in (0, 1, 2)


@pytest.fixture
def hostile(gaorg_home: Path):
    """``hostile(group, name, *argv, expect=2, stores=[...])``: run ``gaorg`` and judge it.

    Asserts the exit status, no traceback, a message on stderr when refused, and that every path in
    ``stores`` hashes the same after as before. Returns the :class:`CliResult` for further checks.
    """

    def attempt(group: str, name: str, *args: str, expect: int = 2, stores: Iterable[Path] = (),
                env: dict[str, str] | None = None, timeout: float = 120, stdin: str | None = None,
                cwd: Path | None = None) -> CliResult:
        stores = list(stores)
        before = fingerprint(stores)
        full_env = {**os.environ, "GAORG_HOME": str(gaorg_home), **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "gaorg.cli", *args], capture_output=True, text=True,
                              errors="replace", timeout=timeout, env=full_env, input=stdin,
                              cwd=cwd or gaorg_home.parent)
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
        changed = fingerprint(stores) != before
        outcome = record(group, name, refused=result.code == expect != 0 and bool(result.stderr.strip()),
                         crashed=crashed(result), changed=changed, code=result.code)
        assert not outcome.crashed, f"{name}: crashed (exit {result.code}):\n{result.stderr[-3000:]}"
        assert result.code == expect, f"{name}: exit {result.code}, expected {expect}:\n{result.stderr[-3000:]}"
        assert not changed, f"{name}: a store changed: {stores}"
        return result

    return attempt


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker hands its cases to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["hostile_cases"] = [asdict(case) for case in CASES]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ARG001
    """The controller gathers each xdist worker's cases as the worker finishes."""
    CASES.extend(Outcome(**case) for case in getattr(node, "workeroutput", {}).get("hostile_cases", []))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    """Print the battery's summary: per group and in total."""
    if not CASES:
        return
    tr = terminalreporter
    tr.section("hostile-input battery")
    groups = sorted({c.group for c in CASES})
    width = max(len(g) for g in groups + ["total"])
    tr.write_line(f"{'group':<{width}}  cases  exit 2  refused or intact  crashed  stores changed")
    for group in [*groups, "total"]:
        cs = [c for c in CASES if group in ("total", c.group)]
        tr.write_line(f"{group:<{width}}  {len(cs):>5}  {sum(c.code == 2 for c in cs):>6}  "
                      f"{sum(c.refused for c in cs):>17}  "
                      f"{sum(c.crashed for c in cs):>7}  {sum(c.changed for c in cs):>14}")


@pytest.fixture
def stored(settings) -> Path:
    """2,000 synthetic hourly BTC bars in the test's DuckDB store; returns the store file."""
    import pandas as pd

    from gaorg.data.store import open_store
    from gaorg.data.synth import synth_market

    b = synth_market("BTC", "1h", 2000, seed=1, exchange="synthetic").bars
    frame = pd.DataFrame({"ts": b.ts, "open": b.open, "high": b.high, "low": b.low, "close": b.close,
                          "volume": b.volume})
    with open_store(settings) as store:
        store.write_bars("synthetic", "BTC", "1h", frame)
    return settings.market_db
