"""One stage of NSGA-II: the toolbox, the generation loop, its figures and checkpoints.

The loop calls only toolbox aliases — ``evaluate``, ``mate``, ``mutate``, ``parents``,
``select``, ``map`` — so parallelism is one alias (``map``) and the operators are plain
functions. Every random draw comes from the one ``random.Random`` the run owns (checkpointed
with the population), and evaluation is pure, so a run is reproducible genome for genome.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from deap import base

from gaorg.evolve import operators, selection
from gaorg.evolve.checkpoint import LoopState, save_state
from gaorg.evolve.fitness import Market, evaluate_batch
from gaorg.evolve.operators import Space
from gaorg.evolve.parallel import submit
from gaorg.evolve.result import OBJECTIVES, WEIGHTS, GenerationStats
from gaorg.evolve.stats import hypervolume
from gaorg.evolve.types import Fitness, Individual, Trial

Callback = Callable[[GenerationStats], None]


def make_toolbox(state: LoopState, rng: random.Random, space: Space, mapper, market_ref,
                 evaluate: Callable = evaluate_batch) -> base.Toolbox:
    """DEAP toolbox of this stage: operators bound to the run's ``rng``, ``map`` to the mapper."""
    cfg = state.config
    tb = base.Toolbox()
    if cfg.reject_below is None or not _takes(evaluate, "reject_below"):
        tb.register("evaluate", evaluate, market=market_ref)  # a fitness of one's own scores in full
    else:
        tb.register("evaluate", evaluate, market=market_ref, reject_below=cfg.reject_below)
    tb.register("mate", operators.crossover, rng=rng, space=space)
    tb.register("mutate", operators.mutate, rng=rng, space=space,
                structure_rate=cfg.structure_rate, strength=cfg.strength)
    tb.register("parents", selection.select_parents, rng=rng)
    tb.register("select", selection.select_nsga2)
    tb.register("map", mapper)
    return tb


def _takes(func: Callable, name: str) -> bool:
    """True when ``func`` accepts the keyword ``name`` (by name or through ``**kwargs``)."""
    import inspect

    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def evaluate_population(tb: base.Toolbox, state: LoopState, pop: list[Individual],
                        meanwhile: Callable[[], None] | None = None) -> tuple[list[Individual], int]:
    """Fitness for every individual; only genomes never seen in this stage are evaluated.

    ``meanwhile``: work that needs none of the results (the previous generation's checkpoint),
    done by the mapper while the workers evaluate."""
    todo = _unseen(pop, state.archives[state.stage])
    trials: list[Trial] = tb.map(tb.evaluate, todo, meanwhile=meanwhile) if meanwhile else tb.map(tb.evaluate, todo)
    return _scored(state, pop, todo, trials), len(todo)


def _unseen(pop: list[Individual], archive: dict[str, Trial], flying: Iterable[str] = ()) -> list:
    """The genomes of ``pop`` to evaluate: each once, none the stage's archive holds or is in ``flying``."""
    todo, seen = [], set(flying)
    for ind in pop:
        if ind.key not in archive and ind.key not in seen:
            seen.add(ind.key)
            todo.append(ind.genome)
    return todo


def _scored(state: LoopState, pop: list[Individual], todo: list, trials: list[Trial]) -> list[Individual]:
    """``todo``'s trials into the stage's archive (counted), and ``pop`` with their fitness."""
    archive = state.archives[state.stage]
    for genome, trial in zip(todo, trials, strict=True):
        if trial.key != genome.canonical_hash():
            raise RuntimeError("an evaluation came back for another genome")  # order is the contract
        archive[trial.key] = trial
    state.evaluations[state.stage] += len(todo)
    return [dataclasses.replace(ind, fitness=Fitness(archive[ind.key].objectives)) for ind in pop]


