"""``03_evolve``: a Dask-parallel evolution logged to MLflow, with what the notebook shows of it.

:func:`run_evolution` is the notebook's one call (and what the nightly pipeline runs through
papermill): the typed parameters become an ``EvolveConfig``, the run goes to a Dask cluster
(a LocalCluster unless a scheduler is given; ``workers=0`` evaluates in the kernel), each
generation is logged to MLflow as it ends, and the front is registered as model ``register``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gaorg.config import Settings


@dataclass
class EvolutionRun:
    """The result, what tracking logged (run id, versions) and the hold-out bars per symbol."""

    result: Any
    logged: dict[str, Any]
    holdout_bars: dict[str, Any] = field(default_factory=dict)
    holdout_from: dict[str, int] = field(default_factory=dict)
    basket: Any = None  # the gaorg.research.params.Basket evolved on

    @property
    def run_id(self) -> str | None:
        return self.logged.get("mlflow_run_id")

    @property
    def versions(self) -> list[int]:
        return [int(v["version"]) for v in self.logged.get("versions", [])]

    def holdout_equity(self, i: int, symbol: str | None = None) -> tuple[Any, Any]:
        """Front member ``i``'s equity on the hold-out slice of ``symbol`` (default: the first)."""
        from gaorg.backtest.run import backtest_genome
        from gaorg.evolve.run import costs_of

        symbol = symbol or next(iter(self.holdout_bars))
        bars = self.holdout_bars[symbol]
        start = self.holdout_from[symbol]
        cfg = self.result.config
        costs = costs_of(_config_of(cfg))
        res = backtest_genome(self.result.front[i].genome, bars, costs, start=start)
        return bars.ts[res.start:res.end].astype("datetime64[ms]"), res.equity

    def record(self) -> dict[str, Any]:
        """What the notebook's record holds (strict JSON: NaN is None): run ids, versions, stages, the front."""
        from gaorg.research.params import plain

        r = self.result
        return plain({
            "evolution_run_id": r.run_id, "mlflow_run_id": self.run_id, "registered_versions": self.versions,
            "model": self.logged.get("model"), "evaluations_per_stage": r.evaluations_per_stage,
            "stages": [{"timeframe": s.timeframe, "population": s.population, "generations": s.generations,
                        "evaluations": s.evaluations} for s in r.stages],
            "generations_seen": len(r.history), "trials": r.trials, "pbo": r.pbo,
            "basket": self.basket.to_dict() if self.basket is not None else None,
            "front": [{"genome_hash": m.genome_hash, "modules": list(m.genome.modules), "sharpe": m.sharpe,
                       "max_drawdown": m.max_drawdown, "consistency": m.consistency,
                       "deflated_sharpe": m.deflated_sharpe, "holdout_sharpe": m.holdout.get("sharpe")}
                      for m in r.front],
        })


def _config_of(flat: dict[str, Any]) -> Any:
    """An object with ``fee``/``slippage`` from the run's flat config (for the engine's costs)."""
    from types import SimpleNamespace

    return SimpleNamespace(fee=flat.get("fee"), slippage=flat.get("slippage", 0.0) or 0.0)


def run_evolution(settings: Settings, params: Any, on_generation: Callable[[Any], None] | None = None,
                  progress: bool = True, basket: Any = None) -> EvolutionRun:
    """Evolve with ``params`` (an ``EvolveParams``) on ``basket`` (from ``params.basket(settings)``;
    default: its symbols as given, or its rule resolved now), log to MLflow, register the front.

    ``on_generation`` receives each ``GenerationStats`` too (the notebook's live figure).
    """
    from gaorg.data.store import open_store
    from gaorg.evolve.folds import holdout_start, holdout_starts
    from gaorg.evolve.parallel import open_client
    from gaorg.evolve.run import evolve, new_run_id
    from gaorg.tracking.log import evolution_callback, log_evolution
    from gaorg.tracking.recorder import MlflowRecorder

    if basket is None:
        from gaorg.research.params import Basket

        basket = params.basket(settings) if params.rule is not None else Basket(params.symbols, params.exchange, {})
    config = params.evolve_config(basket)
    run_id = new_run_id()
    recorder = MlflowRecorder(settings)
    track = evolution_callback(recorder)

    def callback(stats: Any) -> None:
        track(stats)
        if on_generation is not None:
            on_generation(stats)

    ckpt = settings.checkpoints / run_id
    with open_store(settings, read_only=True) as store:
        if config.workers == 0 and not config.scheduler:
            result = evolve(config, store, None, callback, ckpt, run_id=run_id, progress=progress)
        else:
            with open_client(config.scheduler, config.workers) as client:
                result = evolve(config, store, client, callback, ckpt, run_id=run_id, progress=progress)
        logged = log_evolution(result, recorder, register=params.register or None, top_k=params.top_k,
                               data=store)
        from gaorg.evolve.basket import load_basket

        finest = config.timeframes[-1]
        bars = load_basket(store, config.symbols, finest, config.exchange)
    shared = holdout_starts(bars, config.holdout)  # series of different spans: one hold-out time
    return EvolutionRun(result, logged, {b.symbol: b for b in bars},
                        {b.symbol: holdout_start(len(b), config.holdout) if shared is None else shared[i]
                         for i, b in enumerate(bars)}, basket)
