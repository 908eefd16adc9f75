"""Does the search earn its cost? gaorg's NSGA-II beside random sampling and Optuna, at equal budget.

Each method gets the same market (a basket with walk-forward folds and a hold-out), the same genome
space, the same fitness (:func:`gaorg.evolve.fitness.evaluate_genome`) and the same number of
distinct genomes evaluated: what gaorg's hierarchical run (coarse stage, then fine) spent in all.

- ``nsga2``: ``gaorg.evolve.run.evolve``; its trials are the finest stage's (the coarse stage's
  evaluations count against its budget all the same).
- ``random``: genomes drawn by the GA's own sampler (``operators.random_genome``), with the
  run's ``EvolveConfig.parsimony``, so "the same space, the same sampler" holds at any setting.
- ``optuna``: Optuna's ``NSGAIISampler`` (what freqtrade's hyperopt uses) over the same space,
  built define-by-run: the entry, how many filters and exits and which, the sizing, then each
  chosen module's genes (periods log-scaled, as the GA samples them). Its counts are its own
  ``suggest_int`` draws (uniform in its first generation, then its crossover and mutation):
  ``parsimony`` does not reach it.

:func:`compare` scores each method by the hypervolume of the first front of everything it
evaluated (against the fixed reference of ``gaorg.evolve.stats``), its best walk-forward Sharpe,
and that strategy's Sharpe on the hold-out and on the fresh bars after it.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gaorg.errors import GenomeError

METHODS = ("nsga2", "random", "optuna")


@dataclass(frozen=True)
class SearchScore:
    """One method's result on one market."""

    method: str
    evaluations: int
    hypervolume: float
    best_sharpe: float
    holdout_sharpe: float
    fresh_sharpe: float
    best_modules: str
    seconds: float
    cost: float = math.nan  # in finest-stage evaluations of the whole basket


def _markets(config: Any, bars: dict) -> tuple[Any, list[Any]]:
    """The finest stage's market and every stage's, from bars keyed (symbol, timeframe)."""
    from gaorg.evolve.run import build_market

    markets = [build_market(config, bars, i) for i in range(len(config.timeframes))]
    return markets[-1], markets


def _bar_count(market: Any) -> int:
    return sum(len(b.close) for b in market.bars)


def run_nsga2(config: Any, bars: dict) -> tuple[list[Any], int, float]:
    """gaorg's evolution (in this process): the finest stage's trials, the evaluations spent, and
    their cost in finest-stage evaluations (a 4h evaluation backtests a quarter of a 1h one's bars;
    a genome rejected after one of n assets, ``EvolveConfig.reject_below``, costs 1/n)."""
    from gaorg.evolve.fitness import evaluate_batch
    from gaorg.evolve.run import evolve

    fine = config.timeframes[-1]
    fine_bars = _bar_count(_markets(config, bars)[0])
    seen: dict[str, Any] = {}
    total = [0, 0.0]

    def recording(genomes: Sequence[Any], market: Any, **options: Any) -> list[Any]:
        trials = evaluate_batch(genomes, market, **options)
        total[0] += len(trials)
        scored = sum(1.0 / len(market.bars) if t.rejected else 1.0 for t in trials)  # rejected: first asset only
        total[1] += scored * _bar_count(market) / fine_bars
        if market.timeframe == fine:
            seen.update((t.key, (g, t)) for g, t in zip(genomes, trials, strict=True))
        return trials

    evolve(config, bars, None, progress=False, evaluate=recording)
    return list(seen.values()), int(total[0]), float(total[1])


def run_random(config: Any, bars: dict, budget: int) -> list[Any]:
    """``budget`` distinct random genomes of the GA's sampler, evaluated on the finest stage."""
    from gaorg.evolve.fitness import evaluate_genome
    from gaorg.evolve.operators import Space, random_genome

    market, _ = _markets(config, bars)
    space = Space.from_modules(config.modules, config.max_filters, config.max_exits,
                               parsimony=config.parsimony).with_lookback(market.max_lookback)
    rng = random.Random(config.seed)
    out: dict[str, Any] = {}
    for _ in range(budget * 20):
        if len(out) >= budget:
            break
        g = random_genome(rng, space)
        if g.canonical_hash() not in out:
            out[g.canonical_hash()] = (g, evaluate_genome(g, market))
    return list(out.values())