def pipelined_generations(tb: base.Toolbox, state: LoopState, rng: random.Random, space: Space, mapper: Any,
                          finish: Callable[[list[Individual], int, int], None], write: Callable[[], None]) -> None:
    """The stage's generations after the first, pipelined (``EvolveConfig.pipelined``).

    A generation is two halves of children (``population`` in all). Half ``s`` is bred from the
    population as it stood after half ``s - 2`` and sent while half ``s - 1`` is still being
    evaluated; when a half's results are in, NSGA-II selects ``population`` of the population and
    that half. The workers thus always hold the next half's batches when one half ends: they wait
    neither for this process's selection and variation nor for the slowest worker's last batch.
    Results are integrated in the order the halves were sent, so a run is as reproducible as a
    generational one. After every second half (a generation) ``finish`` reports and checkpoints the
    state with the half already sent (``state.in_flight``) and the RNG state from before the next
    half was bred: a resumed run sends that half again and breeds the same children.
    """
    cfg = state.config
    archive = state.archives[state.stage]
    halves = 2 * cfg.generations
    flights: list[tuple[int, list[Individual], list[Any], Any]] = []  # (half, children, evaluated genomes, handle)
    evaluated = 0

    def breed(half: int) -> list[Individual]:
        size = cfg.population - cfg.population // 2 if half % 2 else cfg.population // 2
        return vary(tb, state, rng, tb.parents(state.population, size), (half + 1) // 2, space)

    def send(half: int, kids: list[Individual]) -> None:
        todo = _unseen(kids, archive, {g.canonical_hash() for _, _, sent_todo, _ in flights for g in sent_todo})
        # one batch a worker while the next half will fill the wait for the slowest; the stage's
        # last half, which nothing follows, in the mapper's own (guided) batches
        per_worker = 1 if half < halves else None
        flights.append((half, kids, todo, submit(mapper, tb.evaluate, todo, per_worker=per_worker)))

    done_halves = 2 * state.generation
    try:
        if done_halves < halves:
            send(done_halves + 1, state.in_flight or breed(done_halves + 1))
        if done_halves + 2 <= halves:
            send(done_halves + 2, breed(done_halves + 2))
        write()  # generation 0's checkpoint and figures while the workers evaluate (half 1 replaces its population)
        while flights:
            half, kids, todo, sent = flights[0]
            trials = sent.result()
            flights.pop(0)
            scored = _scored(state, kids, todo, trials)
            evaluated += len(todo)
            population = tb.select(state.population + scored, cfg.population)
            if half % 2 == 0:
                state.in_flight = list(flights[0][1]) if flights else []
                finish(population, half // 2, evaluated)
                evaluated = 0
            else:
                state.population = population
            if half + 2 <= halves:
                send(half + 2, breed(half + 2))
            write()  # the checkpoint and the figures while the workers evaluate what was just sent
    finally:  # stopped: what was sent is let go (the checkpoint keeps the half to send again)
        for _, _, _, sent in flights:
            sent.release()


def initial_population(state: LoopState, rng: random.Random, space: Space,
                       seeds: list[Individual]) -> list[Individual]:
    """Stage 0: random genomes. Later stages: ``seed_share`` of the population from the previous
    front, half its members rescaled, half their mutants; the rest random (an edge only the finer
    bars show is invisible to the coarse front). ``initial_factor`` times the population in all:
    the stage's first selection keeps ``population`` of them."""
    cfg = state.config
    stage = state.stage
    pop: list[Individual] = []
    keys: set[str] = set()

    def add(genome, parents=()) -> None:
        if genome.canonical_hash() not in keys and space.admits(genome):
            keys.add(genome.canonical_hash())
            pop.append(Individual(genome, None, tuple(parents), stage, 0))

    if seeds:
        factor = cfg.rescale_factor(stage)
        rescaled = [(s.genome.rescaled(factor), s.key) for s in seeds]
        share = int(cfg.population * cfg.seed_share)
        for genome, parent in rescaled[: share // 2]:
            add(genome, (parent,))
        base_pop = list(pop) or [Individual(g, None, (p,)) for g, p in rescaled]
        for _ in range(cfg.population):
            if len(pop) >= share:
                break
            src = base_pop[rng.randrange(len(base_pop))]
            add(operators.mutate(src.genome, rng, space, cfg.structure_rate, cfg.strength), src.parents)
    tries = 0
    size = int(round(cfg.population * cfg.initial_factor))
    while len(pop) < size and tries < size * 20:
        tries += 1
        add(operators.random_genome(rng, space))
    return pop


def vary(tb: base.Toolbox, state: LoopState, rng: random.Random, parents: list[Individual],
         generation: int, space: Space | None = None) -> list[Individual]:
    """Offspring by pairwise crossover (probability cxpb) then mutation (probability mutpb); each
    child is replaced by a random genome of ``space`` with probability ``immigrants``."""
    cfg = state.config
    kids: list[Individual] = []
    for i in range(0, len(parents), 2):
        a = parents[i]
        b = parents[i + 1] if i + 1 < len(parents) else parents[0]
        ga, gb = a.genome, b.genome
        crossed = rng.random() < cfg.cxpb
        if crossed:
            ga, gb = tb.mate(ga, gb)
        for genome, own in ((ga, a), (gb, b)):
            if rng.random() < cfg.mutpb:
                genome = tb.mutate(genome)
            lineage = (a.key, b.key) if crossed else (own.key,)
            kids.append(Individual(genome, None, lineage, state.stage, generation))
    kids = kids[: len(parents)]
    if space is not None and cfg.immigrants > 0:
        for i in range(len(kids)):
            if rng.random() < cfg.immigrants:
                kids[i] = Individual(operators.random_genome(rng, space), None, (), state.stage, generation)
    return kids


def generation_stats(state: LoopState, pop: list[Individual], generation: int, evaluated: int) -> GenerationStats:
    """Best and median of each objective, hypervolume of the first front, evaluations."""
    values = list(zip(*(ind.fitness.values for ind in pop), strict=True))
    best, median = {}, {}
    for name, weight, column in zip(OBJECTIVES, WEIGHTS, values, strict=True):
        best[name] = float(max(column) if weight > 0 else min(column))
        median[name] = float(statistics.median(column))
    front = selection.first_front(pop)
    return GenerationStats(
        stage=state.stage,
        timeframe=state.config.timeframes[state.stage],
        generation=generation,
        step=len(state.history),
        best=best,
        median=median,
        hypervolume=hypervolume([ind.fitness.values for ind in front]),
        evaluations=evaluated,
        total_evaluations=sum(state.evaluations),
        front_size=len(front),
    )


class StageProgress:
    """A stage's progress: ``--generations G`` counts G generations (the initial population is
    generation 0, shown before the count starts). A bar on a terminal (or in a notebook); one
    line per generation on stderr otherwise (a log, a pipe, CI), so a long stage is never silent."""

    def __init__(self, desc: str, generations: int, done: int, enabled: bool) -> None:
        self.desc, self.total, self.enabled = desc, generations, enabled
        self.t0 = time.monotonic()
        self.bar = None
        if enabled and (sys.stderr.isatty() or "ipykernel" in sys.modules):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=generations, initial=done, desc=desc, unit="gen")

    def done(self, stats: GenerationStats) -> None:
        """Generation ``stats.generation`` is evaluated and selected."""
        figures = f"best Sharpe {stats.best['sharpe']:.2f}, hypervolume {stats.hypervolume:.2f}"
        if self.bar is not None:
            if stats.generation > 0:
                self.bar.update(1)
            self.bar.set_postfix(sharpe=f"{stats.best['sharpe']:.2f}", hv=f"{stats.hypervolume:.2f}")
        elif self.enabled:
            what = ("initial population" if stats.generation == 0
                    else f"generation {stats.generation}/{self.total}")
            print(f"{self.desc}: {what}: {stats.evaluations} evaluated, {figures} "
                  f"({time.monotonic() - self.t0:.0f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_stage(state: LoopState, rng: random.Random, space: Space, mapper, market: Market,
              seeds: list[Individual], checkpoint_dir: Path | None, callback: Callback | None,
              progress: bool, evaluate: Callable = evaluate_batch, market_ref: Any = None) -> list[Individual]:
    """Run (or continue) the stage ``state.stage``; returns its final population.

    ``market_ref`` is ``market`` already sent to the workers by the caller (who then releases
    it); without it the stage sends the market itself, once to every worker, and releases it.

    With a mapper whose workers evaluate while this process waits (``mapper.overlaps``), a
    generation's checkpoint is written, and its figures reported (``callback``: MLflow's metrics;
    the progress line), while the next generation is evaluated, not before it is sent: the
    workers do not wait for the disk or the tracking store (the checkpoint took 0.10-0.16 s a
    generation at 30 series). The state does not change between the two (the loop only reads it
    until the results are in), the file and the figures are the same, and a run stopped in
    between leaves the generation before, from which a resumed run computes the same generations
    again. A stage's last generation is written and reported at once.
    """
    cfg = state.config
    overlap = bool(getattr(mapper, "overlaps", False))
    pending: list[Callable[[], Any]] = []  # the last generation's checkpoint and report, not yet done

    def write() -> None:
        while pending:
            pending.pop(0)()
    owned = market_ref is None
    if owned:
        market_ref = mapper.scatter(market)  # once per stage, to every worker
    tb = make_toolbox(state, rng, space, mapper, market_ref, evaluate)
    bar = StageProgress(f"stage {state.stage + 1}/{len(cfg.timeframes)} {market.timeframe}", cfg.generations,
                        max(state.generation, 0), progress)

    def finish(pop: list[Individual], generation: int, evaluated: int) -> None:
        stats = generation_stats(state, pop, generation, evaluated)
        state.population = pop
        state.generation = generation
        state.history.append(stats)
        state.rng_state = rng.getstate()
        if checkpoint_dir is not None:
            pending.append(lambda: save_state(checkpoint_dir, state))
        if callback is not None:
            pending.append(lambda: callback(stats))
        pending.append(lambda: bar.done(stats))
        if not overlap or generation >= cfg.generations:
            write()

    try:
        if state.generation < 0:
            pop = initial_population(state, rng, space, seeds)
            pop, evaluated = evaluate_population(tb, state, pop)
            finish(tb.select(pop, cfg.population), 0, evaluated)
        if cfg.pipelined:
            pipelined_generations(tb, state, rng, space, mapper, finish, write)
        for generation in range(state.generation + 1, cfg.generations + 1):
            parents = tb.parents(state.population, cfg.population)
            kids, evaluated = evaluate_population(tb, state, vary(tb, state, rng, parents, generation, space),
                                                  write if pending else None)
            finish(tb.select(state.population + kids, cfg.population), generation, evaluated)
    finally:
        try:
            write()  # stopped before the next generation was sent: the last one finished is kept
        finally:  # a report that fails (a tracking store gone) still closes the bar and frees the market
            bar.close()
            release = getattr(market_ref, "release", None)
            if owned and callable(release):
                release()
    return state.population

