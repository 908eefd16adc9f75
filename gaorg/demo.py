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
PLANTED_SYMBOLS = ("PLANT-A", "PLANT-B", "PLANT-C")
PLANTED = {"fast": 10, "slow": 40, "edge": 0.0015, "sigma": 0.01, "revert": 0.005}
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
    population: int = 24
    generations: int = 3
    workers: int | None = 2
    live_bars: int = 400
    model: str = "gaorg-demo"
    state: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    echo: Callable[[str], None] | None = None  # prints each line as it is said (the command line)

    def say(self, text: str) -> None:
        """Add a line for a person (and print it now, when the run echoes)."""
        self.lines.append(text)
        if self.echo is not None:
            self.echo(text)


def synthetic_market(run: DemoRun) -> None:
    """Write a seeded synthetic market (regimes, funding) for a few symbols into the store."""
    from gaorg.data.store import open_store
    from gaorg.data.synth import synth_market

    written = []
    with open_store(run.settings) as store:
        for i, symbol in enumerate(SYNTH_SYMBOLS):
            m = synth_market(symbol, run.timeframe, run.bars, run.seed, price=100.0 * (i + 1))
            b = m.bars
            report = store.write_bars(b.exchange, b.symbol, b.timeframe, b.columns())
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


def planted_market(run: DemoRun) -> None:
    """A seeded basket with a known edge (next return leans with EMA 10/40): what evolution should find."""
    from gaorg.data.planted import planted_market
    from gaorg.data.store import open_store

    with open_store(run.settings) as store:
        for i, symbol in enumerate(PLANTED_SYMBOLS):
            b = planted_market("trend", symbol, run.bars, seed=run.seed + i, **PLANTED).bars
            store.write_bars("synthetic", symbol, "1h", b.columns())
    run.say(f"planted market: {', '.join(PLANTED_SYMBOLS)} x {run.bars} 1h bars whose next return leans "
            f"{PLANTED['edge']:.2%} with EMA {PLANTED['fast']}/{PLANTED['slow']} (hidden in {PLANTED['sigma']:.0%} noise)")


def fresh_model(run: DemoRun) -> None:
    """The demo's model is rebuilt from scratch: an earlier demo's ``gaorg-demo`` versions and the
    MLflow runs that made them (with their stage runs) are deleted, so a second demo registers
    versions 1..k again instead of copies after them (the demo's model is its own: no one else's)."""
    from gaorg.tracking.store import make_client

    client = make_client(run.settings)
    removed = {"versions": 0, "runs": 0}
    try:
        versions = client.search_model_versions(f"name = '{run.model}'")
    except Exception:  # noqa: BLE001 - no such model yet (MLflow raises by store kind)
        versions = []
    runs = {v.run_id for v in versions if v.run_id}
    if versions:
        client.delete_registered_model(run.model)
        removed["versions"] = len(versions)
    for run_id in sorted(runs):
        children = client.search_runs([client.get_run(run_id).info.experiment_id],
                                      filter_string=f"tags.mlflow.parentRunId = '{run_id}'")
        for child in children:
            client.delete_run(child.info.run_id)
        client.delete_run(run_id)
        removed["runs"] += 1 + len(children)
    run.say(f"model {run.model}: built from scratch (an earlier demo's versions and runs are replaced, not added to)")
    run.payload["replaced"] = removed


def evolution(run: DemoRun) -> None:
    """A two-stage (4h then 1h) NSGA-II run on Dask, logged to MLflow, the front registered."""
    from gaorg.research.evolution import run_evolution
    from gaorg.research.params import EvolveParams

    params = EvolveParams(symbols=PLANTED_SYMBOLS, timeframes=("4h", run.timeframe), exchange="synthetic", population=run.population,
                          generations=run.generations, seed=run.seed, folds=3, workers=run.workers,
                          register=run.model, top_k=5)
    # a line per generation on stderr when it is not a terminal (a bar on one): never a silent minute
    evo = run_evolution(run.settings, params, progress=run.echo is not None)
    r = evo.result
    run.state["evolution"] = evo
    workers = "in-process" if run.workers == 0 else f"{run.workers or 'one per core'} Dask workers"
    run.say(f"evolution {r.run_id}: 2 stages (4h, {run.timeframe}) x {run.population} genomes x "
            f"{run.generations} generations on {workers}; {r.evaluations} evaluations, {r.trials} trials, "
            f"PBO {r.pbo:.2f}")
    best = r.best
    if best is not None:
        run.say(f"  best: {'+'.join(best.genome.modules)}  walk-forward Sharpe {best.sharpe:.2f}, max drawdown "
                f"{best.max_drawdown:.1%}, deflated Sharpe {best.deflated_sharpe:.2f}, "
                f"hold-out Sharpe {best.holdout.get('sharpe', float('nan')):.2f}")
    run.say(f"MLflow run {evo.run_id}; registered {run.model} versions {evo.versions}")
    run.payload["evolution"] = evo.record()


