"""Where an evolution's time goes: per stage and per family, evaluations, share of time, rate.

Each trial carries the seconds its worker spent on the genome (``Trial.seconds``); the loop adds
them up per stage under the genome's **entry module** (:class:`StageClock`, checkpointed with the
run) beside the wall time it waited for each generation's evaluations. The entry is the signal a
genome is built around and every genome has exactly one, so the families partition a stage: their
evaluations add up to the stage's and their shares to 1. A genome's filters, exits and sizing are
counted with its entry (``ema_crossover`` with an ATR stop is ``ema_crossover`` time); the learned
modules, the costliest by far, are always entries.

A family's ``share`` is its part of the summed worker seconds; its ``seconds`` that share of the
stage's evaluation wall time, and ``eval_per_s`` its evaluations over those seconds: the rate the
run would evaluate that family at if it evaluated nothing else (with several workers, all of
them). The stage's own ``eval_per_s`` is its evaluations over its evaluation wall time, so the
families' times add up to the stage's. What a process pays once (compiled code, scikit-learn's
import) is paid before the first stage it runs, by a warm-up (:mod:`gaorg.evolve.warmup`), and
shown apart (``warm_seconds``), so a family is not called slow for being met first. Nothing here imports numpy or pandas (``frame()`` does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageClock:
    """A stage's running tally: wall seconds spent waiting on evaluations, and per entry module
    the evaluations and the summed worker seconds (``Trial.seconds``); ``warm`` the wall seconds
    of the warm-up before it (:mod:`gaorg.evolve.warmup`), apart from all of these."""

    wall: float = 0.0
    evaluations: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    warm: float = 0.0

    def add(self, genomes: Sequence[Any], trials: Sequence[Any], wall: float) -> None:
        """Count one generation's evaluations (``genomes`` and their ``trials``, in order)."""
        self.wall += wall
        for genome, trial in zip(genomes, trials, strict=True):
            name = genome.entry.module
            self.evaluations[name] = self.evaluations.get(name, 0) + 1
            self.seconds[name] = self.seconds.get(name, 0.0) + float(getattr(trial, "seconds", 0.0))

    def to_dict(self) -> dict[str, Any]:
        return {"wall": self.wall, "evaluations": dict(self.evaluations), "seconds": dict(self.seconds),
                "warm": self.warm}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageClock:
        return cls(float(data["wall"]), {str(k): int(v) for k, v in data["evaluations"].items()},
                   {str(k): float(v) for k, v in data["seconds"].items()}, float(data.get("warm", 0.0)))


class TimedMapper:
    """A stage's mapper that tallies each call's genomes, trials and wall time on ``clock``.

    The loop maps only the genomes it evaluates (each new to the stage), so every call is one
    generation's evaluations. ``scatter`` and any other attribute are the wrapped mapper's.
    """

    def __init__(self, mapper: Any, clock: StageClock) -> None:
        self.mapper, self.clock = mapper, clock
        self._done = 0.0  # when the last call or submission was done (time.perf_counter())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.mapper, name)

    def __call__(self, func: Any, items: Sequence[Any], **options: Any) -> list:
        items = list(items)
        start = time.perf_counter()
        out = self.mapper(func, items, **options)
        self.clock.add(items, out, time.perf_counter() - start)
        self._done = time.perf_counter()
        return out

    def submit(self, func: Any, items: Sequence[Any], **options: Any) -> Any:
        """The wrapped mapper's ``submit``; a submission's wall time counts from when it was sent or
        the one before it was done, whichever is later (submissions in flight together are not
        counted twice); a lazy one's (in process: evaluated when read) from when it is read, not
        over this process's selection, breeding and reports since the one before."""
        from gaorg.evolve.parallel import Submitted, submit

        items = list(items)
        start = time.perf_counter()
        sent = submit(self.mapper, func, items, **options)

        def wait() -> list:
            read = time.perf_counter()
            out = sent.result()
            began = read if getattr(sent, "lazy", False) else max(start, self._done)
            self._done = time.perf_counter()
            self.clock.add(items, out, self._done - began)
            return out

        return Submitted(wait, sent.release, lazy=getattr(sent, "lazy", False))


@dataclass(frozen=True)
class FamilyTime:
    """One family (entry module) in one stage."""

    stage: int
    timeframe: str
    family: str
    evaluations: int
    share: float  # of the stage's summed worker seconds (NaN when no trial carried seconds)
    seconds: float  # share x the stage's evaluation wall time
    eval_per_s: float


@dataclass(frozen=True)
class StageTime:
    """One stage: evaluations, evaluation wall seconds, rate, its share of the run's evaluation
    time, and the seconds of the warm-up before it (0 when none ran)."""

    stage: int
    timeframe: str
    evaluations: int
    seconds: float
    eval_per_s: float
    share: float
    warm_seconds: float = 0.0


