"""`gaorg live` as a real process: a paper replay that a restart continues, --max-bars counted across
restarts, and bad input refused with exit status 2."""

from __future__ import annotations

import json

import pytest

from gaorg.strategies.genome import save_genome
from tests.integration.live_kit import SYMBOL, bars, genome, store_bars


def seed(home):
    b = bars(200, seed=9)
    store_bars(home, b)
    return b, save_genome(genome(), home / "g.json")


def test_a_paper_replay_restarts_where_it_stopped_and_max_bars_counts_across_restarts(cli, gaorg_home):
    b, g = seed(gaorg_home)
    args = ("live", "--genome", str(g), "--symbol", SYMBOL, "--timeframe", "1h", "--start", "2023-01-03", "--json")
    first = cli(*args, "--max-bars", "40")
    assert first.code == 0, first.stderr
    assert first.json["bars"] == 40 and first.json["broker"] == "paper"
    second = cli(*args, "--max-bars", "100")
    assert second.code == 0, second.stderr
    assert second.json["bars"] == 60 and second.json["total_bars"] == 100
    assert second.json["last_ts"] == int(b.ts[48 + 99])  # 2023-01-03 is bar 48: no bar skipped or repeated
    again = cli(*args, "--max-bars", "40")  # as if it counted this run's bars: it says what to give instead
    assert again.code == 0 and again.json["bars"] == 0, again.stderr
    assert again.json["stopped"].endswith("(100 bars): --max-bars counts across restarts; give more than 100 to go on")


def test_ctrl_c_says_what_the_live_state_kept_and_how_to_go_on(gaorg_home, capsys, monkeypatch):
    """It said only 'interrupted'. The state keeps the bars: the same command goes on after them."""
    from gaorg.cli import main
    from gaorg.live.executor import Executor

    b, g = seed(gaorg_home)
    args = ["live", "--genome", str(g), "--symbol", SYMBOL, "--timeframe", "1h", "--start", "2023-01-03", "--json"]
    real = Executor.step
    steps = []

    def step_then_ctrl_c(self, bar, stale=False, arrived=None):
        if len(steps) == 30:
            raise KeyboardInterrupt
        steps.append(bar.ts)
        return real(self, bar, stale, arrived)

    monkeypatch.setattr(Executor, "step", step_then_ctrl_c)
    assert main(args) == 130
    assert "stopped by Ctrl-C: its live state keeps every bar it finished" in capsys.readouterr().err
    monkeypatch.setattr(Executor, "step", real)
    assert main([*args, "--max-bars", "40"]) == 0
    went_on = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert went_on["bars"] == 10 and went_on["last_ts"] == int(b.ts[48 + 39])  # bars 31..40: none again
    steps.clear()
    monkeypatch.setattr(Executor, "step", step_then_ctrl_c)
    assert main([*args, "--fresh"]) == 130  # the same command again would forget the bars again
    assert "; the same command without --fresh goes on after the last bar" in capsys.readouterr().err


def test_bad_input_exits_2_with_the_fix(cli, gaorg_home):
    _, g = seed(gaorg_home)
    cfg = gaorg_home / "live.yaml"
    cfg.write_text("limits:\n  max_leverag: 2\n")
    bad = cli("live", "--genome", str(g), "--symbol", SYMBOL, "--timeframe", "1h", "--config", str(cfg))
    assert bad.code == 2 and "did you mean 'max_leverage'" in bad.stderr
    no_keys = cli("live", "--genome", str(g), "--symbol", SYMBOL, "--timeframe", "1h", "--exchange", "hyperliquid",
                  env={"GAORG_HYPERLIQUID_WALLET": "", "GAORG_HYPERLIQUID_PRIVATE_KEY": ""})
    assert no_keys.code == 2 and "GAORG_HYPERLIQUID_PRIVATE_KEY" in no_keys.stderr


def test_gaorg_live_on_paper_ends_with_the_equity_of_gaorg_backtest_on_the_same_series(cli, gaorg_home):
    _, g = seed(gaorg_home)
    common = ("--genome", str(g), "--symbol", SYMBOL, "--timeframe", "1h", "--start", "2023-01-03", "--json")
    live = cli("live", *common)
    assert live.code == 0, live.stderr
    back = cli("backtest", *common)
    assert back.code == 0, back.stderr
    assert live.json["bars"] == 200 - 48
    assert live.json["equity"] == pytest.approx(back.json["metrics"]["final_equity"], rel=1e-12)
    assert live.json["orders"] >= back.json["metrics"]["trades"] - 1  # each entry was an order


def test_fresh_forgets_a_paper_live_state_and_is_refused_on_an_exchange(cli, gaorg_home):
    """``--fresh`` (paper only): the replay starts again from flat at its start, as the first run did."""
    b, g = seed(gaorg_home)
    args = ("live", "--genome", str(g), "--symbol", SYMBOL, "--timeframe", "1h", "--start", "2023-01-03", "--json")
    first = cli(*args, "--max-bars", "40")
    assert cli(*args, "--max-bars", "70").json["total_bars"] == 70
    fresh = cli(*args, "--max-bars", "40", "--fresh")
    assert fresh.code == 0, fresh.stderr
    assert (fresh.json["forgot_bars"], fresh.json["bars"], fresh.json["total_bars"]) == (70, 40, 40)
    assert fresh.json["last_ts"] == first.json["last_ts"] == int(b.ts[48 + 39])  # the same bars again
    assert fresh.json["equity"] == first.json["equity"]  # from flat, the same decisions
    assert "started afresh: forgot 40 bars of this live state" in cli(*args[:-1], "--max-bars", "40", "--fresh").stdout
    keys = {"GAORG_HYPERLIQUID_WALLET": "0x" + "1" * 40, "GAORG_HYPERLIQUID_PRIVATE_KEY": "0x" + "2" * 64}
    refused = cli(*args, "--exchange", "hyperliquid", "--fresh", env=keys)
    assert refused.code == 2 and "use it with --paper only" in refused.stderr, refused.stderr
