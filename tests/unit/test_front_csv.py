"""front.csv: a member's hold-out figures are the basket's, blank when the run held nothing out."""

from __future__ import annotations

import csv

from gaorg.evolve.result import FrontMember
from gaorg.strategies.genome import make_genome
from gaorg.tracking.artifacts import write_front_csv


def _member(holdout: dict, per_asset: dict) -> FrontMember:
    genome = make_genome(("ema_crossover", {"fast": 5, "slow": 20, "direction": "long"}))
    return FrontMember(genome, "h" * 16, 1.0, 0.1, 0.5, 0.9, holdout, per_asset, timeframe="1h")


def test_front_csv_writes_the_basket_hold_out_and_blanks_where_there_is_none(tmp_path):
    per = {"A": {"sharpe": 1.0, "max_drawdown": 0.1, "trades": 3.0, "total_return": 0.2},
           "B": {"sharpe": 2.0, "max_drawdown": 0.3, "trades": 4.0, "total_return": 0.4}}
    held = _member({"sharpe": 1.5}, per)
    none = _member({}, {})  # --holdout 0: nothing held out
    rows = list(csv.DictReader(write_front_csv([held, none], tmp_path / "front.csv").read_text().splitlines()))
    want = held.holdout_summary()
    assert float(rows[0]["holdout_sharpe"]) == want["sharpe"]
    assert float(rows[0]["holdout_max_drawdown"]) == want["max_drawdown"]
    assert float(rows[0]["holdout_trades"]) == want["trades"]
    assert [rows[1][k] for k in ("holdout_sharpe", "holdout_total_return", "holdout_max_drawdown", "holdout_trades")] == [
        "", "", "", ""
    ]
