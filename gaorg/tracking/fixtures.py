"""A small EvolutionResult built by hand from genomes and bars (for tests, notebooks and demos).

The figures are real: each genome is backtested by the engine on the in-sample part (its
"objectives") and on the held-out newest part (its hold-out metrics), like ``evolve`` reports them;
only the deflated Sharpe ratio is given, since it needs every trial of a real run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gaorg.data.bars import Bars
from gaorg.strategies.genome import Genome


def hand_made_result(
    data: Mapping[tuple[str, str], Bars],
    genomes: Sequence[Genome],
    *,
    holdout: float = 0.25,
    deflated_sharpe: float | Sequence[float] = 0.99,
    run_id: str = "20260101-000000-abcdef",
    checkpoint_dir: str | None = None,
    fee: float | None = None,
) -> Any:
    """An ``EvolutionResult`` of one stage whose front is ``genomes`` on the series of ``data``.

    ``data`` maps ``(symbol, timeframe)`` to Bars (one timeframe); two generations of stats are
    made up from the members' figures so per-generation logging has something to log.
    """
    import numpy as np

    from gaorg.backtest.engine import Costs
    from gaorg.backtest.run import backtest_genome
    from gaorg.evolve.folds import holdout_start
    from gaorg.evolve.result import EvolutionResult, FrontMember, GenerationStats, StageSummary
    from gaorg.evolve.stats import design_effect, return_sums
    from gaorg.evolve.timing import StageClock, timing_of

    timeframes = sorted({tf for _, tf in data})
    if len(timeframes) != 1:
        raise ValueError(f"give series of one timeframe, got {timeframes}")
    timeframe = timeframes[0]
    costs = Costs() if fee is None else Costs(fee=fee)
    dsr = [deflated_sharpe] * len(genomes) if isinstance(deflated_sharpe, (int, float)) else list(deflated_sharpe)
    members = []
    for i, genome in enumerate(genomes):
        ins, outs, sums, spans = [], {}, np.zeros(5), []
        for (symbol, _), bars in data.items():
            cut = holdout_start(len(bars), holdout)
            ins.append(backtest_genome(genome, bars.slice(0, cut), costs).metrics)
            held = backtest_genome(genome, bars, costs, start=cut)
            outs[symbol] = {k: float(v) for k, v in held.metrics.items()}
            sums += return_sums(held.equity)
            spans.append((bars.ts[cut:], bars.close[cut:]))
        mean = {k: float(np.mean([m[k] for m in outs.values()])) for k in next(iter(outs.values()))}
        members.append(FrontMember(
            genome=genome, genome_hash=genome.canonical_hash(),
            sharpe=float(np.mean([m["sharpe"] for m in ins])),
            max_drawdown=float(max(m["max_drawdown"] for m in ins)),
            consistency=float(np.mean([m["total_return"] > 0 for m in ins])),
            deflated_sharpe=float(dsr[i]), holdout=mean, holdout_per_asset=outs,
            holdout_sums=tuple(float(x) for x in sums / design_effect(spans)),
            stage=0, timeframe=timeframe, generation=1, parents=(f"{i:016x}",),
        ))
    members.sort(key=lambda m: (-m.sharpe, m.genome_hash))
    history = []
    for gen in range(2):
        best = {"sharpe": max(m.sharpe for m in members) - (1 - gen) * 0.1,
                "max_drawdown": min(m.max_drawdown for m in members),
                "consistency": max(m.consistency for m in members)}
        median = {k: v * 0.5 for k, v in best.items()}
        history.append(GenerationStats(0, timeframe, gen, gen, best, median, 0.1 * (gen + 1),
                                       len(genomes), len(genomes) * (gen + 1), len(members)))
    config = {"symbols": ",".join(s for s, _ in data), "timeframes": timeframe, "exchange": None,
              "population": len(genomes), "generations": 2, "seed": 0, "holdout": holdout, "fee": fee,
              "slippage": 0.0}
    return EvolutionResult(
        run_id=run_id, front=tuple(members),
        stages=(StageSummary(0, timeframe, len(genomes), 2, 2 * len(genomes)),),
        history=tuple(history), trials=2 * len(genomes), pbo=0.3, config=config,
        checkpoint_dir=checkpoint_dir,
        timing=timing_of([StageClock(0.5, {g.entry.module: 2 * len(genomes) for g in genomes[:1]},
                                     {g.entry.module: 0.4 for g in genomes[:1]})], (timeframe,)),
    )


def store_synthetic(settings: Any, symbols: Sequence[str], timeframe: str = "1h", n_bars: int = 1500,
                    seed: int = 0, start_ms: int | None = None) -> dict[tuple[str, str], Bars]:
    """Write seeded synthetic series (bars and funding) to the market store; returns them as read back."""

    from gaorg.data.store import open_store
    from gaorg.data.synth import synth_market

    out = {}
    with open_store(settings) as store:
        for i, symbol in enumerate(symbols):
            kw = {} if start_ms is None else {"start_ms": start_ms}
            m = synth_market(symbol, timeframe, n_bars, seed + i, **kw)
            b = m.bars
            store.write_bars(b.exchange, symbol, timeframe, b.columns())
            store.write_funding(b.exchange, symbol, m.funding_ts, m.funding_rate)
            out[(symbol, timeframe)] = store.read_bars(b.exchange, symbol, timeframe)
    return out
