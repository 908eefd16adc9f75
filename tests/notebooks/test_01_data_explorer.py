"""01_data_explorer runs top to bottom under papermill, with the parameters it was given."""

from __future__ import annotations

import json
import sys

import papermill
import pytest

from tests.notebooks.kit import NOTEBOOKS, run_notebook, seed_store

NOTEBOOK = NOTEBOOKS / "01_data_explorer.ipynb"


@pytest.mark.slow
def test_explorer_runs_with_injected_series_range_and_views(gaorg_home, tmp_path):
    seed_store(gaorg_home, ("SYNTH-BTC", "SYNTH-ETH"), n_bars=600)
    out = tmp_path / "out"
    nb = run_notebook(NOTEBOOK, tmp_path / "01.ipynb", {
        "symbol": "SYNTH-ETH", "timeframe": "1h", "start": "2023-01-03", "end": "2023-01-13",
        "resample_to": ["4h"], "output_dir": str(out)}, gaorg_home)
    record = json.loads((out / "record.json").read_text())
    summary = record["summary"]
    # the injected symbol, range and views were the ones used: 10 days of 1h bars, 4h view of them
    assert (summary["symbol"], summary["timeframe"], summary["rows"]) == ("SYNTH-ETH", "1h", 240)
    assert summary["first"] == "2023-01-03T00:00:00Z" and summary["last"] == "2023-01-12T23:00:00Z"
    assert summary["resampled"] == {"4h": 60}
    assert record["params"]["resample_to"] == ["4h"]
    # the kernel is this project's interpreter
    assert record["prefix"] == sys.prefix
    # the candles figure is in the executed notebook (three panels: price, volume, funding)
    figures = [o for c in nb.cells for o in c.get("outputs", []) if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 2
    kinds = [t["type"] for t in figures[0]["data"]["application/vnd.plotly.v1+json"]["data"]]
    assert kinds == ["candlestick", "bar", "bar"]


def test_explorer_fails_at_its_first_cell_on_a_parameter_of_the_wrong_type(gaorg_home, tmp_path):
    # (an unknown symbol failing the same cell is tested through the nightly pipeline)
    seed_store(gaorg_home, ("SYNTH-BTC",), n_bars=50)
    with pytest.raises(papermill.PapermillExecutionError) as err:
        run_notebook(NOTEBOOK, tmp_path / "01.ipynb", {"timeframe": 60}, gaorg_home)
    assert err.value.ename == "ConfigError"
    assert "notebook parameter.timeframe: expected str, got 60" in err.value.evalue
    assert "notebook_params" in err.value.source  # the first cell after the parameters
