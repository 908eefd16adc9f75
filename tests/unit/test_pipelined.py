"""``EvolveConfig.pipelined``: each half generation bred while the half before it is evaluated.

The same number of children a generation as the generational loop, in two halves; the next half
sent before the one ahead of it is read (so a cluster's workers never wait between generations);
reproducible, and a run stopped at a checkpoint (which keeps the half already sent) resumes to the
very run it would have been. (On a real cluster, equal to in-process: tests/integration/test_dask_cluster.py.)
"""

from __future__ import annotations

import shutil

import pytest

import gaorg.evolve.loop as loop
import gaorg.evolve.run as run
from gaorg.errors import ConfigError
from gaorg.evolve.checkpoint import encode_state, load_state
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.fitness import evaluate_batch
from gaorg.evolve.parallel import LocalMapper, Submitted
from gaorg.evolve.run import evolve
from gaorg.testing.markets import planted_ema_market

SYMBOLS = ("A", "B")


def _data():
    return {(s, "1h"): planted_ema_market(s, 1200, edge=0.0015, seed=i, revert=0.005) for i, s in enumerate(SYMBOLS)}


def _config(**changes) -> EvolveConfig:
    base = dict(symbols=SYMBOLS, timeframes=("1h",), population=13, generations=3, seed=3, folds=2,
                modules=("ema_crossover", "sma_trend", "rsi_filter", "atr_stop"), pipelined=True, workers=0)
    return EvolveConfig(**{**base, **changes})


def _comparable(directory) -> dict:
    return {k: v for k, v in encode_state(load_state(directory)).items() if k not in ("clocks", "run_id")}


def test_a_generation_is_two_halves_of_children_and_the_run_is_reproducible(monkeypatch):
    sizes: list[int] = []
    vary = loop.vary

    def counting(tb, state, rng, parents, generation, space=None):
        sizes.append(len(parents))
        return vary(tb, state, rng, parents, generation, space)

    monkeypatch.setattr(loop, "vary", counting)
    data = _data()
    first = evolve(_config(), data, progress=False)
    assert sizes == [7, 6] * 3  # population 13: 7 children, then 6, each generation
    sizes.clear()
    generational = evolve(_config(pipelined=False), data, progress=False)
    assert sizes == [13] * 3
    again = evolve(_config(), data, progress=False)
    assert again.history == first.history
    assert [m.genome for m in again.front] == [m.genome for m in first.front]
    assert first.history != generational.history  # a different search, not the same one relabelled
    assert [h.generation for h in first.history] == [0, 1, 2, 3]
    assert all(0 < h.evaluations <= 13 for h in first.history[1:])


class Recording(LocalMapper):
    """In process; records when each submission is sent and when its results are read."""

    events: list[tuple[str, int]] = []

    def submit(self, func, items, per_worker=None) -> Submitted:
        n = sum(e[0] == "sent" for e in self.events)
        self.events.append(("sent", n))
        sent = super().submit(func, items)

        def read() -> list:
            self.events.append(("read", n))
            return sent.result()

        return Submitted(read)


def test_the_next_half_is_sent_before_the_one_ahead_of_it_is_read(monkeypatch):
    Recording.events = []
    monkeypatch.setattr(run, "LocalMapper", Recording)
    evolve(_config(), _data(), progress=False)
    events = Recording.events
    reads = [i for i, e in enumerate(events) if e[0] == "read"]
    assert [events[i][1] for i in reads] == list(range(6))  # the six halves, read in the order sent
    for i in reads[:-1]:  # every half but the last: another already sent when it is read
        sent = sum(e[0] == "sent" for e in events[:i])
        assert sent > events[i][1] + 1, events
    generational: list = []
    Recording.events = generational
    evolve(_config(pipelined=False), _data(), progress=False)
    assert generational == []  # the generational loop maps, it does not submit


def test_a_pipelined_run_stopped_at_a_checkpoint_resumes_to_the_same_run(tmp_path):
    data, cfg = _data(), _config()

    def keep(stats) -> None:  # the checkpoint of generation 1 as it was written, before the rest
        if stats.generation == 1:
            shutil.copytree(tmp_path / "run", tmp_path / "at1")

    whole = evolve(cfg, data, checkpoint_dir=tmp_path / "run", callback=keep, progress=False)
    at1 = load_state(tmp_path / "at1")
    assert at1.generation == 1 and at1.config.pipelined
    assert len(at1.in_flight) == 7  # the half sent before generation 1 was selected, not yet back
    assert load_state(tmp_path / "run").in_flight == []  # a finished run has nothing in flight
    resumed = evolve(cfg, data, checkpoint_dir=tmp_path / "at1", resume=True, progress=False)
    assert resumed.history == whole.history
    assert [m.genome for m in resumed.front] == [m.genome for m in whole.front]
    assert _comparable(tmp_path / "at1") == _comparable(tmp_path / "run")


def test_pipelined_must_be_a_boolean():
    with pytest.raises(ConfigError, match="pipelined"):
        from gaorg.config import parse_config

        parse_config(EvolveConfig, {"symbols": ["A"], "pipelined": "yes"}, where="test")


class Overlapping(LocalMapper):
    """In process, but as a Dask mapper: a generation's checkpoint is written while the next is out."""

    overlaps = True


