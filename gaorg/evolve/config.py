"""``EvolveConfig``: the typed, frozen settings of one evolution run, checked once at the edge.

Stages are the timeframes, coarse to fine (``("1d", "1h")``): each runs ``generations``
generations of NSGA-II over ``population`` genomes; stage k+1 is seeded with stage k's Pareto
front, periods rescaled to the finer bars. Build from a mapping with
``gaorg.config.parse_config(EvolveConfig, data)`` (unknown keys get a "did you mean").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from gaorg.config import did_you_mean
from gaorg.data.timeframes import TIMEFRAMES, timeframe_ms
from gaorg.errors import ConfigError


@dataclass(frozen=True)
class EvolveConfig:
    """One run: the basket, the stages, the GA's sizes and rates, folds, hold-out and costs.

    - ``symbols``: the basket (one genome is scored across all of them).
    - ``universe``: the rule the basket was resolved from (:mod:`gaorg.evolve.rule`), recorded
      with the run; empty for a basket named symbol by symbol.
    - ``timeframes``: one stage per timeframe, coarse to fine.
    - ``population`` / ``generations``: per stage (both at least 1; population at least 4).
    - ``folds`` walk-forward test windows per series, ``scheme`` anchored (train from the start)
      or rolling (train on the window just before each test window).
    - ``holdout``: the newest fraction of each series, never seen by evolution.
    - ``modules``: restrict the catalogue to these module names (empty: every module).
    - ``cxpb`` crossover probability per pair, ``mutpb`` mutation probability per child,
      ``structure_rate`` share of mutations that swap/add/drop a module, ``strength`` the
      parameter step as a fraction of each gene's range, ``immigrants`` the share of each
      generation's children replaced by random genomes (breadth a small population keeps),
      ``seed_share`` the share of a finer stage's first population taken from the coarser stage's
      front (half its members rescaled, half their mutants; the rest random).
    - ``reject_below``: on a basket of several assets, a genome whose mean walk-forward Sharpe on
      one asset (picked by its hash) is below this is not scored on the others (None: every
      genome is scored in full). It costs a fraction of a full evaluation, stays off the front
      and counts as a trial. The defaults (strength 0.2, seed_share 0.25, reject_below 0,
      initial_factor 2, parsimony 0.5) are what beat random sampling and Optuna at equal compute
      (``docs/benchmarks.md``, "Search at equal budget").
    - ``initial_factor``: each stage's first generation draws and scores this many times
      ``population`` genomes and keeps the best ``population`` (breadth where the coarse front
      cannot see the fine bars' edge; cheap with ``reject_below``).
    - ``parsimony``: how random genomes (first generations, immigrants, random sampling in
      ``gaorg.research.search``) draw their counts of filters and exits: P(k) proportional to
      ``parsimony ** k``, in (0, 1]; 1.0 draws every count equally often (the draws of runs
      before 2026-12-04's default; a checkpoint without the field resumes with it), 0.5 (the
      default) makes each extra module half as likely: a better hold-out Sharpe for the best
      strategy at the same power and no false discovery (``docs/benchmarks.md``, "Parsimony").
    - ``pipelined``: breed each half generation from the population as it stood half a
      generation earlier, while the half before it is still evaluated, so the workers never wait
      for this process's selection and variation or for another worker's last batch (Dask
      efficiency; ``docs/scale.md``). The same number of children a generation (of evaluations
      within 1%: a child already in flight is not sent twice) and as reproducible, but a
      different search from the default's: NSGA-II's (mu + mu/2) selection every half generation,
      one half generation late. False (the default) is the generational NSGA-II that the search's
      figures of record measured.
    - ``min_trades``: trades a genome must make per asset × fold on average to be scored at
      all (a strategy that never trades is not a strategy, though its drawdown is zero).
    - ``fee`` (None: the engine's default taker fee) and ``slippage``: fractions of notional.
    - ``scheduler`` a Dask scheduler address to join; ``workers`` local worker processes
      (None: one per core; 0: evaluate in the calling process, no Dask).
    """

    symbols: tuple[str, ...]
    timeframes: tuple[str, ...] = ("1d", "1h")
    exchange: str | None = None
    universe: str = ""
    population: int = 64
    generations: int = 10
    seed: int = 0
    folds: int = 4
    scheme: Literal["anchored", "rolling"] = "anchored"
    holdout: float = 0.2
    modules: tuple[str, ...] = ()
    max_filters: int = 2
    max_exits: int = 1
    cxpb: float = 0.7
    mutpb: float = 0.9
    structure_rate: float = 0.25
    strength: float = 0.2
    immigrants: float = 0.2
    seed_share: float = 0.25
    reject_below: float | None = 0.0
    initial_factor: float = 2.0
    parsimony: float = 0.5
    pipelined: bool = False
    min_test_bars: int = 20
    min_trades: float = 1.0
    fee: float | None = None
    slippage: float = 0.0
    scheduler: str | None = None
    workers: int | None = None
    retries: int = 3

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ConfigError("symbols: give at least one symbol, e.g. --symbols BTC,ETH")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError(f"symbols: {', '.join(self.symbols)} names a symbol twice")
        if not self.timeframes:
            raise ConfigError("timeframes: give at least one timeframe, e.g. --timeframes 1d,1h")
        for tf in self.timeframes:
            if tf not in TIMEFRAMES:
                raise ConfigError(
                    f"timeframes: unknown timeframe {tf!r}{did_you_mean(tf, TIMEFRAMES)}; "
                    f"use some of {', '.join(TIMEFRAMES)}"
                )
        lengths = [timeframe_ms(tf) for tf in self.timeframes]
        if any(b >= a for a, b in zip(lengths, lengths[1:], strict=False)):
            raise ConfigError(
                f"timeframes: stages go coarse to fine, e.g. 1d,1h; got {','.join(self.timeframes)}"
            )
        if self.population < 4:
            raise ConfigError(f"population: {self.population} is too small; use at least 4 (e.g. 64)")
        if self.generations < 1:
            raise ConfigError(f"generations: {self.generations}; run at least 1 generation per stage")
        if self.folds < 1:
            raise ConfigError(f"folds: {self.folds}; use at least 1 walk-forward fold (e.g. 4)")
        if not 0.0 <= self.holdout < 0.9:
            raise ConfigError(f"holdout: {self.holdout} must be a fraction in [0, 0.9), e.g. 0.2")
        for name in ("cxpb", "mutpb", "structure_rate", "immigrants", "seed_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}: {value} must be a probability in [0, 1]")
        if self.reject_below is not None and not -100.0 <= self.reject_below <= 100.0:
            raise ConfigError(f"reject_below: {self.reject_below} must be an annualised Sharpe in [-100, 100], e.g. 0")
        if not 1.0 <= self.initial_factor <= 10.0:
            raise ConfigError(f"initial_factor: {self.initial_factor} must be in [1, 10], e.g. 2")
        if not 0.0 < self.parsimony <= 1.0:
            raise ConfigError(
                f"parsimony: {self.parsimony} must be in (0, 1]: 1 draws 0 to {self.max_filters} filters "
                "equally often (as before 2026-12-04) and 0.5 makes each extra filter or exit half as likely "
                "(the default)"
            )
        if not 0.0 < self.strength <= 1.0:
            raise ConfigError(f"strength: {self.strength} must be in (0, 1]")
        if self.min_test_bars < 2:
            raise ConfigError(f"min_test_bars: {self.min_test_bars}; use at least 2")
        if self.min_trades < 0:
            raise ConfigError(f"min_trades: {self.min_trades} cannot be negative")
        if self.max_filters < 0 or self.max_exits < 0:
            raise ConfigError("max_filters and max_exits cannot be negative")
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"workers: {self.workers}; use 0 (in this process) or more worker processes")
        if self.retries < 0:
            raise ConfigError(f"retries: {self.retries} cannot be negative")
        if self.fee is not None and not 0.0 <= self.fee < 0.1:
            raise ConfigError(f"fee: {self.fee} must be a fraction in [0, 0.1)")
        if not 0.0 <= self.slippage < 0.1:
            raise ConfigError(f"slippage: {self.slippage} must be a fraction in [0, 0.1)")

    def rescale_factor(self, stage: int) -> float:
        """Bars of stage ``stage`` per bar of the stage before it (1d -> 1h: 24)."""
        return TIMEFRAMES[self.timeframes[stage - 1]] / TIMEFRAMES[self.timeframes[stage]]

    def to_params(self) -> dict[str, Any]:
        """A flat, JSON-ready mapping (tuples joined with commas) for tracking's ``log_params``."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            out[key] = ",".join(value) if isinstance(value, tuple) else value
        return out


WORKER_BYTES = 250 * 2**20
"""What a local Dask worker process costs before any market data (Python, numpy, numba, the engine)."""
TRIAL_BYTES = 4096
"""What one evaluated genome keeps in the archive and the checkpoint, roughly (genome, objectives, cells)."""


def check_fits(config: EvolveConfig, memory_bytes: int | None = None, cores: int | None = None) -> None:
    """ConfigError when the run's population or local workers cannot fit this machine.

    Every genome evaluated stays in the run's archive (and its checkpoint), and every local worker
    is a process: a population of a billion, or 100,000 workers, would grow until the machine
    kills the run. ``memory_bytes``/``cores`` default to this machine's.
    """
    import os

    memory = memory_bytes if memory_bytes is not None else _memory_bytes()
    cores = cores if cores is not None else (os.cpu_count() or 1)
    trials = int(config.population * (config.generations + config.initial_factor) * len(config.timeframes))
    need = trials * TRIAL_BYTES
    if memory and need > memory // 2:
        most = int(memory // 2 // (TRIAL_BYTES * (config.generations + config.initial_factor) * len(config.timeframes)))
        raise ConfigError(
            f"population: {config.population} x {config.generations} generations x {len(config.timeframes)} "
            f"stages keeps ~{need / 2**30:.1f} GiB of evaluated genomes, more than half this machine's "
            f"{memory / 2**30:.1f} GiB; use a population of at most {most}"
        )
    if config.workers is not None and config.scheduler is None:
        limit = max(1, min(4 * cores, memory // WORKER_BYTES if memory else 4 * cores))
        if config.workers > limit:
            raise ConfigError(
                f"workers: {config.workers} local worker processes cannot fit this machine ({cores} cores, "
                f"{(memory or 0) / 2**30:.1f} GiB; each worker needs ~{WORKER_BYTES // 2**20} MB); use at most "
                f"{limit}, or --scheduler ADDR for a cluster"
            )


def _memory_bytes() -> int:
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0