def genome_from_trial(trial: Any, space: Any) -> Any:
    """A genome built define-by-run from an Optuna trial over ``space`` (GenomeError if invalid)."""
    from gaorg.strategies.catalogue import CATALOGUE
    from gaorg.strategies.genes import ChoiceGene, FloatGene, IntGene
    from gaorg.strategies.genome import SCHEMA, parse_genome

    def slot(where: str, name: str) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for gene in CATALOGUE[name].genes:
            key = f"{where}.{name}.{gene.name}"
            if isinstance(gene, IntGene):
                high = gene.high
                if gene.period and space.max_lookback is not None:
                    high = max(gene.low, min(gene.high, space.max_lookback))
                params[gene.name] = trial.suggest_int(key, gene.low, high, log=gene.period and gene.low >= 1)
            elif isinstance(gene, FloatGene):
                params[gene.name] = trial.suggest_float(key, gene.low, gene.high)
            elif isinstance(gene, ChoiceGene):
                params[gene.name] = trial.suggest_categorical(key, list(gene.choices))
        return {"module": name, "params": params}

    def pick(role: str, names: Sequence[str], most: int) -> list[dict[str, Any]]:
        count = trial.suggest_int(f"n_{role}", 0, min(most, len(names))) if names else 0
        chosen: list[str] = []
        for k in range(count):
            name = trial.suggest_categorical(f"{role}{k}", list(names))
            if name not in chosen:
                chosen.append(name)
        return [slot(f"{role}{k}", n) for k, n in enumerate(chosen)]

    entry = trial.suggest_categorical("entry", list(space.entries))
    sizing = trial.suggest_categorical("sizing", ["none", *space.sizings]) if space.sizings else "none"
    data = {"schema": SCHEMA, "entry": slot("entry", entry),
            "filters": pick("filter", space.filters, space.max_filters),
            "exits": pick("exit", space.exits, space.max_exits),
            "sizing": None if sizing == "none" else slot("sizing", sizing)}
    genome = parse_genome(data, space.catalogue())
    if not space.admits(genome):
        raise GenomeError("outside the space (lookback)")
    return genome


def run_optuna(config: Any, bars: dict, budget: int) -> list[Any]:
    """Optuna's NSGA-II sampler until ``budget`` distinct genomes are evaluated on the finest stage."""
    import optuna

    from gaorg.evolve.fitness import evaluate_genome
    from gaorg.evolve.operators import Space
    from gaorg.evolve.types import WORST

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    market, _ = _markets(config, bars)
    space = Space.from_modules(config.modules, config.max_filters, config.max_exits,
                               parsimony=config.parsimony).with_lookback(market.max_lookback)
    out: dict[str, Any] = {}

    def objective(trial: Any) -> tuple[float, float, float]:
        try:
            g = genome_from_trial(trial, space)
        except GenomeError:
            return WORST
        key = g.canonical_hash()
        if key not in out:
            out[key] = (g, evaluate_genome(g, market))
        return tuple(out[key][1].objectives)  # type: ignore[return-value]

    sampler = optuna.samplers.NSGAIISampler(population_size=config.population, seed=config.seed)
    study = optuna.create_study(directions=["maximize", "minimize", "maximize"], sampler=sampler)
    for _ in range(budget * 5):
        if len(out) >= budget:
            break
        study.optimize(objective, n_trials=1)
    return list(out.values())


def score(method: str, found: list[Any], evaluations: int, market: Any, fresh: Callable[[Any], float],
          seconds: float, cost: float | None = None) -> SearchScore:
    """Hypervolume of the first front of ``found`` (genome, trial) pairs, and its best strategy's figures."""
    from gaorg.evolve.fitness import holdout_metrics, mean_metrics
    from gaorg.evolve.stats import hypervolume

    feasible = [(g, t) for g, t in found if t.feasible]
    if not feasible:
        return SearchScore(method, evaluations, 0.0, math.nan, math.nan, math.nan, "", seconds,
                           float(evaluations if cost is None else cost))
    objectives = [tuple(t.objectives) for _, t in feasible]
    best_g, best_t = max(feasible, key=lambda gt: (gt[1].objectives[0], gt[1].key))
    per_asset, _ = holdout_metrics(best_g, market)
    return SearchScore(method, evaluations, hypervolume(_first_front(objectives)), float(best_t.objectives[0]),
                       float(mean_metrics(per_asset).get("sharpe", math.nan)), float(fresh(best_g)),
                       "+".join(best_g.modules), seconds, float(evaluations if cost is None else cost))


def _first_front(points: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    w = np.array([[p[0], -p[1], p[2]] for p in points])
    keep = [i for i in range(len(w)) if not np.any(np.all(w >= w[i], axis=1) & np.any(w > w[i], axis=1))]
    return [points[i] for i in keep]


def compare(config: Any, bars: dict, fresh: Callable[[Any], float],
            methods: Sequence[str] = METHODS, budget: str = "evaluations") -> list[SearchScore]:
    """Run each method on ``bars`` at NSGA-II's budget; ``fresh(genome)`` scores a genome on unseen bars.

    ``budget``: ``"evaluations"`` gives the others as many distinct genomes as NSGA-II evaluated in
    all its stages; ``"compute"`` as many as its evaluations cost in finest-stage backtests.
    """
    if budget not in ("evaluations", "compute"):
        raise ValueError(f"budget is 'evaluations' or 'compute', not {budget!r}")
    market, _ = _markets(config, bars)
    start = time.perf_counter()
    found, count, cost = run_nsga2(config, bars)
    budget = count if budget == "evaluations" else max(1, round(cost))
    out = [score("nsga2", found, count, market, fresh, time.perf_counter() - start, cost)]
    for method in methods:
        if method == "nsga2":
            continue
        start = time.perf_counter()
        found = run_random(config, bars, budget) if method == "random" else run_optuna(config, bars, budget)
        out.append(score(method, found, len(found), market, fresh, time.perf_counter() - start))
    return [s for s in out if s.method in methods]
