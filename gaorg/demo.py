"""``gaorg demo``: the main job, end to end, on embedded defaults.

The demo is a list of steps (:data:`STEPS`), each a function of a :class:`DemoRun` that adds lines
for a person and entries to the JSON payload. For now: a seeded synthetic market for a few
symbols, the import of a shipped sample file (a user's layout: banner line, newest first, other
column names), and the store's summary. Later stages add their steps to the list.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SYNTH_SYMBOLS = ("SYNTH-BTC", "SYNTH-ETH", "SYNTH-SOL")
SAMPLE = Path(__file__).parent / "testing" / "sample_ohlcv.csv"
SAMPLE_SYMBOL = "BTC/USDT"
SAMPLE_COLUMNS = "timestamp=unix,volume=Volume BTC"


@dataclass
class DemoRun:
    """State shared by the steps: settings, options, what was said and what goes in the payload."""

    settings: Any
    seed: int = 7
    bars: int = 4000
    timeframe: str = "1h"
    lines: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)

    def say(self, text: str) -> None:
        self.lines.append(text)


def synthetic_market(run: DemoRun) -> None:
    """Write a seeded synthetic market (regimes, funding) for a few symbols into the store."""
    from gaorg.data.store import open_store
    from gaorg.data.synth import synth_market

    written = []
    with open_store(run.settings) as store:
        for i, symbol in enumerate(SYNTH_SYMBOLS):
            m = synth_market(symbol, run.timeframe, run.bars, run.seed, price=100.0 * (i + 1))
            b = m.bars
            frame = {"ts": b.ts, "open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume}
            report = store.write_bars(b.exchange, b.symbol, b.timeframe, frame)
            store.write_funding(b.exchange, b.symbol, m.funding_ts, m.funding_rate)
            written.append(report.to_dict())
    run.say(f"synthetic market: {len(written)} symbols x {run.bars} {run.timeframe} bars (seed {run.seed})")
    run.payload["synthetic"] = written


def imported_market(run: DemoRun) -> None:
    """Import the shipped sample CSV (banner line, newest first, CryptoDataDownload columns)."""
    from gaorg.data.importer import parse_mapping, read_table
    from gaorg.data.store import open_store

    table = read_table(SAMPLE, parse_mapping(SAMPLE_COLUMNS))
    with open_store(run.settings) as store:
        report = store.write_bars("local", SAMPLE_SYMBOL, "1h", table.columns, origin=table.lines, label="line")
    run.say(f"imported {SAMPLE.name} as local {SAMPLE_SYMBOL} 1h: {report.inserted + report.replaced} bars"
            + (f" ({'; '.join(table.notes)})" if table.notes else ""))
    run.payload["imported"] = {**report.to_dict(), "notes": table.notes}


def store_summary(run: DemoRun) -> None:
    """Print what the market store holds."""
    from gaorg.data.store import open_store

    with open_store(run.settings, read_only=True) as store:
        series = [s.to_dict() for s in store.series()]
    run.say(f"market store {run.settings.market_db}:")
    for s in series:
        run.say(f"  {s['exchange']:<10} {s['symbol']:<14} {s['timeframe']:<4} {s['first']} .. {s['last']}"
                f"  {s['rows']:>6} rows  {s['missing']} missing")
    run.payload["series"] = series


STEPS: list[Callable[[DemoRun], None]] = [synthetic_market, imported_market, store_summary]


def run_demo(settings: Any, seed: int = 7, bars: int = 4000) -> DemoRun:
    """Run every step in order and return what they said and produced."""
    run = DemoRun(settings, seed=seed, bars=bars)
    for step in STEPS:
        step(run)
    return run


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the ``demo`` command."""
    p = sub.add_parser("demo", parents=[common], help="the whole path, end to end, on embedded defaults",
                       description="Create a synthetic and an imported market in the store and summarise it.")
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic market (default: %(default)s)")
    p.add_argument("--bars", type=int, default=4000, help="synthetic bars per symbol (default: %(default)s)")
    p.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, settings: Any) -> Any:
    from gaorg.cli import Outcome

    run = run_demo(settings, seed=args.seed, bars=args.bars)
    return Outcome("\n".join(run.lines), run.payload)