def promotion(run: DemoRun) -> None:
    """Run the promotion gates on the registered versions, best first; the first to pass is promoted."""
    from gaorg.tracking.promote import promote_first_passing

    evo = run.state.get("evolution")
    decisions, promoted = promote_first_passing(run.model, evo.versions if evo else [], run.settings,
                                                reason="gaorg demo")
    for decision in decisions:
        run.say(decision.text())
    if promoted is not None:
        run.state["promoted"] = str(promoted)
    else:
        run.say(f"no candidate passed the gates: {run.model}@production is unchanged "
                "(the live step trades the current champion, or the best candidate on paper)")
    run.payload["promotion"] = {"decisions": [d.to_dict() for d in decisions], "promoted": run.state.get("promoted")}


def live_paper(run: DemoRun) -> None:
    """The live runner trades NAME@production on paper over a replay, metrics served on 127.0.0.1."""
    import urllib.request

    from gaorg.config import parse_config
    from gaorg.errors import NotFoundError
    from gaorg.live.config import LiveConfig
    from gaorg.live.registry import FileRegistry, MlflowRegistryReader
    from gaorg.live.runner import Runner
    from gaorg.monitor.metrics import LiveMetrics
    from gaorg.strategies.genome import save_genome

    evo = run.state.get("evolution")
    symbol = PLANTED_SYMBOLS[0]
    registry: Any = MlflowRegistryReader(run.settings)
    try:
        registry.resolve(run.model, "production")
        who = f"{run.model}@production"
    except NotFoundError:
        if evo is None or evo.result.best is None:
            run.say("live: nothing to trade (no champion and no candidate)")
            return
        path = save_genome(evo.result.best.genome, run.settings.home / "demo" / "best_candidate.json")
        registry, who = FileRegistry(path), f"the best candidate ({path}, not promoted)"
    start = None
    if evo is not None and symbol in evo.holdout_bars:
        bars = evo.holdout_bars[symbol]
        start = int(bars.ts[evo.holdout_from[symbol]])
    config = parse_config(LiveConfig, {"model": run.model, "symbol": symbol, "timeframe": run.timeframe,
                                       "start": None if start is None else str(start),
                                       "max_bars": run.live_bars, "registry_poll_seconds": 3600.0}, "demo live")
    from gaorg.live.state import LiveState

    state = LiveState(run.settings.live_db, config.state_key)  # the demo's paper run starts afresh every time
    try:
        earlier = state.reset()
    finally:
        state.close()
    run.payload["live_state_reset"] = earlier
    metrics = LiveMetrics()
    port = metrics.serve(0)
    url = f"http://127.0.0.1:{port}/metrics"
    scraped: dict[str, str] = {}

    def scrape(runner: Any, report: Any) -> None:
        if not scraped and runner.executor is not None and runner.executor.bars_done >= 10:
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - our own 127.0.0.1 endpoint
                text = resp.read().decode()
            scraped.update({line.split()[0]: line.split()[1] for line in text.splitlines()
                            if line.startswith(("gaorg_live_equity ", "gaorg_live_bars_processed_total "))})

    try:
        summary = Runner(config, run.settings, registry).run(on_step=scrape, metrics=metrics)
    finally:
        metrics.stop()
    s = summary
    span = f" {s.replay['from']} .. {s.replay['to']}" if s.replay and s.bars else ""
    equity = f"{s.start_equity:.2f} -> {s.equity:.2f}" if s.start_equity else f"{s.equity:.2f}"
    run.say(f"live (paper, replay of {symbol} {run.timeframe} hold-out, a fresh live state): {who} v{s.version}: "
            f"{s.bars} bars{span}, {s.orders} orders, {s.fills} fills, {s.refused} refused; equity {equity}, "
            f"risk {s.risk_state}; {s.stopped}" + (f"; no order: {s.idle}" if s.idle else ""))
    run.say(f"  metrics were served at {url} while it ran: "
            + (", ".join(f"{k} {v}" for k, v in scraped.items()) or "not scraped (fewer than 10 bars)"))
    from gaorg.research.params import plain

    run.payload["live"] = plain({**s.to_dict(), "metrics_url": url, "scraped": scraped, "trading": who})


