"""A paper replay of a registered version says which bars it replays, starts at the version's hold-out
(not on the training bars), shows its orders, fills and equity, and says why when nothing trades."""

from __future__ import annotations

import mlflow
import pytest

from gaorg.config import Settings
from gaorg.strategies.genome import make_genome, save_genome
from gaorg.tracking.fixtures import hand_made_result, store_synthetic
from gaorg.tracking.log import log_evolution
from gaorg.tracking.recorder import MlflowRecorder
from gaorg.tracking.registry import get_version
from gaorg.tracking.rescore import rescore_basis
from tests.notebooks import kit

mlflow_template, ready_home = kit.mlflow_template, kit.ready_home  # fixtures
GENOME = make_genome(("ema_crossover", {"fast": 5, "slow": 40, "direction": "both"}))


@pytest.mark.slow
def test_a_registered_versions_replay_starts_at_its_hold_out_and_shows_orders_fills_and_equity(cli, ready_home):
    settings = Settings.from_env()
    data = store_synthetic(settings, ("BTC",), "1h", 1200, seed=7)
    out = log_evolution(hand_made_result(data, [GENOME]), MlflowRecorder(settings), register="trend")
    version = str(out["versions"][0]["version"])
    mlflow.MlflowClient(settings.tracking_uri).set_registered_model_alias("trend", "production", version)
    info = get_version(mlflow.MlflowClient(settings.tracking_uri), settings, "trend", version)
    holdout_start = rescore_basis(info, settings)[0][0][3]
    bars = data[("BTC", "1h")]
    assert int(bars.ts[0]) < holdout_start  # the series' first bars are training bars

    res = cli("live", "--model", "trend", "--symbol", "BTC", "--timeframe", "1h", "--paper", "--max-bars", "120",
              "--json")
    assert res.code == 0, res.stderr
    s = res.json
    assert s["replay"]["first_ts"] == s["first_ts"] == holdout_start and s["replay"]["bars"] == 120
    assert s["orders"] > 0 and s["fills"] > 0 and s["idle"] is None
    assert s["start_equity"] == 10000 and s["equity"] != s["start_equity"]
    assert f"replayed 120 bars {s['replay']['from']} .. {s['replay']['to']}" in res.stderr
    assert f"from v{version}'s hold-out start" in res.stderr and "fill " in res.stderr and "10000.00 -> " in res.stderr

    # a genome file has no hold-out: from the first stored bar, and a flat run says why
    path = save_genome(GENOME, ready_home / "g.json")
    flat = cli("live", "--genome", str(path), "--symbol", "BTC", "--timeframe", "1h", "--max-bars", "20", "--json")
    assert flat.code == 0, flat.stderr
    assert flat.json["first_ts"] == int(bars.ts[0]) and flat.json["orders"] == 0
    why = f"flat for 20 bars: its entry needs {GENOME.lookback()} bars of warm-up"
    assert flat.json["idle"].startswith(why) and f"no order: {why}" in flat.stderr
    assert "from the first stored bar" in flat.stderr


@pytest.mark.slow
def test_a_basket_replay_starts_each_symbol_at_the_versions_hold_out_and_says_so(cli, ready_home):
    settings = Settings.from_env()
    data = store_synthetic(settings, ("BTC", "ETH"), "1h", 1200, seed=7)
    other = store_synthetic(settings, ("SOL",), "1h", 1200, seed=11)[("SOL", "1h")]  # not in the version's basket
    out = log_evolution(hand_made_result(data, [GENOME]), MlflowRecorder(settings), register="trend")
    version = str(out["versions"][0]["version"])
    mlflow.MlflowClient(settings.tracking_uri).set_registered_model_alias("trend", "production", version)
    info = get_version(mlflow.MlflowClient(settings.tracking_uri), settings, "trend", version)
    starts = {sym: ms for _ex, sym, _tf, ms in rescore_basis(info, settings)[0]}
    assert set(starts) == {"BTC", "ETH"} and all(int(data[(s, "1h")].ts[0]) < starts[s] for s in starts)

    res = cli("live", "--model", "trend", "--symbol", "BTC,ETH", "--timeframe", "1h", "--paper", "--max-bars", "50",
              "--json")
    assert res.code == 0, res.stderr
    s = res.json
    assert s["first_ts"] == s["replay"]["first_ts"] == min(starts.values()) and s["replay"]["bars"] == s["bars"] == 100
    assert f"replayed 100 bars {s['replay']['from']} .. {s['replay']['to']} (from v{version}'s hold-out start" in res.stderr

    # a symbol outside the basket replays from its first stored bar, and the run says which did what
    mixed = cli("live", "--model", "trend", "--symbol", "BTC,SOL", "--timeframe", "1h", "--paper", "--max-bars", "5",
                "--json")
    assert mixed.code == 0, mixed.stderr
    assert mixed.json["first_ts"] == int(other.ts[0]) < starts["BTC"]
    assert f"BTC: from v{version}'s hold-out start" in mixed.stderr
    assert "SOL: from the first stored bar (SOL is not in" in mixed.stderr
