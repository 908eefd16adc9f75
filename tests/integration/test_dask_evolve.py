"""The default Dask path: a LocalCluster of single-threaded worker processes, data broadcast once,
results in submission order; an unreachable scheduler is a clear error within seconds.

(Evolution results over a real cluster, equal to in-process runs, are in test_dask_cluster.py.)
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np
import pytest

from gaorg.errors import ClusterError
from gaorg.evolve.fitness import Market
from gaorg.evolve.parallel import QUIET_CLUSTER, DaskMapper, open_client
from gaorg.testing.markets import random_walk_market


def _square_all(batch: list[int]) -> list[int]:
    return [i * i for i in batch]


def _held_closes(name: str, dask_worker=None) -> int | None:
    plugin = dask_worker.plugins.get(name)
    return None if plugin is None else len(plugin.obj.close)


def _closes(batch: list[int], market) -> list[int]:
    return [len(market.close) for _ in batch]


def _basket_closes(batch: list[int], market) -> list[tuple]:
    return [(market.timeframe, tuple(float(b.close.sum()) for b in market.bars)) for _ in batch]


def _held_names(prefix: str, dask_worker=None) -> int:
    return sum(name.startswith(prefix) for name in dask_worker.plugins)


def test_local_cluster_broadcasts_data_and_keeps_submission_order():
    with open_client(workers=2) as client:
        client.wait_for_workers(2, timeout=60)
        workers = client.scheduler_info()["workers"].values()
        assert len(workers) == 2 and all(w["nthreads"] == 1 for w in workers)
        assert all(w["host"] == "127.0.0.1" for w in workers)
        # without Dask's MALLOC_TRIM_THRESHOLD_ (glibc's mmap threshold then adapts: ~1.6x less CPU an
        # evaluation, tests/bench/bench_worker_env.py), and nothing else of Dask's worker environment lost
        env = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")})
        assert list(env.values()) == [{"MALLOC_TRIM_THRESHOLD_": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                                       "OMP_NUM_THREADS": "1"}] * 2
        import dask

        assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") == 65536  # ours only
        # the slower background clocks reach the workers (their config comes from the nanny)
        clocks = client.run(lambda: {k: dask.config.get(k) for k in QUIET_CLUSTER})
        assert list(clocks.values()) == [QUIET_CLUSTER] * 2
        assert dask.config.get("distributed.admin.tick.interval") == "20ms"  # the process's own: left alone

        mapper = DaskMapper(client, batches_per_worker=3)
        market = random_walk_market("A", 500)
        ref = mapper.scatter(market)
        held = client.run(_held_closes, ref.name)
        assert list(held.values()) == [len(market.close)] * 2  # on every worker
        assert mapper(functools.partial(_closes, market=ref), [0, 1, 2]) == [len(market.close)] * 3
        ref.release()
        assert list(client.run(_held_closes, ref.name).values()) == [None, None]

        # a basket travels a series at a time (a worker never holds the whole market twice) and
        # a task gets it whole; releasing it frees every piece
        basket = Market("1h", tuple(random_walk_market(s, 400 + i, seed=i) for i, s in enumerate("ABC")),
                        (), "anchored", None)
        ref = mapper.scatter(basket)
        assert list(client.run(_held_names, ref.name).values()) == [4, 4]  # 3 series and the rest
        want = ("1h", tuple(float(b.close.sum()) for b in basket.bars))
        assert mapper(functools.partial(_basket_closes, market=ref), [0, 1, 2, 3]) == [want] * 4
        ref.release()
        assert list(client.run(_held_names, ref.name).values()) == [0, 0]

        items = list(range(23))
        assert mapper(_square_all, items) == [i * i for i in items]
        mapper.trace = []  # a traced call: the same results, and each batch's times in order
        assert mapper(_square_all, items) == [i * i for i in items]
        (call,) = mapper.trace
        assert sum(b["genomes"] for b in call["batches"]) == 23
        assert {b["pid"] for b in call["batches"]} <= set(client.run(os.getpid).values())
        for b in call["batches"]:
            assert call["submit"] <= b["received"] <= b["started"] <= b["finished"] <= b["arrived"] <= call["gathered"]
        mapper.trace = None
        assert mapper(_square_all, []) == []
        pids = mapper.warm(os.getpid)  # the warm-up's task runs once on every worker, none twice
        assert len(pids) == len(set(pids)) == 2 and os.getpid() not in pids


def test_unreachable_scheduler_is_a_clear_error_within_seconds():
    start = time.monotonic()
    with pytest.raises(ClusterError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'.*dask scheduler"):
        with open_client("tcp://127.0.0.1:9", connect_timeout=2.0):
            pass
    assert time.monotonic() - start < 10


def test_a_scheduler_without_workers_is_a_clear_error_not_a_hang():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address="127.0.0.1:0") as empty:
        start = time.monotonic()
        with pytest.raises(ClusterError, match="has no workers after 1s; start some with `dask worker"):
            with open_client(empty.scheduler_address, worker_timeout=1.0):
                pass
        assert time.monotonic() - start < 10


def _scaled(batch: list[int], data) -> list[float]:
    return [i * float(data.sum()) for i in batch]


def _own_pid() -> int:
    return os.getpid()


def test_a_local_clusters_workers_ignore_ctrl_c_and_the_client_keeps_it():
    """Ctrl-C in a terminal reaches every process of the group: gaorg's LocalCluster workers ignore
    it (each printed a KeyboardInterrupt traceback), the client's process still stops on it, even
    while the cluster starts (ignoring it there for the workers' sake dropped that Ctrl-C)."""
    import signal
    import threading

    before = signal.getsignal(signal.SIGINT)
    with open_client(workers=2) as client:
        assert signal.getsignal(signal.SIGINT) is before
        pids = client.run(_own_pid)
        for pid in pids.values():
            os.kill(pid, signal.SIGINT)
        time.sleep(1.0)
        assert client.run(_own_pid) == pids  # the same workers, alive and answering
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))  # lands while it starts
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        with open_client(workers=2):
            time.sleep(10)  # a Ctrl-C that came during the start stops it before this
    timer.join()


