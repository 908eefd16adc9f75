"""What an evolution run returns: frozen, picklable records that tracking and the CLI consume.

``EvolutionResult`` holds the final Pareto front (``FrontMember``), the evaluations spent per
stage, the overfitting figures (deflated Sharpe per member, PBO of the run) and the
per-generation figures (``GenerationStats``) that the callback also receives one at a time.
Nothing here imports numpy, DEAP or Dask: the records pickle and compare as plain data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gaorg.evolve.timing import Timing
from gaorg.strategies.genome import Genome

OBJECTIVES: tuple[str, ...] = ("sharpe", "max_drawdown", "consistency")
"""The three objectives, in fitness order."""

WEIGHTS: tuple[float, ...] = (1.0, -1.0, 1.0)
"""NSGA-II weights: maximise Sharpe, minimise max drawdown (a positive fraction), maximise consistency."""

DSR_SIGNIFICANT = 0.95
"""A deflated Sharpe ratio (a probability) at or above this is significant at the 5% level."""


@dataclass(frozen=True)
class FrontMember:
    """One strategy of the final Pareto front, with its in-sample and hold-out figures.

    ``sharpe``/``max_drawdown``/``consistency`` are the walk-forward objectives of the last stage
    (mean over folds × assets, worst drawdown, share of positive folds × assets). ``deflated_sharpe``
    is the probability that its true Sharpe is above zero after deflating for the number of trials
    (Bailey & López de Prado); ``holdout`` holds the backtest metrics (keys of ``gaorg backtest``)
    on the newest, held-out slice, averaged over the basket, with ``holdout_per_asset`` per symbol;
    ``holdout_sums`` the power sums ``[n, Σr, Σr², Σr³, Σr⁴]`` of its hold-out returns, pooled over
    the basket and divided by the basket's design effect (so ``n`` counts independent returns).
    """

    genome: Genome
    genome_hash: str
    sharpe: float
    max_drawdown: float
    consistency: float
    deflated_sharpe: float
    holdout: dict[str, float] = field(hash=False)
    holdout_per_asset: dict[str, dict[str, float]] = field(hash=False, default_factory=dict)
    holdout_sums: tuple[float, ...] = field(hash=False, default=())
    stage: int = 0
    timeframe: str = ""
    generation: int = 0
    parents: tuple[str, ...] = ()

    @property
    def objectives(self) -> tuple[float, float, float]:
        return (self.sharpe, self.max_drawdown, self.consistency)

    def holdout_summary(self) -> dict[str, float]:
        """The hold-out figures as the promotion gates summarise the basket: mean Sharpe and
        return, worst max drawdown, total trades (the per-asset means when no per-asset figures)."""
        per = list(self.holdout_per_asset.values())
        if not per:
            return {k: float(self.holdout.get(k, math.nan)) for k in ("sharpe", "max_drawdown", "trades",
                                                                       "total_return")}
        return {"sharpe": sum(p["sharpe"] for p in per) / len(per),
                "max_drawdown": max(p["max_drawdown"] for p in per),
                "trades": float(sum(p["trades"] for p in per)),
                "total_return": sum(p.get("total_return", math.nan) for p in per) / len(per)}

    @property
    def significant(self) -> bool:
        """True when the deflated Sharpe ratio is significant at the 5% level."""
        return self.deflated_sharpe >= DSR_SIGNIFICANT

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (the ``front`` entries of ``gaorg evolve --json``)."""
        return {
            "genome_hash": self.genome_hash,
            "genome": self.genome.to_dict(),
            "sharpe": self.sharpe,
            "max_drawdown": self.max_drawdown,
            "consistency": self.consistency,
            "deflated_sharpe": _finite_or_none(self.deflated_sharpe),
            "holdout": dict(self.holdout),
            "holdout_per_asset": {k: dict(v) for k, v in self.holdout_per_asset.items()},
            "holdout_sums": list(self.holdout_sums),
            "stage": self.stage,
            "timeframe": self.timeframe,
            "generation": self.generation,
            "parents": list(self.parents),
        }


