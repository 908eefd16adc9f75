"""Every figure gaorg writes renders from the file alone: headless Chromium, no network, a screenshot.

Covered: the MLflow artifacts ``front.html`` and ``equity.html`` and an executed notebook exported
to HTML with nbconvert (as ``gaorg nightly`` and the tests execute it). The nightly pipeline writes
no HTML of its own (its report is the executed notebook). Each figure must show drawn, coloured
pixels inside its outline: a figure waiting for plotly.js or a widget manager from a CDN is blank.
"""

from __future__ import annotations

import pytest

from gaorg.strategies.genome import make_genome
from tests.browser.chromium import install
from tests.browser.shots import figure_boxes, figure_count
from tests.notebooks.kit import NOTEBOOKS, run_notebook, seed_store


@pytest.fixture(scope="module")
def chromium() -> str:
    path, why = install()
    if path is None:
        pytest.skip(f"no headless Chromium: {why}")
    return path


def assert_every_figure_drawn(chromium, page, png, at_least):
    html = page.read_text()
    assert 'src="https://cdn.plot.ly' not in html  # (the pixels below are the real test)
    n = figure_count(html)
    assert n >= at_least, f"{page.name}: {n} figures, expected at least {at_least}"
    boxes = figure_boxes(chromium, page, png)
    assert len(boxes) == n, f"{page.name}: {n} figures in the HTML, {len(boxes)} outlined in {png}"
    blank = [b for b in boxes if not b.ok()]
    assert not blank, f"{page.name}: figures not drawn offline (see {png}): {blank}"


def test_mlflow_front_and_equity_artifacts_render_offline(chromium, settings, tmp_path):
    from gaorg.backtest.engine import Costs
    from gaorg.tracking.artifacts import write_equity_html, write_front_html
    from gaorg.tracking.fixtures import hand_made_result, store_synthetic

    data = store_synthetic(settings, ["SYNTH-A"], n_bars=800, seed=2)
    genomes = [make_genome(("ema_crossover", {"fast": f, "slow": s, "direction": "long"}))
               for f, s in ((5, 40), (12, 60))]
    front = hand_made_result(data, genomes).front
    front_html = write_front_html(front, tmp_path / "front.html")
    equity_html = write_equity_html(front, {"1h": list(data.values())}, Costs(), tmp_path / "equity.html", {})
    assert equity_html is not None
    assert_every_figure_drawn(chromium, front_html, tmp_path / "front.png", 1)
    assert_every_figure_drawn(chromium, equity_html, tmp_path / "equity.png", 1)


@pytest.mark.slow
def test_an_executed_notebook_exported_to_html_renders_every_figure_offline(chromium, gaorg_home, tmp_path):
    import nbconvert
    import nbformat

    seed_store(gaorg_home, ("SYNTH-BTC",), n_bars=400)
    executed = tmp_path / "01.ipynb"
    run_notebook(NOTEBOOKS / "01_data_explorer.ipynb", executed, {"resample_to": ["4h", "1d"]}, gaorg_home)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nbformat.read(str(executed), as_version=4))
    page = tmp_path / "01.html"
    page.write_text(body)
    # the candles, and the two resampled views drawn by .show()
    assert_every_figure_drawn(chromium, page, tmp_path / "01.png", 3)
