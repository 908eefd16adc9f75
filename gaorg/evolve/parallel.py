"""The loop's ``map``: in-process, or over a Dask ``distributed.Client``.

A mapper is called as ``mapper(func, items)`` where ``func`` takes a *list* of items and returns
a list of results (a batch: fewer, larger tasks keep scheduling overhead low); the mapper splits
``items`` into batches, runs them and returns the results flattened, in submission order, so
the number of workers never changes the result. ``scatter(obj)`` ships a stage's market data
to every worker once; pass the handle as a keyword of a ``functools.partial``.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gaorg.errors import ClusterError


class Submitted:
    """Evaluations sent off: ``result()`` waits for them and returns them in order; ``release()``
    lets them go unread (a run stopped before them). What a mapper's ``submit`` returns.
    ``lazy``: nothing is evaluated before ``result()``, which does it all in this process (its
    wall time is the evaluations'; a cluster's submission runs while this process does other work)."""

    def __init__(self, wait: Callable[[], list], release: Callable[[], None] | None = None,
                 lazy: bool = False) -> None:
        self._wait, self._release, self.lazy = wait, release, lazy

    def result(self) -> list:
        return self._wait()

    def release(self) -> None:
        if self._release is not None:
            self._release()


def submit(mapper: Any, func: Callable[[list], list], items: Sequence[Any], **options: Any) -> Submitted:
    """``mapper.submit(func, items, **options)``, or, for a mapper that only maps, the call
    deferred until its result is asked for (the same results, one call at a time)."""
    items = list(items)
    if hasattr(mapper, "submit"):
        return mapper.submit(func, items, **options)
    return Submitted(lambda: list(mapper(func, items)), lazy=True)


class LocalMapper:
    """Evaluate in this process (notebooks, tests, a single core)."""

    workers = 1

    def scatter(self, obj: Any) -> Any:
        return obj

    def __call__(self, func: Callable[[list], list], items: Sequence[Any],
                 meanwhile: Callable[[], Any] | None = None) -> list:
        if meanwhile is not None:
            meanwhile()
        items = list(items)
        return list(func(items)) if items else []

    def submit(self, func: Callable[[list], list], items: Sequence[Any], per_worker: int | None = None) -> Submitted:
        """The results of ``func`` over ``items``, computed when asked for (one process)."""
        items = list(items)
        return Submitted(lambda: self(func, items), lazy=True)

    def warm(self, func: Callable[..., Any], *args: Any) -> list:
        """Run ``func(*args)`` once in every worker: here, this process."""
        return [func(*args)]


class DaskMapper:
    """Map batches over a Dask cluster; tasks lost with a dying worker are retried ``retries`` times.

    ``trace``: None, or a list to which each call appends its timeline (:func:`traced_batch`): the
    client's submit and gather times and, per batch, when its worker received, started and
    finished it and when its result reached the client (``time.time()``, one clock on one machine).
    ``tests/bench/bench_scale.py --trace`` sets it on the class to see where a generation's time goes.
    """

    trace: list[dict[str, Any]] | None = None
    overlaps = True  # ``meanwhile`` runs here while the workers evaluate (False: before; an A/B)

    equal_batches: int | None = None  # the class's default of ``batches_per_worker`` (a benchmark's A/B)
    min_batch_seconds = 0.05  # a guided batch's floor: ~5x a round trip (~10 ms), at the last call's pace

    def __init__(self, client: Any, retries: int = 3, batches_per_worker: int | None = None,
                 cost: Callable[[Any], float] | None = None) -> None:
        self.client = client
        quiet_abandoned_gathers(client)
        self.retries = retries
        self.batches_per_worker = batches_per_worker if batches_per_worker is not None else self.equal_batches
        self.cost = cost  # estimated cost of an item: batches are sized on it
        self.pace: float | None = None  # worker-seconds per unit of cost in the last call
        self._done_at = 0.0  # when the last submission's results were all in (time.time())

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def scatter(self, obj: Any) -> Any:
        """Send ``obj`` to every worker once (and to any worker that joins later); returns a
        handle to pass as a keyword of the mapped function, and to ``release()`` after the stage.

        ``obj`` travels as a worker plugin (:mod:`gaorg.evolve.held`): each worker unpickles it
        once and keeps it until released, and a worker that replaces a dead one receives it on
        joining, so a task retried on a survivor still finds it.
        """
        from gaorg.evolve.held import hold

        return hold(self.client, obj)

    def warm(self, func: Callable[..., Any], *args: Any) -> list:
        """Run ``func(*args)`` once on every worker (a task pinned to each), e.g. to load code."""
        addresses = list(self.client.scheduler_info().get("workers", {}))
        futures = [self.client.submit(func, *args, workers=[a], allow_other_workers=False, pure=False)
                   for a in addresses]
        try:
            return self.client.gather(futures)
        finally:
            for fut in futures:
                fut.release()

    def __call__(self, func: Callable[[list], list], items: Sequence[Any],
                 meanwhile: Callable[[], Any] | None = None) -> list:
        """The results of ``func`` over ``items``; ``meanwhile()`` runs here once the batches are
        sent, while the workers evaluate (before, if ``overlaps`` is False)."""
        items = list(items)
        if meanwhile is not None and (not items or not self.overlaps):
            meanwhile()
            meanwhile = None
        sent = self.submit(func, items)
        try:
            if meanwhile is not None:
                meanwhile()
        except BaseException:
            sent.release()
            raise
        return sent.result()

    def submit(self, func: Callable[[list], list], items: Sequence[Any], per_worker: int | None = None) -> Submitted:
        """Send ``func`` over ``items`` to the workers in batches and return at once; the
        workers take the batches of successive submissions in the order they were sent, so a
        submission made while another runs keeps them busy when that one's last batch ends.

        ``per_worker``: that many batches a worker, of about equal cost (for submissions that
        follow each other closely: the next fills a worker's wait for the slowest batch, and
        larger batches share more indicators); None: ``batches_per_worker``, else guided batches."""
        items = list(items)
        if not items:
            return Submitted(list)
        from gaorg.evolve.held import HeldRef, run_with_held

        base, kwargs = func, {}
        if isinstance(func, functools.partial) and not func.args:
            base, kwargs = func.func, dict(func.keywords)
        if any(isinstance(v, HeldRef) for v in kwargs.values()):
            kwargs = {"task": base, **{k: v.held() if isinstance(v, HeldRef) else v for k, v in kwargs.items()}}
            base = run_with_held
        trace = self.trace
        if trace is not None:
            kwargs, base = {"timed_task": base, **kwargs}, traced_batch
        costs = [self.cost(x) if self.cost else 1.0 for x in items]
        per_worker = per_worker or self.batches_per_worker
        if per_worker:
            groups = balanced_groups(costs, min(len(items), self.workers * per_worker))
        else:  # no batch shorter than min_batch_seconds at the last call's pace (timing never changes a result)
            floor = self.min_batch_seconds / self.pace if self.pace else 0.0
            groups = guided_groups(costs, self.workers, smallest=floor)
        batches = [[items[i] for i in group] for group in groups]
        submit = time.time()
        # the largest batches first, the smallest last (they fill the workers' tail): the scheduler
        # runs a map's tasks in the order given, and the keys sort in that order too
        run = f"gaorg-batch-{uuid.uuid4().hex}"
        futures = self.client.map(base, batches, key=[f"{run}-{j:04d}" for j in range(len(batches))],
                                  retries=self.retries, pure=False, **kwargs)
        arrived: dict[str, float] = {}  # when each batch's result was ready here (however late it is read)
        for fut in futures:
            fut.add_done_callback(lambda f: arrived.setdefault(f.key, time.time()))
        submitted = time.time()

        def release() -> None:
            for fut in futures:
                fut.release()

        def wait() -> list:
            from distributed import KilledWorker
            from distributed.client import FutureCancelledError

            try:
                # each batch's results fetched in turn as it is done (the largest were sent first and
                # mostly finish first), not all of them once the last is done: their way back
                # overlaps the batches still running
                results = [self.client.gather(fut) for fut in futures]
                self.pace = self._pace(submit, arrived, results, sum(costs), trace is not None)
                if trace is not None:
                    trace.append({"submit": submit, "submitted": submitted, "gathered": time.time(), "batches": [
                        {**{k: v for k, v in r.items() if k != "results"}, "arrived": arrived.get(f.key, math.nan),
                         "genomes": len(r["results"])} for f, r in zip(futures, results, strict=True)]})
                    results = [r["results"] for r in results]
            except KilledWorker as exc:
                raise ClusterError(
                    f"Dask workers kept dying while evaluating ({exc}); the task was retried "
                    f"{self.retries} times. Check the workers' memory and logs"
                ) from None
            except FutureCancelledError as exc:
                raise ClusterError(
                    f"Dask cancelled the evaluation ({exc}); the scheduler or this client lost track of "
                    f"it. Check that the scheduler is running and reachable, and its logs"
                ) from None
            finally:
                release()
            out: list[Any] = [None] * len(items)
            for group, batch in zip(groups, results, strict=True):
                for i, result in zip(group, batch, strict=True):
                    out[i] = result
            return out

        return Submitted(wait, release)

    def _pace(self, submit: float, arrived: dict[str, float], results: list, cost: float, traced: bool) -> float:
        """Worker-seconds per unit of cost: the seconds the results say their items took
        (``Trial.seconds``) when they all say it; else the wall time from when the workers
        could start (not before the submission ahead was done) to the last result, times the
        workers. Submissions in flight together overlap, so only the first is exact for them."""
        items = [x for r in results for x in (r["results"] if traced else r)]
        seconds = [getattr(x, "seconds", 0.0) for x in items]
        done = max(arrived.values(), default=time.time())
        began, self._done_at = max(submit, self._done_at), max(done, self._done_at)
        if items and all(s > 0 for s in seconds):
            return sum(seconds) / max(cost, 1e-12)
        return max(done - began, 1e-3) * self.workers / max(cost, 1e-12)


def quiet_abandoned_gathers(client: Any) -> None:
    """Keep Dask's abandoned gathers from printing a traceback on Ctrl-C.

    A ``client.gather`` interrupted by Ctrl-C leaves its coroutine running on the client's event
    loop; once the batches are released, its per-future tasks end in ``AllExit`` (Dask's signal
    to stop waiting) that nothing retrieves, and asyncio prints "Task exception was never
    retrieved ... AllExit" with a traceback before gaorg's own message. This filters that one
    exception out of the loop's handler; every other goes to the handler there was.
    """
    loop = getattr(getattr(client, "loop", None), "asyncio_loop", None)
    if loop is None or getattr(loop.get_exception_handler(), "gaorg_quiet", False):
        return
    previous = loop.get_exception_handler()

    def handler(lp: Any, context: dict[str, Any]) -> None:
        if type(context.get("exception")).__name__ == "AllExit":
            return
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    handler.gaorg_quiet = True  # type: ignore[attr-defined]
    loop.call_soon_threadsafe(loop.set_exception_handler, handler)


def traced_batch(batch: list, timed_task: Callable[..., list], **kwargs: Any) -> dict[str, Any]:
    """``timed_task(batch, **kwargs)`` with its worker's times: when the task reached the worker
    (its first entry in the worker's transition log), started and finished, the worker's pid, and
    ``work``: the seconds its results say were spent on their items (``Trial.seconds``; the rest
    of the task's time is the batch's fixed work)."""
    from distributed import get_worker

    started = time.time()
    worker = get_worker()
    key = worker.get_current_task()
    received = min((entry[-1] for entry in worker.state.log if entry and entry[0] == key
                    and isinstance(entry[-1], float)), default=math.nan)
    results = timed_task(batch, **kwargs)
    return {"received": received, "started": started, "finished": time.time(), "pid": os.getpid(),
            "work": sum(float(getattr(r, "seconds", 0.0)) for r in results), "results": results}


def guided_groups(costs: Sequence[float], workers: int, factor: float = 2.0, smallest: float = 0.0) -> list[list[int]]:
    """Split item indices into batches of decreasing cost (guided self-scheduling), largest first.

    Items are taken costliest first; each batch gets ``1 / (factor x workers)`` of the cost not
    yet given out (at least one item), so the first batches are large (few round trips) and the
    last ones hold an item or two: the workers run out of work at about the same time, the last
    one waiting for at most a small batch instead of an average one. No batch costs less than
    ``smallest`` but the last (on short generations a round trip is not worth one genome). Deterministic; each batch
    lists its indices in order, and results are put back by index, so the batching never changes
    what a run computes.
    """
    order = sorted(range(len(costs)), key=lambda j: (-costs[j], j))
    left = float(sum(costs))
    groups: list[list[int]] = []
    group: list[int] = []
    got = 0.0
    for j in order:
        group.append(j)
        got += costs[j]
        if got >= max(left / (factor * max(workers, 1)), smallest) - 1e-12:
            groups.append(sorted(group))
            left -= got
            group, got = [], 0.0
    if group:
        groups.append(sorted(group))
    return groups


def balanced_groups(costs: Sequence[float], count: int) -> list[list[int]]:
    """Split item indices into ``count`` groups of about equal total cost (longest first).

    Deterministic; each group lists its indices in order. Results are put back by index, so the
    grouping never changes what a run computes, only how evenly the workers are loaded.
    """
    import heapq

    heap = [(0.0, g) for g in range(count)]
    groups: list[list[int]] = [[] for _ in range(count)]
    for i in sorted(range(len(costs)), key=lambda j: (-costs[j], j)):
        load, g = heapq.heappop(heap)
        groups[g].append(i)
        heapq.heappush(heap, (load + costs[i], g))
    return [sorted(g) for g in groups if g]


# Dask's background clocks, slower on gaorg's LocalCluster: the event loop's health tick (20 ms),
# the memory monitors of each worker and of its nanny (100 ms) and the system monitor (500 ms).
# With 2 workers idle they cost 7.5-7.6% of a core, 4.1-4.5% with these (the client's process,
# which holds the scheduler and the nannies: 3.0-3.1% -> 0.7%; tests/bench/bench_cluster_idle.py),
# CPU taken from the workers on a machine whose cores they fill. Memory limits still act within
# half a second.
QUIET_CLUSTER = {
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
}


@contextmanager
def open_client(
    scheduler: str | None = None, workers: int | None = None, connect_timeout: float = 5.0,
    worker_timeout: float = 60.0,
) -> Iterator[Any]:
    """A ``distributed.Client``: joined to ``scheduler`` (``tcp://HOST:PORT``), or of a new
    ``LocalCluster`` with ``workers`` processes (default: one per core), one thread each, on
    127.0.0.1. An unreachable scheduler raises ClusterError within ``connect_timeout`` seconds,
    one without any worker within ``worker_timeout`` seconds.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler!r} within {connect_timeout:g}s "
                f"({type(exc).__name__}); start one with `dask scheduler` and workers with "
                "`dask worker ADDRESS`, or leave out --scheduler to use a local cluster"
            ) from None
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except (OSError, TimeoutError):
            client.close()
            raise ClusterError(
                f"the Dask scheduler at {scheduler!r} has no workers after {worker_timeout:g}s; "
                f"start some with `dask worker {scheduler}`"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    n = workers or os.cpu_count() or 1
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which fixes glibc's mmap
    # threshold at 128 KB: every array of a 15m series (280 KB) is then mmapped and unmapped,
    # its pages faulted in and zeroed each time, and an evaluation costs ~1.6x its CPU in a
    # process without it (tests/bench/bench_worker_env.py). Unset here, for this cluster's
    # nannies only (each keeps its environment when it restarts a worker). The background clocks
    # (QUIET_CLUSTER) take their CPU from the workers on a machine whose cores they fill.
    cluster = client = None
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                              **QUIET_CLUSTER}):
            cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,  # a free port: never 8787 taken
                preload=["gaorg.evolve.worker_init"],  # the workers ignore a terminal's Ctrl-C; this process does not
            )
        client = Client(cluster, set_as_default=False)
        yield client
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