@dataclass(frozen=True)
class GenerationStats:
    """Figures of one generation, passed to ``callback`` after it is evaluated and selected.

    ``best``/``median`` map each objective name to its best (max Sharpe, min drawdown, max
    consistency) and median over the population; ``hypervolume`` is that of the population's
    first front against a fixed reference point (comparable across generations of a run);
    ``evaluations`` counts fitness evaluations in this generation, ``total_evaluations`` in the
    run so far. ``step`` numbers generations across stages (0, 1, 2, ...) for metric logging.
    """

    stage: int
    timeframe: str
    generation: int
    step: int
    best: dict[str, float] = field(hash=False)
    median: dict[str, float] = field(hash=False)
    hypervolume: float
    evaluations: int
    total_evaluations: int
    front_size: int

    def metrics(self) -> dict[str, float]:
        """A flat mapping for a tracker: ``best_sharpe``, ``median_max_drawdown``, ``hypervolume``..."""
        out: dict[str, float] = {}
        for name in OBJECTIVES:
            out[f"best_{name}"] = float(self.best[name])
            out[f"median_{name}"] = float(self.median[name])
        out["hypervolume"] = float(self.hypervolume)
        out["evaluations"] = float(self.evaluations)
        out["total_evaluations"] = float(self.total_evaluations)
        out["front_size"] = float(self.front_size)
        return out


@dataclass(frozen=True)
class StageSummary:
    """One coarse-to-fine stage: its timeframe, the generations run and evaluations spent."""

    index: int
    timeframe: str
    population: int
    generations: int
    evaluations: int


@dataclass(frozen=True)
class EvolutionResult:
    """The outcome of ``gaorg.evolve.run.evolve``.

    ``trials`` is the number of distinct strategies evaluated (the true number of trials used to
    deflate Sharpe ratios); ``pbo`` the probability of backtest overfitting by combinatorially
    symmetric cross-validation over every trial's fold returns (NaN when too few trials or folds).
    ``config`` is the run's configuration as a flat JSON-ready mapping (for ``log_params``).
    ``timing`` says where the evaluation time went, per stage and per entry module
    (:class:`~gaorg.evolve.timing.Timing`; ``result.timing.frame()`` is a DataFrame).
    """

    run_id: str
    front: tuple[FrontMember, ...]
    stages: tuple[StageSummary, ...]
    history: tuple[GenerationStats, ...]
    trials: int
    pbo: float
    config: dict[str, Any] = field(hash=False, default_factory=dict)
    checkpoint_dir: str | None = None
    timing: Timing = field(default_factory=Timing, compare=False)

    @property
    def evaluations(self) -> int:
        """Fitness evaluations of the whole run (every stage)."""
        return sum(s.evaluations for s in self.stages)

    @property
    def evaluations_per_stage(self) -> dict[str, int]:
        """Evaluations spent per stage, keyed ``"<index>:<timeframe>"`` (e.g. ``"0:1d"``)."""
        return {f"{s.index}:{s.timeframe}": s.evaluations for s in self.stages}

    @property
    def best(self) -> FrontMember | None:
        """The front member with the highest walk-forward Sharpe (None for an empty front)."""
        return max(self.front, key=lambda m: (m.sharpe, m.genome_hash), default=None)

    def to_payload(self) -> dict[str, Any]:
        """The JSON object of ``gaorg evolve --json``."""
        return {
            "run_id": self.run_id,
            "evaluations": self.evaluations,
            "evaluations_per_stage": self.evaluations_per_stage,
            "trials": self.trials,
            "pbo": _finite_or_none(self.pbo),
            "front": [m.to_dict() for m in self.front],
            "checkpoint_dir": self.checkpoint_dir,
            "timing": self.timing.to_dict(),
        }


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: an undefined figure (too few trials or folds) becomes null."""
    return float(value) if math.isfinite(value) else None
