"""The discovery benchmark's smoke run: the whole path on planted and null markets, a few seeds.

Real components: a DuckDB market store, an MLflow sqlite store, the evolution, the registry and
the gates. Null markets (a random walk, a bootstrap of real returns, an edge that stops where the
hold-out starts) must promote nothing; strong planted edges must be found at least once; and the
gates replayed on the recorded candidates (how the threshold curve is drawn) must pick exactly
what the real gates promoted.
"""

from __future__ import annotations

import math

import mlflow
import pytest

from gaorg.config import Settings
from gaorg.research.discovery import (
    Cell,
    RunRecord,
    Setup,
    gate_curve,
    oracle_ceiling,
    replay,
    run_discovery,
    summarise,
    table,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    home = tmp_path_factory.mktemp("discovery") / "home"
    settings = Settings(home=home, tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    out = []
    for cell in (Cell("walk", 0.0, 1), Cell("bootstrap", 0.0, 1), Cell("decay", 0.0015, 3),
                 Cell("corrwalk", 0.0, 3), Cell("trend", 0.0025, 3), Cell("breakout", 0.0025, 3)):
        out += run_discovery(settings, cell, (1, 2))
    return settings, out


def test_null_markets_promote_nothing_and_planted_edges_are_found(records):
    _, recs = records
    nulls = [r for r in recs if r.cell.null]
    planted = [r for r in recs if not r.cell.null]
    assert len(nulls) == 8 and [r.promoted for r in nulls] == [None] * 8
    assert sum(r.discovered for r in planted) >= 1
    for r in planted:
        assert r.oracle_sharpe > 3.0  # the planted rule earns on the fresh bars
        if r.discovered:
            assert r.fresh_sharpe >= 0.5 * r.oracle_sharpe and r.promoted is not None
    # the decayed edge was real in the walk-forward folds: the hold-out gate is what refused it
    decay = [r for r in recs if r.kind == "decay"]
    assert all(max(c.deflated_sharpe for c in r.candidates) >= 0.95 for r in decay)
    assert all(c.holdout_dsr < 0.95 for r in decay for c in r.candidates)


def test_replaying_the_gates_on_the_record_picks_what_the_real_gates_promoted(records):
    settings, recs = records
    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri)
    for r in recs:
        assert replay(r)[0] == r.promoted
        assert replay(r)[1] == r.discovered
        name = [m.name for m in client.search_registered_models() if m.name.endswith(f"x{r.assets}s{r.seed}")
                and m.name.startswith(f"disc-{r.kind[:3]}")]
        assert len(name) == 1
        aliases = {a: str(v) for a, v in client.get_registered_model(name[0]).aliases.items()}
        assert aliases.get("production") == r.promoted
        assert r.evaluations >= r.trials > 0 and r.seconds > 0


def test_the_summary_the_curve_and_the_record_round_trip(records):
    _, recs = records
    rows = summarise(recs)
    assert {row["cell"] for row in rows} == {r.cell.label for r in recs}
    walk = next(row for row in rows if row["kind"] == "walk")
    assert walk["fdr"] == 0.0 and walk["power"] is None and walk["runs"] == 2
    assert "| walk x1 | 2 | 0 |  | 0% (0/2) |" in table(rows)
    curve = gate_curve(recs, (0.0, 0.95))
    assert curve[1]["fdr walk"] == 0.0
    # lowering both DSR gates to 0 can only promote more noise, never less
    for key in (k for k in curve[0] if k.startswith("fdr")):
        assert curve[0][key] >= curve[1][key]
    again = RunRecord.from_dict(recs[0].to_dict())
    assert again == recs[0] or (math.isnan(again.fresh_sharpe) and again.candidates == recs[0].candidates)


def test_the_hold_out_bounds_power_the_planted_rule_itself_fails_a_short_one():
    # 800 hold-out bars: the trend basket's rule (Sharpe ~12) passes every time, the single-asset
    # reversion rule (Sharpe ~5, 800 returns: about 1.5 standard errors) seldom; a basket of three
    # with four times the history (9,600 returns) always.
    def passes(cell, seeds, bars):
        got = [oracle_ceiling(cell, s, Setup(bars=bars)) for s in seeds]
        return sum(sharpe > 0 and dsr >= 0.95 for sharpe, dsr in got)

    assert passes(Cell("trend", 0.0015, 3), range(1, 6), 4000) == 5
    assert passes(Cell("reversion", 0.0015, 1), range(1, 11), 4000) <= 3
    assert passes(Cell("reversion", 0.0015, 3), range(1, 11), 16000) == 10
    rec = RunRecord("reversion", 0.0015, 3, 1, None, False, math.nan, 5.0, 10, 10, 1.0, ())
    rows = summarise([rec], ceiling=lambda cell, seed: True)
    assert rows[0]["ceiling"] == 1.0 and "| 100% |" in table(rows)
