"""Helpers shared by the live tests: a genome, synthetic bars and an executor over a real DuckDB state."""

from __future__ import annotations

import os
from pathlib import Path

from gaorg.data.synth import synth_bars
from gaorg.live.brokers.paper import PaperBroker
from gaorg.live.config import LiveConfig, LiveCosts, RiskLimits
from gaorg.live.executor import Executor
from gaorg.live.state import LiveState
from gaorg.live.strategy import Strategy
from gaorg.strategies.genome import make_genome

SYMBOL = "BTC/USDC:USDC"


def genome(fast: int = 5, slow: int = 20, stops: bool = True):
    exits = (("atr_stop", {"period": 14, "stop_mult": 2.0, "take_mult": 4.0}),) if stops else ()
    return make_genome(("ema_crossover", {"fast": fast, "slow": slow, "direction": "both"}), exits=exits)


def bars(n: int = 400, seed: int = 3):
    return synth_bars(SYMBOL, "1h", n, seed=seed)


def store_bars(home: Path, *series) -> None:
    """Write each synthetic series (``Bars``) into the market store of the GAORG_HOME ``home``."""
    from gaorg.data.store import MarketStore

    home.mkdir(parents=True, exist_ok=True)
    with MarketStore(home / "market.duckdb") as store:
        for b in series:
            store.write_bars(b.exchange, b.symbol, b.timeframe, b.columns())


def config(b, **kw) -> LiveConfig:
    costs = kw.pop("costs", LiveCosts(0.0005, 0.001, 10_000.0))
    return LiveConfig(symbol=b.symbol, timeframe=b.timeframe, exchange=b.exchange, costs=costs,
                      limits=kw.pop("limits", RiskLimits()), **{"model": "m", "window": 5000, **kw})


def executor(path: Path, cfg: LiveConfig, g=None, broker=None, metrics=None, kill_file=None) -> Executor:
    state = LiveState(path, cfg.state_key)
    c = cfg.costs
    broker = broker or PaperBroker(c.fee, c.slippage, c.init_cash)
    return Executor(cfg, state, broker, Strategy(g or genome(), "m", "1"), metrics=metrics, kill_file=kill_file)


def run_forked(cfg: LiveConfig, registry_path: Path, crash: str | None = None) -> int:
    """The live runner in a forked process, optionally killed (SIGKILL) at the crash point ``crash``;
    its exit status (negative: killed by that signal)."""
    from gaorg.config import Settings
    from gaorg.live.registry import FileRegistry
    from gaorg.live.runner import Runner

    pid = os.fork()
    if pid == 0:  # the executor process
        code = 1
        try:
            if crash:
                os.environ["GAORG_TEST_CRASH_AT"] = crash
            Runner(cfg, Settings.from_env(), FileRegistry(registry_path)).run()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
