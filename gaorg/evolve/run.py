"""``evolve``: the whole hierarchical run, coarse to fine, then the honest report.

Stage by stage (one per timeframe), NSGA-II evolves genomes on the basket's walk-forward folds;
each later stage starts from the previous Pareto front, periods rescaled to the finer bars.
At the end the final front is scored on the held-out newest slice of each series (never seen
before), each member gets its deflated Sharpe ratio (trials = every distinct genome evaluated),
and the run its probability of backtest overfitting (CSCV over the last stage's trials).

    from gaorg.evolve.run import evolve
    result = evolve(EvolveConfig(symbols=("BTC", "ETH"), timeframes=("1d", "1h")), store)
"""

from __future__ import annotations

import functools
import random
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gaorg.errors import CheckpointError
from gaorg.evolve.basket import DataSource, fingerprint, load_basket
from gaorg.evolve.checkpoint import LoopState, load_state
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.fitness import Market, evaluate_batch, genome_cost, holdout_batch, mean_metrics
from gaorg.evolve.folds import basket_splits
from gaorg.evolve.loop import Callback, run_stage
from gaorg.evolve.operators import Space
from gaorg.evolve.parallel import DaskMapper, LocalMapper
from gaorg.evolve.result import EvolutionResult, FrontMember, StageSummary
from gaorg.evolve.selection import first_front
from gaorg.evolve.stats import deflated_sharpe_of, design_effect, pbo_cscv
from gaorg.evolve.timing import StageClock, TimedMapper, stage_line, stage_time, timing_of
from gaorg.evolve.types import Individual
from gaorg.evolve.warmup import warm_workers


