"""`gaorg live --exchange hyperliquid --feed exchange --api-url <stand-in>` as a real process that trades
on bars pushed over the stand-in's websocket (no poll after the history)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from gaorg.data.bars import Bars
from gaorg.strategies.genome import save_genome
from gaorg.testing.hyperliquid_exchange import StandInExchange
from tests.integration.live_kit import SYMBOL, bars, genome

M = 60_000
WALLET = "0x" + "ab" * 20
KEY = "0x" + "5e" * 32


def recent_minutes(n: int, last_ts: int) -> Bars:
    """Synthetic 1m bars ending at ``last_ts`` (the live feed reads the latest ones)."""
    b = bars(n, seed=5)
    ts = last_ts - (n - 1 - np.arange(n)) * M
    return Bars.from_arrays(ts, b.open, b.high, b.low, b.close, b.volume, exchange="hyperliquid", symbol=SYMBOL,
                            timeframe="1m")


def run_live(s: StandInExchange, home, tmp_path, cfg_text: str, extra: list[str], max_bars: int,
             ready, publish) -> tuple[int, str, str]:
    """`gaorg live` as a real process against the stand-in; ``publish()`` runs in a thread once
    ``ready()`` (or the process ended); returns (exit status, stdout, stderr)."""
    g = save_genome(genome(), tmp_path / "g.json")
    cfg = tmp_path / "live.yaml"
    cfg.write_text(cfg_text)
    cmd = [sys.executable, "-m", "gaorg.cli", "live", "--genome", str(g), "--symbol", SYMBOL, "--timeframe", "1m",
           "--exchange", "hyperliquid", "--feed", "exchange", "--api-url", s.url, "--max-bars", str(max_bars),
           "--config", str(cfg), "--json", *extra]
    env = {**os.environ, "GAORG_HOME": str(home), "GAORG_HYPERLIQUID_WALLET": WALLET,
           "GAORG_HYPERLIQUID_PRIVATE_KEY": KEY}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)

    def when_ready() -> None:
        deadline = time.monotonic() + 90
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                return
            time.sleep(0.05)
        publish()

    pusher = threading.Thread(target=when_ready, daemon=True)
    pusher.start()
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    pusher.join(30)
    return proc.returncode, out, err


@pytest.mark.slow
def test_gaorg_live_trades_on_bars_pushed_over_the_websocket(gaorg_home, tmp_path):
    last = (int(time.time() * 1000) // M - 30) * M  # the history ends 30 minutes ago
    hist = recent_minutes(300, last)
    seen: dict[str, int] = {}
    with StandInExchange([hist]) as s:

        def publish() -> None:  # once subscribed: a sharp rally, one closed minute after another
            seen["snapshots"] = s.state.count("candleSnapshot")
            px = float(hist.close[-1])
            for k in range(1, 10):
                px *= 1.03
                s.prices["BTC"] = px
                seen["pushed"] = seen.get("pushed", 0) + s.publish_candle(
                    "BTC", "1m", (last + k * M, px / 1.03, px * 1.001, px / 1.031, px, 50.0))
                time.sleep(0.3)

        # polls would come too late: bars must be pushed
        code, out, err = run_live(s, gaorg_home, tmp_path, "poll_seconds: 120\nstale_bars: 60\n", [], 8,
                                  lambda: s.ws.subscribers("BTC", "1m") > 0, publish)
        snapshots_after = s.state.count("candleSnapshot")
        actions = s.actions()
    summary = json.loads(out.strip().splitlines()[-1])
    # the rally outruns the IOC orders' limit prices, so the stand-in may refuse some: such a run exits 1
    assert code == (1 if summary["failed"] else 0), err
    assert summary["bars"] == 8 and summary["stopped"] == "max_bars 8 reached", summary
    assert summary["last_ts"] == last + 8 * M  # every pushed minute once, in order
    assert summary["orders"] >= 1 and "order" in actions, (summary, actions)
    assert seen["pushed"] >= 8  # the process was subscribed to every candle
    assert snapshots_after == seen["snapshots"]  # after the history, nothing was polled
    assert "websocket feed" not in err  # no reconnection, no fallback
    assert "Unclosed" not in err and "release all resources" not in err  # the client was closed


def test_transport_poll_keeps_the_cli_off_the_websocket(gaorg_home, tmp_path):
    """`--transport poll`: the same run takes its bars by polling and never opens the websocket."""
    last = (int(time.time() * 1000) // M - 30) * M
    hist = recent_minutes(300, last)
    with StandInExchange([hist]) as s:

        def publish() -> None:  # once the history is read: closed minutes, one after another
            px = float(hist.close[-1])
            for k in range(1, 6):
                s.publish_candle("BTC", "1m", (last + k * M, px, px * 1.001, px * 0.999, px, 50.0))
                time.sleep(0.3)

        code, out, err = run_live(s, gaorg_home, tmp_path, "poll_seconds: 0.2\nstale_bars: 60\n",
                                  ["--transport", "poll"], 3, lambda: s.state.count("candleSnapshot") >= 2, publish)
        opened = s.state.count("ws")
        polls = s.state.count("candleSnapshot")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["bars"] == 3 and summary["last_ts"] == last + 3 * M, summary
    assert opened == 0 and polls >= 4  # the history, then the polls that brought the bars
