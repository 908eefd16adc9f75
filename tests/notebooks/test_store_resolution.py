"""A kernel started in notebooks/ (``jupyter lab notebooks/``, ``papermill --cwd notebooks``) opens the
checkout's store, the one ``make demo`` filled from the checkout's root, and says so first."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.notebooks.kit import NOTEBOOKS, run_notebook_in, seed_store


@pytest.mark.slow
def test_a_kernel_started_in_notebooks_opens_the_store_of_the_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("GAORG_HOME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # a checkout: pyproject.toml naming gaorg, the package folder, the notebooks, and the store
    # `make demo` leaves at its root (the real checkout's own .gaorg is never touched)
    repo = tmp_path / "checkout"
    (repo / "gaorg").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[project]\nname = "gaorg"\nversion = "0"\n')
    (repo / "notebooks").mkdir()
    notebook = shutil.copy(NOTEBOOKS / "01_data_explorer.ipynb", repo / "notebooks")
    seed_store(repo / ".gaorg", ("SYNTH-BTC",), n_bars=300)
    out = tmp_path / "out"
    nb = run_notebook_in(notebook, tmp_path / "01.ipynb", {"resample_to": ["4h"], "output_dir": str(out)},
                         cwd=repo / "notebooks")
    record = json.loads((out / "record.json").read_text())
    assert record["summary"]["rows"] == 300
    assert not (repo / "notebooks" / ".gaorg").exists()
    # the notebook's first output names the store it opened, and why that one
    first = next(o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert first["output_type"] == "stream"
    assert first["text"].startswith(f"gaorg store: {repo / '.gaorg'} (the store of the gaorg checkout {repo})")
