"""The shape of the code base: small modules, a light ``import gaorg``."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

MAX_LINES = 500
HEAVY = ("numba", "pandas", "mlflow", "dask", "distributed", "ccxt", "vectorbt", "duckdb", "sklearn", "deap")


def test_no_module_of_gaorg_passes_500_lines():
    too_long = {
        str(path.relative_to(REPO)): n
        for path in (REPO / "gaorg").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long, f"split these modules along a seam that names itself: {too_long}"


def test_pipelines_and_notebook_helpers_also_stay_under_500_lines():
    too_long = {
        str(path.relative_to(REPO)): n
        for path in (REPO / "pipelines").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long


def test_import_gaorg_and_its_cli_load_no_heavy_library():
    code = (
        "import sys, gaorg, gaorg.cli, gaorg.config, gaorg.errors\n"
        "gaorg.cli.build_parser()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"loaded at import: {out.stdout.strip()}"


def test_import_gaorg_takes_under_half_a_second():
    code = "import time; t=time.perf_counter(); import gaorg, gaorg.cli; print(time.perf_counter()-t)"
    best = min(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    )
    assert best < 0.5, f"import gaorg took {best:.3f}s"
