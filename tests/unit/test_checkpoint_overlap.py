"""A generation's checkpoint written, and its figures reported, while the next generation is
evaluated (a mapper whose workers evaluate while the loop waits): the same files, figures and
results, one generation later, and a run resumed from one written that way computes the same
generations."""

from __future__ import annotations

import shutil

import gaorg.evolve.run as run
from gaorg.evolve.checkpoint import STATE_FILE, encode_state, load_state
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.parallel import LocalMapper
from gaorg.evolve.run import evolve
from gaorg.testing.markets import planted_ema_market

SYMBOLS = ("A", "B")


class OverlappingMapper(LocalMapper):
    """In process, but as a Dask mapper: ``meanwhile`` runs after the batch is "sent" (here: after
    it is evaluated); records the generation on disk before and after it, and keeps a copy of the
    checkpoint of generation 1 as it was written."""

    overlaps = True
    seen: list[tuple[int | None, int]] = []
    reported: list[int] = []  # the generations the callback had seen, after each ``meanwhile``
    directory = None

    def __call__(self, func, items, meanwhile=None):
        out = list(func(list(items))) if items else []
        if meanwhile is not None:
            path = self.directory / STATE_FILE
            before = load_state(self.directory).generation if path.exists() else None
            meanwhile()
            after = load_state(self.directory).generation
            self.seen.append((before, after))
            self.reported.append(len(self.reports))
            if after == 1:
                shutil.copytree(self.directory, self.directory.parent / "at1")
        return out


def test_the_checkpoint_written_during_the_next_generation_is_the_same_and_resumes_the_same(tmp_path, monkeypatch):
    data = {(s, "1h"): planted_ema_market(s, 1200, edge=0.0015, seed=i, revert=0.005) for i, s in enumerate(SYMBOLS)}
    cfg = EvolveConfig(symbols=SYMBOLS, timeframes=("1h",), population=12, generations=3, seed=3, folds=2,
                       modules=("ema_crossover", "sma_trend"))
    plain_reports: list = []
    plain = evolve(cfg, data, callback=plain_reports.append, checkpoint_dir=tmp_path / "plain", progress=False)

    reports: list = []
    OverlappingMapper.seen, OverlappingMapper.reported = [], []
    OverlappingMapper.directory, OverlappingMapper.reports = tmp_path / "run", reports
    monkeypatch.setattr(run, "LocalMapper", OverlappingMapper)
    overlapped = evolve(cfg, data, callback=reports.append, checkpoint_dir=tmp_path / "run", progress=False)
    # generation g's checkpoint reaches the disk, and its figures the callback, while generation
    # g + 1 is out; the last at once
    assert OverlappingMapper.seen == [(None, 0), (0, 1), (1, 2)]
    assert OverlappingMapper.reported == [1, 2, 3]
    assert reports == plain_reports == list(plain.history) and len(reports) == 4
    assert overlapped.history == plain.history
    assert [m.genome for m in overlapped.front] == [m.genome for m in plain.front]
    mine, theirs = (encode_state(load_state(tmp_path / d)) for d in ("run", "plain"))
    assert {k: v for k, v in mine.items() if k not in ("clocks", "run_id")} == {
        k: v for k, v in theirs.items() if k not in ("clocks", "run_id")}

    monkeypatch.undo()  # a run stopped after generation 1's checkpoint, resumed in process
    resumed = evolve(cfg, data, checkpoint_dir=tmp_path / "at1", resume=True, progress=False)
    assert resumed.history == plain.history
    assert [m.genome for m in resumed.front] == [m.genome for m in plain.front]


def test_a_report_that_fails_while_a_stopped_stage_unwinds_still_frees_its_market():
    """A stage stopped (Ctrl-C) while its last generation's report was still to be written runs
    that report on the way out; when it fails too (a tracking store gone), the stage still releases
    the market it sent to the workers (before, the failing write skipped the release)."""
    import random

    import pytest

    from gaorg.evolve.checkpoint import LoopState
    from gaorg.evolve.fitness import evaluate_batch
    from gaorg.evolve.loop import run_stage
    from gaorg.evolve.operators import Space
    from gaorg.evolve.run import build_market

    released: list[bool] = []

    class Held:
        def __init__(self, obj) -> None:
            self.obj = obj

        def release(self) -> None:
            released.append(True)

    class Stopping(LocalMapper):
        overlaps = True
        calls = 0

        def scatter(self, obj):
            return Held(obj)

        def __call__(self, func, items, meanwhile=None):
            Stopping.calls += 1
            if Stopping.calls == 2:  # generation 1 is being evaluated: generation 0's report is pending
                raise KeyboardInterrupt
            return list(func(list(items))) if items else []

    def failing_report(stats) -> None:
        raise RuntimeError("the tracking store is gone")

    data = _data_two()
    cfg = EvolveConfig(symbols=SYMBOLS, timeframes=("1h",), population=8, generations=2, seed=3, folds=2,
                       modules=("ema_crossover", "sma_trend"))
    market = build_market(cfg, data, 0)
    state = LoopState(run_id="r", config=cfg, archives=[{}], evaluations=[0])
    space = Space.from_modules(cfg.modules).with_lookback(market.max_lookback)
    with pytest.raises(RuntimeError, match="tracking store is gone"):
        run_stage(state, random.Random(0), space, Stopping(), market, [], None, failing_report, False,
                  evaluate=lambda genomes, market, **_: evaluate_batch(genomes, market.obj))
    assert released == [True]


def _data_two():
    return {(s, "1h"): planted_ema_market(s, 1200, edge=0.0015, seed=i, revert=0.005) for i, s in enumerate(SYMBOLS)}