def how_to_look(run: DemoRun) -> None:
    """Where to look next."""
    run.say("look at it:")
    run.say(f"  gaorg ui                       MLflow UI on 127.0.0.1 (runs, the front, model {run.model})")
    run.say("  jupyter lab notebooks/         the research notebooks (01 data .. 04 compare & promote)")
    run.say(f"  gaorg models                   registered versions and aliases; GAORG_HOME={run.settings.home}")


STEPS: list[Callable[[DemoRun], None]] = [synthetic_market, imported_market, planted_market, store_summary,
                                          fresh_model, evolution, promotion, live_paper, how_to_look]


def run_demo(settings: Any, seed: int = 7, bars: int = 4000, **options: Any) -> DemoRun:
    """Run every step in order and return what they said and produced (``options``: DemoRun fields)."""
    run = DemoRun(settings, seed=seed, bars=bars, **options)
    for step in STEPS:
        step(run)
    return run


DESCRIPTION = """\
Run gaorg's whole path end to end on embedded defaults (no server to start), in GAORG_HOME:

  1. a seeded synthetic market (3 symbols, regimes, funding) and an imported sample CSV
     into market.duckdb;
  2. a seeded market with a planted edge (the next return leans with EMA 10/40);
  3. a two-stage NSGA-II evolution (4h, then 1h) on that basket, on 2 local Dask workers,
     logged to MLflow (mlflow.db, mlartifacts/), its front registered as versions of the
     model gaorg-demo;
  4. the promotion gates on those versions, best first: the first that passes becomes
     gaorg-demo@production;
  5. the champion traded on paper over a replay of the hold-out bars (live.duckdb), with
     the Prometheus metrics served on 127.0.0.1 meanwhile.

It takes about a minute on two cores (--small: about 30 s) and prints each step as it
goes. Run again in the same GAORG_HOME, it does the same again with the same output: the
model gaorg-demo, its MLflow runs and the demo's paper live state are rebuilt from scratch,
not added to. Then look at it with `gaorg ui` (the MLflow UI), `jupyter lab notebooks/`
(the same store) and `gaorg models`.
"""

SMALL = {"bars": 1500, "population": 8, "generations": 1, "live_bars": 60}
"""``gaorg demo --small``: the same path in well under a minute of work (tests)."""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the ``demo`` command."""
    p = sub.add_parser("demo", parents=[common], help="the whole path, end to end, on embedded defaults",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic market (default: %(default)s)")
    p.add_argument("--bars", type=int, default=None, help="synthetic bars per symbol (default: 4000)")
    p.add_argument("--population", type=int, default=None, help="genomes per generation (default: 24)")
    p.add_argument("--generations", type=int, default=None, help="generations per stage (default: 3)")
    p.add_argument("--workers", type=int, default=None, help="local Dask workers (default: 2; 0: no Dask)")
    p.add_argument("--small", action="store_true", help="a small, quick demo (1500 bars, 8 genomes, 1 generation)")
    p.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, settings: Any) -> Any:
    import logging
    import os
    import sys

    from gaorg.command import Outcome

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    options = dict(SMALL) if args.small else {}
    for key in ("bars", "population", "generations", "workers"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    out = sys.stderr if args.json else sys.stdout  # where gaorg.cli would print the text at the end

    def echo(line: str) -> None:
        print(line, file=out, flush=True)

    run = run_demo(settings, seed=args.seed, echo=echo, **options)
    return Outcome("", run.payload)  # every line was printed as its step ended
