"""``gaorg backtest`` on a real DuckDB store: metrics, report, and bad input (exit 2).

The main paths run as real processes (the ``cli`` fixture); the many bad-input cases run the same
entry point, ``gaorg.cli.main``, in this process (``gaorg_main``) to keep the suite fast: argparse,
the handler and the exit-status policy are all real.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gaorg.backtest.engine import Costs
from gaorg.backtest.metrics import METRIC_KEYS
from gaorg.backtest.run import backtest, backtest_genome
from gaorg.cli import main
from gaorg.data.store import open_store
from gaorg.data.synth import synth_market
from gaorg.strategies.genome import make_genome, save_genome
from tests.conftest import CliResult

GENOME = make_genome(("ema_crossover", {"fast": 12, "slow": 48, "direction": "both"}))


@pytest.fixture
def stored(settings):
    """3,000 synthetic hourly BTC bars with funding in the test's store."""
    market = synth_market("BTC", "1h", 3000, seed=1, exchange="synthetic")
    b = market.bars
    frame = pd.DataFrame(
        {"ts": b.ts, "open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume}
    )
    with open_store(settings) as store:
        store.write_bars("synthetic", "BTC", "1h", frame)
        store.write_funding("synthetic", "BTC", market.funding_ts, market.funding_rate)
    with open_store(settings, read_only=True) as store:
        return store.read_bars("synthetic", "BTC", "1h")


@pytest.fixture
def gaorg_main(gaorg_home, capsys):
    """Run ``gaorg ARGS`` in this process (same parser, handler and error policy as the console script)."""

    def run(*args: str) -> CliResult:
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def write_positions(path: Path, ts, target) -> Path:
    pd.DataFrame({"timestamp": ts, "target": target}).to_csv(path, index=False)
    return path


def test_genome_backtest_prints_exactly_the_metric_keys_and_the_engines_numbers(cli, stored, tmp_path):
    genome_file = save_genome(GENOME, tmp_path / "genome.json")
    out = cli("backtest", "--genome", str(genome_file), "--symbol", "BTC", "--timeframe", "1h",
              "--slippage", "0.0002", "--json")  # fmt: skip
    assert out.code == 0, out.stderr
    assert list(out.json) == ["metrics"]
    metrics = out.json["metrics"]
    assert list(metrics) == list(METRIC_KEYS)
    expected = backtest_genome(GENOME, stored, Costs(slippage=0.0002)).metrics
    assert metrics == pytest.approx(expected, rel=1e-12)
    assert metrics["trades"] > 5 and metrics["funding_paid"] != 0


def test_positions_backtest_with_window_fee_and_report(cli, stored, tmp_path):
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(stored), 60, replace=False))
    target = rng.choice([-1.0, 0.0, 0.5, 1.0], len(rows))
    iso = [str(np.datetime64(int(t), "ms")) + "Z" for t in stored.ts[rows]]
    positions = write_positions(tmp_path / "pos.csv", iso, target)
    report = tmp_path / "out" / "report.html"
    start, end = str(np.datetime64(int(stored.ts[500]), "ms")), int(stored.ts[2500])
    out = cli("backtest", "--positions", str(positions), "--symbol", "BTC", "--timeframe", "1h",
              "--start", start, "--end", str(end), "--fee", "0.001", "--report", str(report), "--json")  # fmt: skip
    assert out.code == 0, out.stderr
    full = np.zeros(len(stored))
    for r, t in zip(rows, target, strict=True):
        full[r:] = t
    expected = backtest(stored.slice(0, 2500), full[:2500], Costs(fee=0.001), start=500).metrics
    assert out.json["metrics"] == pytest.approx(expected, rel=1e-12)
    html = report.read_text()
    assert "plotly" in html and "equity" in html and "drawdown" in html and "long entry" in html


def test_text_output_lists_every_metric(gaorg_main, stored, tmp_path):
    positions = write_positions(tmp_path / "pos.csv", stored.ts[[10, 500]], [1.0, 0.0])
    out = gaorg_main("backtest", "--positions", str(positions), "--symbol", "BTC", "--timeframe", "1h")
    assert out.code == 0, out.stderr
    assert all(key in out.stdout for key in METRIC_KEYS)