def test_an_evaluation_dask_cancels_is_a_cluster_error():
    with open_client(workers=1) as client:
        mapper = DaskMapper(client)
        ref = client.submit(np.arange, 10.0, pure=False)
        client.cancel([ref])  # what a scheduler that lost track of the data does to the tasks needing it
        with pytest.raises(ClusterError, match="Dask cancelled the evaluation"):
            mapper(functools.partial(_scaled, data=ref), [1, 2, 3])




def test_an_abandoned_gathers_allexit_is_not_printed_other_loop_errors_are():
    """Ctrl-C in a ``client.gather`` leaves Dask's gather running on the client's loop; its
    orphaned tasks end in ``AllExit`` and asyncio printed "Task exception was never retrieved"
    with a traceback before gaorg's own message (seen on ``gaorg evolve`` interrupted in its
    warm-up; reproduced 3 of 3 times by a list gather of 8 running tasks on 2 workers). A
    DaskMapper's client drops that one exception; any other still reaches the loop's handler."""
    import threading

    from distributed.client import AllExit

    with open_client(workers=1) as client:
        loop = client.loop.asyncio_loop
        seen: list[str] = []
        installed = threading.Event()

        def record(lp, context) -> None:
            seen.append(type(context.get("exception")).__name__)

        def install() -> None:
            loop.set_exception_handler(record)  # the handler there was before gaorg's
            installed.set()

        loop.call_soon_threadsafe(install)
        assert installed.wait(10)
        DaskMapper(client)
        DaskMapper(client)  # a second mapper on the same client: still one report per error

        async def fail(exc: BaseException) -> None:
            raise exc

        def orphan(exc: BaseException) -> None:  # a task nothing awaits: asyncio reports it when freed
            loop.create_task(fail(exc))

        for exc in (AllExit(), ValueError("a real error")):
            loop.call_soon_threadsafe(orphan, exc)
        deadline = time.monotonic() + 10
        while "ValueError" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
    assert seen == ["ValueError"]
