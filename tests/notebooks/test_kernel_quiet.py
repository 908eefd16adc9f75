"""Kernels gaorg starts (papermill through gaorg.nightly.execute_notebook) say nothing on stderr:
no "Kernel is running over TCP without encryption" at every run."""

from __future__ import annotations

import nbformat

from gaorg.config import Settings
from gaorg.nightly import execute_notebook


def test_a_notebook_gaorg_runs_starts_its_kernel_without_the_unencrypted_tcp_warning(gaorg_home, tmp_path, capfd):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, str(path))
    execute_notebook(path, tmp_path / "out.ipynb", {}, Settings.from_env(), cell_timeout=60)
    err = capfd.readouterr().err  # the kernel process writes to this process's stderr (fd 2)
    assert "without encryption" not in err, err
    out = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    assert out.cells[0].outputs[0]["text"].strip() == "42"  # the kernel still ran the cell