@dataclass(frozen=True)
class Timing:
    """The run's timing table: ``stages`` and, per stage, ``families`` costliest first."""

    stages: tuple[StageTime, ...] = ()
    families: tuple[FamilyTime, ...] = ()

    def of(self, stage: int) -> tuple[FamilyTime, ...]:
        return tuple(f for f in self.families if f.stage == stage)

    def frame(self) -> Any:
        """The families as a pandas DataFrame (one row per stage and family)."""
        import pandas as pd

        cols = ["stage", "timeframe", "family", "evaluations", "share", "seconds", "eval_per_s"]
        return pd.DataFrame([[getattr(f, c) for c in cols] for f in self.families], columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``timing`` of ``gaorg evolve --json``; NaN becomes null)."""
        return {"stages": [{**_plain(s), "families": [_plain(f, skip=("stage", "timeframe")) for f in self.of(s.stage)]}
                           for s in self.stages]}

    def metrics(self) -> dict[str, float]:
        """MLflow metrics: ``time.<i>_<tf>.{evaluations,seconds,eval_per_s,share}`` per stage (and
        ``.warm_seconds`` where a warm-up ran) and ``time.<i>_<tf>.<family>.{share,eval_per_s}`` per
        family it evaluated (NaN left out)."""
        out: dict[str, float] = {}
        for s in self.stages:
            key = f"time.{s.stage}_{s.timeframe}"
            out.update({f"{key}.evaluations": float(s.evaluations), f"{key}.seconds": s.seconds,
                        f"{key}.eval_per_s": s.eval_per_s, f"{key}.share": s.share})
            if s.warm_seconds > 0:
                out[f"{key}.warm_seconds"] = s.warm_seconds
            for f in self.of(s.stage):
                out.update({f"{key}.{f.family}.share": f.share, f"{key}.{f.family}.eval_per_s": f.eval_per_s})
        return {k: v for k, v in out.items() if math.isfinite(v)}

    def lines(self) -> list[str]:
        """One line per stage: evaluations, wall time, rate, then each family's share and rate."""
        return [stage_line(s, self.of(s.stage)) for s in self.stages]


def timing_of(clocks: Sequence[StageClock], timeframes: Sequence[str]) -> Timing:
    """The timing table of a run's per-stage clocks."""
    total_wall = sum(c.wall for c in clocks)
    stages, families = [], []
    for i, (clock, tf) in enumerate(zip(clocks, timeframes, strict=False)):
        stage, rows = stage_time(clock, i, tf, total_wall)
        stages.append(stage)
        families.extend(rows)
    return Timing(tuple(stages), tuple(families))


def stage_time(clock: StageClock, index: int, timeframe: str,
               total_wall: float | None = None) -> tuple[StageTime, tuple[FamilyTime, ...]]:
    """A stage's row and its families' rows (costliest first, then by name)."""
    count = sum(clock.evaluations.values())
    worked = sum(clock.seconds.values())
    rows = []
    for name, n in clock.evaluations.items():
        share = clock.seconds.get(name, 0.0) / worked if worked > 0 else math.nan
        secs = share * clock.wall
        rows.append(FamilyTime(index, timeframe, name, n, share, secs, _rate(n, secs)))
    rows.sort(key=lambda f: (-f.share if math.isfinite(f.share) else 0.0, f.family))
    total = clock.wall if total_wall is None else total_wall
    stage = StageTime(index, timeframe, count, clock.wall, _rate(count, clock.wall),
                      clock.wall / total if total > 0 else math.nan, clock.warm)
    return stage, tuple(rows)


def stage_line(stage: StageTime, families: Sequence[FamilyTime]) -> str:
    """``1h: 1,234 evaluations in 12.3 s (100/s); time by entry module (evaluations/s): linear_svc
    71% (5.2/s), ...``"""
    from gaorg.quantities import fmt

    head = (f"{stage.timeframe}: {stage.evaluations:,} evaluations in {stage.seconds:.1f} s "
            f"({fmt('time.eval_per_s', stage.eval_per_s)}/s)")
    if stage.warm_seconds > 0:
        head += f" after a {stage.warm_seconds:.1f} s warm-up"
    if not families:
        return head
    parts = [f"{f.family} {fmt('time.share', f.share)} ({fmt('time.eval_per_s', f.eval_per_s)}/s)"
             for f in families]
    return f"{head}; time by entry module (evaluations/s): {', '.join(parts)}"


def _rate(count: int, seconds: float) -> float:
    if count == 0:
        return 0.0
    return count / seconds if seconds > 0 and math.isfinite(seconds) else math.nan


def _plain(record: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for name in record.__dataclass_fields__:
        value = getattr(record, name)
        if name not in skip:
            out[name] = None if isinstance(value, float) and not math.isfinite(value) else value
    return out