def new_run_id() -> str:
    """A fresh run id: UTC time and a random suffix (``20261124-153000-1a2b3c``)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def costs_of(config: EvolveConfig) -> Any:
    """The engine's ``Costs`` for this run (the engine's default fee unless ``fee`` is set)."""
    from gaorg.backtest.engine import Costs

    return Costs(slippage=config.slippage) if config.fee is None else Costs(fee=config.fee, slippage=config.slippage)


def build_market(config: EvolveConfig, data: DataSource, stage: int) -> Market:
    """The basket of ``stage`` with its folds (DataTooShortError names a short series)."""
    timeframe = config.timeframes[stage]
    bars = load_basket(data, config.symbols, timeframe, config.exchange)
    splits = basket_splits(bars, config.folds, config.holdout, config.scheme, config.min_test_bars, timeframe)
    return Market(timeframe, bars, splits, config.scheme, costs_of(config), config.min_trades)


def evolve(
    config: EvolveConfig,
    data: DataSource,
    client: Any = None,
    callback: Callback | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    run_id: str | None = None,
    progress: bool = True,
    evaluate: Callable = evaluate_batch,
) -> EvolutionResult:
    """Run (or, with ``resume=True``, continue from ``checkpoint_dir``) a hierarchical evolution.

    ``data`` maps ``(symbol, timeframe)`` to Bars, or is a MarketStore. ``client`` is a
    ``distributed.Client`` (None: evaluate in this process). ``callback`` receives each
    generation's :class:`GenerationStats`. ``checkpoint_dir`` (e.g.
    ``settings.checkpoints / run_id``) receives a checkpoint after every generation and the
    front's genome JSON files. ``evaluate`` is the batch fitness (the engine's by default).
    """
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume:
        if ckpt is None:
            raise CheckpointError("resume needs the checkpoint directory of the run")
        state = load_state(ckpt)
        config = state.config
    else:
        state = LoopState(run_id=run_id or (ckpt.name if ckpt else new_run_id()), config=config)
    mapper = LocalMapper() if client is None else DaskMapper(client, retries=config.retries, cost=genome_cost)
    base_space = Space.from_modules(config.modules, config.max_filters, config.max_exits,
                                    parsimony=config.parsimony)
    rng = random.Random(config.seed)
    if state.rng_state is not None:
        rng.setstate(state.rng_state)
    seeds: list[Individual] = []
    markets: list[Market] = []
    last_ref: Any = None  # the final stage's market on the workers, kept for the hold-out scores
    warmed: set[str] = set() if evaluate is evaluate_batch else set(base_space.catalogue())  # custom: its own code
    for stage in range(len(config.timeframes)):
        market = build_market(config, data, stage)
        markets.append(market)
        if stage < state.stage:
            continue
        _check_fingerprint(state, market, resume)
        if stage > state.stage:  # a new stage: seed it with the previous stage's front
            done = state.archives[state.stage]
            seeds = first_front([i for i in state.population if done[i.key].feasible])
            state.stage, state.generation = stage, -1
        while len(state.archives) <= stage:
            state.archives.append({})
            state.evaluations.append(0)
        while len(state.clocks) <= stage:
            state.clocks.append(StageClock())
        space = base_space.with_lookback(market.max_lookback)
        cold = [m for m in space.catalogue() if m not in warmed]
        if cold:  # each module once a process, before it is timed: the timing shows the families
            state.clocks[stage].warm += warm_workers(mapper, space.entries, cold, market)
            warmed.update(cold)
        timed = TimedMapper(mapper, state.clocks[stage])  # counts the stage's evaluations and their time
        ref = mapper.scatter(market)  # once per stage, to every worker
        try:
            run_stage(state, rng, space, timed, market, seeds, ckpt, callback, progress, evaluate, market_ref=ref)
        except BaseException:
            _release(ref)
            raise
        if stage == len(config.timeframes) - 1:
            last_ref = ref
        else:
            _release(ref)
        if progress:  # where the stage's time went, one line
            print(f"stage {stage + 1}/{len(config.timeframes)} "
                  + stage_line(*stage_time(state.clocks[stage], stage, market.timeframe)),
                  file=sys.stderr, flush=True)
    try:
        return _report(state, markets, mapper, ckpt, last_ref)
    finally:
        _release(last_ref)


def _release(ref: Any) -> None:
    """Free a stage's market on the workers (a no-op for the in-process mapper's plain object)."""
    release = getattr(ref, "release", None)
    if callable(release):
        release()


def _check_fingerprint(state: LoopState, market: Market, resume: bool) -> None:
    mark = fingerprint(market.bars)
    old = state.fingerprints.get(market.timeframe)
    if resume and old is not None and old != mark:
        raise CheckpointError(
            f"the {market.timeframe} market data changed since run {state.run_id} was checkpointed; "
            "a resumed run must see the same bars (start a new run instead)"
        )
    state.fingerprints[market.timeframe] = mark


def trial_count(archives: list[dict[str, Any]]) -> int:
    """Every distinct genome evaluated, in any stage (those that never traded were tried too).

    Each front member's deflated Sharpe is deflated against this many unskilled trials, whose
    Sharpe estimates spread as luck alone would spread them over the member's own returns
    (:func:`~gaorg.evolve.stats.null_sharpe_variance`). The paper measures that spread across the
    trials; a search over a market with an edge finds winners and their mirror images, whose true
    Sharpe ratios differ (on the demo's planted basket the trials spread 0.044 a bar against 0.012
    from luck; on random walks 0.0115 against 0.0118: ``tests/bench/bench_trial_spread.py``), so
    that measure deflates a discovery the more, the stronger it is.
    """
    return len(set().union(*(a.keys() for a in archives))) if archives else 0


def _report(state: LoopState, markets: list[Market], mapper, ckpt: Path | None,
            ref: Any = None) -> EvolutionResult:
    """Hold-out scores, deflated Sharpe and PBO of the final front; front genomes saved as JSON.

    ``ref`` is the final stage's market as the workers already hold it (None: send it here).
    """
    from gaorg.strategies.genome import save_genome

    cfg = state.config
    last = len(cfg.timeframes) - 1
    market = markets[last]
    archive = state.archives[last]
    front = first_front([ind for ind in state.population if archive[ind.key].feasible])
    feasible = [t for t in archive.values() if t.feasible]
    n_trials = trial_count(state.archives)
    pooled = {t.key: t.cells[:, :5].sum(axis=0) for t in feasible}
    folds_design = design_effect([(b.ts[:s.holdout_start], b.close[:s.holdout_start])
                                  for b, s in zip(market.bars, market.splits, strict=True)])
    holdout_design = design_effect([(b.ts[s.holdout_start:], b.close[s.holdout_start:])
                                    for b, s in zip(market.bars, market.splits, strict=True)])
    pbo = pbo_cscv(np.stack([t.cells for t in feasible])) if len(feasible) > 1 else float("nan")

    owned = ref is None
    if owned:
        ref = mapper.scatter(market)
    try:
        scored = mapper(functools.partial(holdout_batch, market=ref), [m.genome for m in front])
    finally:
        if owned:
            _release(ref)
    members = []
    for ind, (per_asset, holdout_sums) in zip(front, scored, strict=True):
        sums = pooled.get(ind.key)
        if sums is None:
            dsr = float("nan")
        else:
            dsr = deflated_sharpe_of(sums, n_trials, folds_design)
        sharpe, mdd, cons = ind.fitness.values
        members.append(FrontMember(
            genome=ind.genome, genome_hash=ind.key, sharpe=sharpe, max_drawdown=mdd,
            consistency=cons, deflated_sharpe=dsr, holdout=mean_metrics(per_asset),
            holdout_per_asset=per_asset, holdout_sums=tuple(float(x) for x in holdout_sums / holdout_design),
            stage=ind.stage, timeframe=cfg.timeframes[ind.stage],
            generation=ind.generation, parents=ind.parents,
        ))
    members.sort(key=lambda m: (-m.sharpe, m.genome_hash))
    if ckpt is not None:
        for m in members:
            save_genome(m.genome, ckpt / "front" / f"{m.genome_hash}.json")
    stages = tuple(
        StageSummary(i, tf, cfg.population, cfg.generations, state.evaluations[i])
        for i, tf in enumerate(cfg.timeframes)
    )
    state.done = True
    return EvolutionResult(
        run_id=state.run_id, front=tuple(members), stages=stages, history=tuple(state.history),
        trials=n_trials, pbo=pbo, config=cfg.to_params(),
        checkpoint_dir=str(ckpt) if ckpt is not None else None,
        timing=timing_of(state.clocks, cfg.timeframes),
    )
