"""`gaorg evolve --universe EXCHANGE:KIND --min-history D --top N`: a basket by rule, resolved once
from the store, recorded in the run, the same on resume; series of different spans get their own
folds and one hold-out time (a series delisted before it still counts in its folds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaorg.cli import main
from gaorg.data.store import MarketStore
from gaorg.data.synth import synth_market
from gaorg.evolve.checkpoint import load_state

H = 3_600_000
N = 720  # 30 days of 1h bars
T0 = 1_735_689_600_000  # 2025-01-01
HOLDOUT = 576  # the hold-out of a 720-bar span starts at bar 576
# symbol: (first bar, bars, volume factor, factor in the hold-out); C is listed late, D delisted before the
# hold-out, E too young; H is traded heavily only in the hold-out (the rule must not see that)
SERIES = {"A/USDC:USDC": (0, N, 1000.0), "B/USDC:USDC": (0, N, 100.0), "C/USDC:USDC": (300, N - 300, 800.0),
          "D/USDC:USDC": (0, 451, 600.0), "E/USDC:USDC": (600, N - 600, 5000.0), "F/USDC:USDC": (0, N, 1.0),
          "H/USDC:USDC": (0, N, 10.0, 1e6), "PURR/USDC": (0, N, 9000.0)}
RUN = ("--timeframes", "1h", "--population", "8", "--generations", "1", "--folds", "2", "--workers", "0",
       "--no-progress", "--json")


def write(store: MarketStore, symbol: str, first: int, bars: int, factor: float, later: float | None = None,
          exchange: str = "hyperliquid") -> float:
    """Store the series; its notional volume before the hold-out."""
    b = synth_market(symbol, "1h", bars, seed=5, start_ms=T0 + first * H, exchange=exchange).bars
    cols = b.columns()
    before = np.asarray(cols["ts"]) < T0 + HOLDOUT * H
    cols["volume"] = np.asarray(cols["volume"]) * np.where(before, factor, later or factor)
    store.write_bars(exchange, symbol, "1h", cols)
    return float(np.sum((cols["volume"] * cols["close"])[before]))


@pytest.fixture
def stored(gaorg_home: Path) -> dict[str, float]:
    gaorg_home.mkdir(parents=True, exist_ok=True)
    with MarketStore(gaorg_home / "market.duckdb") as st:
        notional = {s: write(st, s, *spec) for s, spec in SERIES.items()}
        write(st, "X/USDT:USDT", 0, N, 9000.0, exchange="binance")
        assert store_holdout(st) == T0 + HOLDOUT * H
    return notional


def store_holdout(st: MarketStore) -> int:
    from gaorg.evolve.folds import holdout_time

    return holdout_time([st.read_bars("hyperliquid", s, "1h") for s in SERIES], 0.2)


def evolve(capsys, *args: str) -> tuple[int, dict, str]:
    code = main(["evolve", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out.strip().splitlines()[-1]) if out.strip() else {}), err


def test_a_rule_basket_is_resolved_once_recorded_and_kept_on_resume(capsys, stored, gaorg_home):
    code, got, err = evolve(capsys, "--universe", "hyperliquid:perp", "--min-history", "15d", "--top", "4", *RUN)
    # perpetuals of hyperliquid with 15 days of history (not E, not the spot pair, not binance's),
    # the 4 with the most notional volume in the 30 days before the hold-out (not H, traded in the hold-out)
    eligible = [s for s in SERIES if ":" in s and s != "E/USDC:USDC"]
    expected = sorted(eligible, key=lambda s: -stored[s])[:4]
    assert code == 0, err
    assert set(expected) == {"A/USDC:USDC", "B/USDC:USDC", "C/USDC:USDC", "D/USDC:USDC"}  # not H, not F
    basket = got["basket"]
    assert (basket["symbols"], basket["exchange"], basket["universe"]) == (
        expected, "hyperliquid", "hyperliquid:perp min-history=15d top=4")
    assert basket["volume_until"] == "2025-01-25T00:00:00Z"
    assert {c["symbol"]: c["why"] for c in basket["candidates"] if c["why"]} == {
        "E/USDC:USDC": "5 days of history, under 15d", "F/USDC:USDC": "not in the top 4 by volume",
        "H/USDC:USDC": "not in the top 4 by volume"}
    assert ("basket hyperliquid:perp min-history=15d top=4: 4 of 7 stored series (1 start late, 1 end early; "
            "volume ranked before 2025-01-25T00:00:00Z, the hold-out)") in err
    run_id = err.split("\n", 1)[0].split()[1]
    state = load_state(gaorg_home / "checkpoints" / run_id)
    assert state.config.symbols == tuple(expected) and state.config.universe.startswith("hyperliquid:perp")
    # what --register logs as the MLflow params config.* (tests/integration/test_tracking.py holds that)
    params = state.config.to_params()
    assert (params["universe"], params["symbols"]) == ("hyperliquid:perp min-history=15d top=4", ",".join(expected))
    held = got["front"][0]["holdout_per_asset"]
    assert "D/USDC:USDC" not in held and set(held) == set(expected) - {"D/USDC:USDC"}  # delisted before the hold-out
    # the store grows a far more traded perpetual; the resumed run keeps its recorded basket
    with MarketStore(gaorg_home / "market.duckdb") as st:
        write(st, "G/USDC:USDC", 0, N, 1e6)
    code, again, err = evolve(capsys, "--resume", run_id, "--workers", "0", "--no-progress", "--json")
    assert code == 0, err
    assert again["basket"]["symbols"] == expected and "stored series" not in err  # not resolved again
    assert (f"basket as recorded by run {run_id} (hyperliquid:perp min-history=15d top=4; not resolved again): "
            f"4 series: {', '.join(expected)}") in err


@pytest.mark.parametrize("args, says", [
    (("--universe", "hyperliquid:perp", "--min-history", "2y"), "the longest, A/USDC:USDC, spans 30 days"),
    (("--universe", "kraken:perp"), "no perp series of 'kraken'"),
])
def test_a_rule_no_stored_series_meets_exits_2_and_says_why(capsys, stored, gaorg_home, args, says):
    code, _, err = evolve(capsys, *args, "--workers", "0", "--no-progress")
    assert code == 2 and says in err, err
    assert not (gaorg_home / "checkpoints").exists()


@pytest.mark.parametrize("args, says", [
    (("--universe", "hyperliquid"), "EXCHANGE:KIND"),
    (("--universe", "hyperliquid:perp", "--min-history", "1 year"), "not a duration"),
    (("--universe", "hyperliquid:perp", "--min-history", "0d"), "'0d' asks for no history; give a positive"),
    (("--universe", "hyperliquid:perp", "--min-history", "1M"), "--min-history '1M' is not a duration"),
    (("--universe", "hyperliquid:perp", "--top", "0"), "--top 0"),
    (("--universe", "hyperliquid:perp", "--symbols", "A/USDC:USDC"), "drop --symbols"),
    (("--top", "3", "--symbols", "A/USDC:USDC"), "add --universe"),
    (("--resume", "r1", "--top", "3"), "drop --top"),
    (("--universe", "hyperliquid:perp", "--timeframes", ","), "timeframes: give at least one timeframe"),  # was IndexError
])
def test_bad_rules_exit_2_and_start_no_run(capsys, gaorg_home, args, says):
    code, _, err = evolve(capsys, *args, "--workers", "0", "--no-progress")
    assert code == 2 and says in err, err
    assert not (gaorg_home / "checkpoints").exists()


@pytest.mark.parametrize("args, says", [
    (("--holdout", "2"), "holdout: 2.0 must be a fraction"),
    (("--timeframes", "1h,4h"), "stages go coarse to fine"),
    (("--generations", "0"), "generations: 0"),
])
def test_a_rule_beside_a_bad_option_exits_2_before_the_rule_reads_the_store(capsys, stored, gaorg_home, args, says):
    # the rule used to be resolved (and its basket printed) with the bad --holdout or --timeframes first
    code, _, err = evolve(capsys, "--universe", "hyperliquid:perp", *args, "--workers", "0", "--no-progress")
    assert code == 2 and says in err, err
    assert "basket hyperliquid" not in err
    assert not (gaorg_home / "checkpoints").exists()
