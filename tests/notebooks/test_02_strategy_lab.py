"""02_strategy_lab runs top to bottom under papermill, with the parameters it was given."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from gaorg.backtest.engine import Costs
from gaorg.backtest.run import backtest_genome
from gaorg.data.store import MarketStore
from gaorg.strategies.genome import load_genome, parse_genome
from tests.notebooks.kit import NOTEBOOKS, run_notebook, seed_store

NOTEBOOK = NOTEBOOKS / "02_strategy_lab.ipynb"


@pytest.mark.slow
def test_lab_backtests_the_injected_modules_and_costs_and_saves_the_genome(gaorg_home, tmp_path):
    seed_store(gaorg_home, ("SYNTH-BTC", "SYNTH-ETH"), n_bars=1200)
    out = tmp_path / "out"
    nb = run_notebook(NOTEBOOK, tmp_path / "02.ipynb", {
        "symbol": "SYNTH-ETH", "entry": "donchian_breakout", "filters": ["sma_trend"], "fee": 0.001,
        "output_dir": str(out)}, gaorg_home)
    record = json.loads((out / "record.json").read_text())
    genome = parse_genome(record["genome"])
    assert genome.modules == ("donchian_breakout", "sma_trend")
    # the saved file is the same strategy
    assert load_genome(out / "genome.json").canonical_hash() == record["genome_hash"] == genome.canonical_hash()
    # the metrics are those of this genome on SYNTH-ETH with the injected fee (not the default fee)
    with MarketStore(gaorg_home / "market.duckdb", read_only=True) as store:
        bars = store.read_bars(None, "SYNTH-ETH", "1h")
    expected = backtest_genome(genome, bars, Costs(fee=0.001)).metrics
    assert record["metrics"]["total_return"] == pytest.approx(expected["total_return"], rel=1e-12)
    assert record["metrics"]["fees_paid"] == pytest.approx(expected["fees_paid"], rel=1e-12)
    assert record["metrics"]["trades"] > 0
    assert record["buy_and_hold"]["trades"] == 1
    # like with like: gaorg with funding off and vectorbt (which charges none) agree, and the notebook says so
    assert record["vectorbt_agrees"] is True
    assert record["vectorbt_total_return"] == pytest.approx(record["gaorg_total_return_no_funding"], abs=1e-9)
    no_funding = backtest_genome(genome, dataclasses.replace(bars, funding=np.zeros(len(bars))), Costs(fee=0.001))
    assert record["gaorg_total_return_no_funding"] == pytest.approx(no_funding.metrics["total_return"], rel=1e-12)
    # then what funding adds: this market charges funding, so gaorg's own figure differs from vectorbt's
    assert record["metrics"]["funding_paid"] != 0
    assert record["metrics"]["total_return"] != pytest.approx(record["vectorbt_total_return"], abs=1e-6)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout")
    assert "like with like (funding off" in printed and "they agree" in printed and "what funding adds" in printed
    # the slow vectorbt cell is not silent: each step announced, then timed
    assert "vectorbt: importing" in printed and "vectorbt: computing its stats" in printed and " s\n" in printed