@pytest.mark.parametrize(
    "rows,message",
    [
        ({"timestamp": [0, 1], "target": [1.0, float("nan")]}, "NaN"),
        ({"timestamp": [0, 1], "target": [1.0, 1.5]}, r"outside \[-1, 1\]"),
        ({"timestamp": [0, 1], "target": [1.0, "x"]}, "NaN"),
        ({"timestamp": [0, "later"], "target": [1.0, 0.0]}, "cannot read timestamp"),
        ({"timestamp": [0, 0], "target": [1.0, 0.0]}, "repeated"),
        ({"time": [0, 1], "target": [1.0, 0.0]}, "missing column"),
    ],
    ids=["nan", "outside_range", "not_a_number", "bad_time", "duplicate", "no_timestamp_column"],
)
def test_a_bad_positions_file_exits_2_saying_what_is_wrong(gaorg_main, stored, tmp_path, rows, message):
    if "timestamp" in rows and all(isinstance(t, int) for t in rows["timestamp"]):
        rows["timestamp"] = [int(stored.ts[t * 7]) for t in rows["timestamp"]]
    elif "timestamp" in rows:
        rows["timestamp"] = [int(stored.ts[0]), rows["timestamp"][1]]
    path = tmp_path / "pos.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out = gaorg_main("backtest", "--positions", str(path), "--symbol", "BTC", "--timeframe", "1h", "--json")
    assert out.code == 2, out.stderr
    assert out.json["exit_code"] == 2
    assert pd.Series([out.json["error"]]).str.contains(message).all(), out.json["error"]


def test_positions_at_timestamps_that_are_not_bars_of_the_series_exit_2(gaorg_main, stored, tmp_path):
    off_grid = int(stored.ts[5]) + 60_000  # a minute past an hourly bar
    after = int(stored.ts[-1]) + 3_600_000  # after the last bar
    path = write_positions(tmp_path / "pos.csv", [int(stored.ts[0]), off_grid, after], [1.0, 0.0, 1.0])
    out = gaorg_main("backtest", "--positions", str(path), "--symbol", "BTC", "--timeframe", "1h")
    assert out.code == 2
    assert "2 timestamp(s) are not bars of BTC 1h" in out.stderr and "row(s) 2, 3" in out.stderr


def test_a_series_too_short_for_the_genomes_longest_period_exits_2_not_nan(gaorg_main, stored, tmp_path):
    slow = make_genome(("ema_crossover", {"fast": 50, "slow": 2000, "direction": "long"}))
    genome_file = save_genome(slow, tmp_path / "genome.json")
    end = str(int(stored.ts[1500]))  # 1,500 bars: fewer than the 2,000 the slow EMA needs
    args = ("--genome", str(genome_file), "--symbol", "BTC", "--timeframe", "1h", "--end", end, "--json")
    out = gaorg_main("backtest", *args)
    assert out.code == 2
    assert "2000" in out.json["error"] and "1500 bars" in out.json["error"]
    assert out.json["kind"] == "DataTooShortError"


def test_an_invalid_genome_exits_2_before_touching_the_store(gaorg_main, tmp_path):
    bad = tmp_path / "genome.json"
    bad.write_text(
        json.dumps({"schema": "gaorg.genome/1", "entry": {"module": "ema_crosover", "params": {}}})
    )
    out = gaorg_main("backtest", "--genome", str(bad), "--symbol", "BTC", "--timeframe", "1h", "--json")
    assert out.code == 2
    assert "ema_crossover" in out.json["error"]  # did you mean


def test_unknown_series_and_bad_costs_exit_2(gaorg_main, stored, tmp_path):
    positions = write_positions(tmp_path / "pos.csv", stored.ts[[0]], [1.0])
    out = gaorg_main("backtest", "--positions", str(positions), "--symbol", "ETH", "--timeframe", "1h")
    assert out.code == 2 and "ETH" in out.stderr
    args = ("--positions", str(positions), "--symbol", "BTC", "--timeframe", "1h", "--fee", "-0.1")
    out = gaorg_main("backtest", *args)
    assert out.code == 2 and "fee" in out.stderr


def test_a_positions_file_with_nan_exits_2_from_the_console_script(cli, stored, tmp_path):
    path = write_positions(tmp_path / "pos.csv", stored.ts[[3, 9]], [1.0, float("nan")])
    out = cli("backtest", "--positions", str(path), "--symbol", "BTC", "--timeframe", "1h", "--json")
    assert out.code == 2
    assert out.json["kind"] == "InputError" and "row(s) 2" in out.json["error"]