def test_every_checkpoint_of_a_run_on_workers_resumes_to_the_same_run(tmp_path, monkeypatch):
    """The initial population's checkpoint too: it waited for the first half's results, which had
    already replaced the population it saved (a run stopped there resumed to another run)."""
    monkeypatch.setattr(run, "LocalMapper", Overlapping)
    data, cfg = _data(), _config()

    def keep(stats) -> None:  # each generation's checkpoint as it was written
        shutil.copytree(tmp_path / "run", tmp_path / f"at{stats.generation}")

    whole = evolve(cfg, data, checkpoint_dir=tmp_path / "run", callback=keep, progress=False)
    for g in range(cfg.generations):
        at = load_state(tmp_path / f"at{g}")
        assert at.generation == g
        assert at.evaluations == [sum(h.evaluations for h in whole.history[:g + 1])]
        resumed = evolve(cfg, data, checkpoint_dir=tmp_path / f"at{g}", resume=True, progress=False)
        assert resumed.history == whole.history, g
        assert [m.genome for m in resumed.front] == [m.genome for m in whole.front]


class FakeClock:
    """``time.perf_counter`` of the timing module: advanced only by evaluations and reports."""

    now = 0.0

    @classmethod
    def perf_counter(cls) -> float:
        return cls.now


def _one_second_a_genome(genomes, market, reject_below=None):
    FakeClock.now += len(genomes)  # evaluating takes one "second" a genome, nothing else does
    return evaluate_batch(genomes, market, reject_below=reject_below)


@pytest.mark.parametrize("pipelined", [False, True], ids=["generational", "pipelined"])
def test_in_process_the_stage_clock_counts_the_evaluations_not_the_reports_between_them(monkeypatch, pipelined):
    """Without workers a submission is evaluated when it is read: its wall time is that read's
    (the evaluations/s of the timing table), not the selection, breeding, checkpoint and report
    this process did since the half before it was read (they counted, as 100 s each report here)."""
    import gaorg.evolve.timing as timing

    monkeypatch.setattr(timing, "time", FakeClock)

    def report(stats) -> None:
        FakeClock.now += 100.0

    FakeClock.now = 0.0
    result = evolve(_config(pipelined=pipelined), _data(), callback=report, progress=False,
                    evaluate=_one_second_a_genome)
    (stage,) = result.timing.stages
    assert stage.evaluations == sum(h.evaluations for h in result.history)
    assert stage.seconds == stage.evaluations


class FakeFuture:
    def __init__(self, key: str, value) -> None:
        self.key, self.value = key, value

    def add_done_callback(self, fn) -> None:
        fn(self)

    def release(self) -> None:
        FakeClient.released.add(self.key)


class FakeClient:
    """A Dask client of ``workers`` workers that evaluates each batch as it is mapped; the
    ``fail_at``-th gather raises ``error`` (what Dask raises when the workers kept dying, or
    when the scheduler cancelled the task)."""

    created: set[str] = set()
    released: set[str] = set()

    def __init__(self, workers: int, fail_at: int = 0, error: BaseException | None = None) -> None:
        self.n, self.fail_at, self.error, self.gathers = workers, fail_at, error, 0

    def scheduler_info(self) -> dict:
        return {"workers": {f"w{i}": {} for i in range(self.n)}}

    def map(self, func, batches, key, retries, pure, **kwargs) -> list[FakeFuture]:
        FakeClient.created.update(key)
        return [FakeFuture(k, func(b, **kwargs)) for k, b in zip(key, batches, strict=True)]

    def gather(self, fut: FakeFuture):
        self.gathers += 1
        if self.gathers == self.fail_at:
            raise self.error
        return fut.value


def _on_fake_cluster(monkeypatch, client: FakeClient) -> None:
    from gaorg.evolve.fitness import genome_cost
    from gaorg.evolve.parallel import DaskMapper

    class Mapper(DaskMapper):  # the market and the warm-up stay in process
        def scatter(self, obj):
            return obj

        def warm(self, func, *args):
            return [func(*args)]

    FakeClient.created, FakeClient.released = set(), set()
    monkeypatch.setattr(run, "LocalMapper", lambda: Mapper(client, cost=genome_cost))


@pytest.mark.parametrize("pipelined", [False, True], ids=["generational", "pipelined"])
def test_on_any_number_of_workers_the_same_run_and_every_batch_released(monkeypatch, pipelined):
    data, cfg = _data(), _config(pipelined=pipelined)
    alone = evolve(cfg, data, progress=False)
    for workers in (2, 5):
        _on_fake_cluster(monkeypatch, FakeClient(workers))
        spread = evolve(cfg, data, progress=False)
        assert spread.history == alone.history
        assert [m.genome for m in spread.front] == [m.genome for m in alone.front]
        assert FakeClient.created and FakeClient.released == FakeClient.created


@pytest.mark.parametrize(("pipelined", "fail_at"), [(False, 10), (False, 12), (True, 10), (True, 15), (True, 20)])
def test_workers_that_kept_dying_or_a_cancelled_task_are_a_cluster_error_and_release_everything(
        monkeypatch, pipelined, fail_at):
    """On 2 workers the initial population is gathers 1-9; then generational: one a generation;
    pipelined: two a half (the next half's batches sent), the stage's last half one."""
    from types import SimpleNamespace

    from distributed import KilledWorker
    from distributed.client import FutureCancelledError

    from gaorg.errors import ClusterError

    dead = SimpleNamespace(address="tcp://127.0.0.1:1")
    for error, says in ((KilledWorker("k", dead, 3), "Dask workers kept dying"),
                        (FutureCancelledError("k", "lost"), "Dask cancelled the evaluation")):
        client = FakeClient(2, fail_at=fail_at, error=error)
        _on_fake_cluster(monkeypatch, client)
        with pytest.raises(ClusterError, match=says):
            evolve(_config(pipelined=pipelined), _data(), progress=False)
        assert client.gathers == fail_at
        assert FakeClient.created and FakeClient.released == FakeClient.created  # nothing left on the workers
