"""A real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1.

The run joins by address; mid-run, one worker is killed (SIGKILL, from inside one of its own
evaluation tasks, so the kill lands mid-generation every time); its tasks are retried on the
survivor and the run completes with the same result as an in-process run. The market data shipped
to the workers is held by each of them, survives a death and reaches a worker that joins later.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.fitness import evaluate_batch
from gaorg.evolve.parallel import DaskMapper, open_client
from gaorg.evolve.run import evolve
from gaorg.testing.markets import planted_ema_market

REPO = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).parent / "dask"
SYMBOLS = ("A", "B")


def dying_batch(genomes, market, calls: str, kill_at: int, **options):
    """Evaluate like the real fitness; the ``kill_at``-th task overall SIGKILLs its own worker.

    Exactly one task kills, ever: two workers appending at once may both count ``kill_at``, and the
    marker file, created exclusively, lets only the first of them die.
    """
    with open(calls, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    if len(Path(calls).read_text().split()) >= kill_at:
        try:
            os.close(os.open(calls + ".killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return evaluate_batch(genomes, market, **options)  # options: the run's reject_below


@pytest.fixture
def cluster(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # workers import this module for dying_batch
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(sched_file)], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        workers = [subprocess.Popen(
            [str(DASK), "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
             "--no-dashboard"], env=env, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        procs += workers
        yield address, workers
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.parametrize("pipelined", [False, True], ids=["generational", "pipelined"])
def test_run_joins_a_cluster_by_address_and_survives_a_killed_worker(cluster, tmp_path, pipelined):
    address, workers = cluster
    data = {(s, "1h"): planted_ema_market(s, 1500, edge=0.0015, seed=i, revert=0.005) for i, s in enumerate(SYMBOLS)}
    cfg = EvolveConfig(symbols=SYMBOLS, timeframes=("1h",), population=16, generations=3, seed=5, folds=3,
                       modules=("ema_crossover", "sma_trend"), scheduler=address, pipelined=pipelined)
    calls = tmp_path / "calls.txt"
    dying = functools.partial(dying_batch, calls=str(calls), kill_at=12)  # in generation 1 or 2
    with open_client(address) as client:
        client.wait_for_workers(2, timeout=90)
        result = evolve(cfg, data, client=client, evaluate=dying, progress=False)
        alive = len(client.scheduler_info()["workers"])
    assert alive == 1  # one worker died mid-run ...
    assert sum(w.poll() is not None for w in workers) == 1
    assert len(calls.read_text().split()) > 12  # ... and the run went on past its death
    local = evolve(cfg, data, progress=False)  # ... to the same result as an in-process run
    assert [m.genome for m in result.front] == [m.genome for m in local.front]
    assert result.history == local.history


def scaled(batch: list[int], data: np.ndarray) -> list[float]:
    """A task that needs the shipped data."""
    return [i * float(data.sum()) for i in batch]


def _holds(name: str, dask_worker=None) -> bool:
    return name in dask_worker.plugins


def test_shipped_data_reaches_every_worker_once_survives_a_death_and_reaches_a_newcomer(cluster, tmp_path):
    """Every worker holds the shipped data; when one dies, the survivor finishes the map, and a
    worker that joins afterwards receives the data on joining."""
    address, _ = cluster
    with open_client(address) as client:
        client.wait_for_workers(2, timeout=90)
        mapper = DaskMapper(client, retries=1)
        ref = mapper.scatter(np.arange(1000.0))
        holders = client.run(_holds, ref.name)
        assert sorted(holders.values()) == [True, True]
        victim = sorted(holders)[0]
        os.kill(client.run(os.getpid)[victim], signal.SIGKILL)
        items = list(range(10))
        assert mapper(functools.partial(scaled, data=ref), items) == [i * 499_500.0 for i in items]
        assert victim not in client.scheduler_info()["workers"]
        newcomer = subprocess.Popen(
            [str(DASK), "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard"],
            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(2, timeout=90)
            assert sorted(client.run(_holds, ref.name).values()) == [True, True]
            ref.release()
            assert sorted(client.run(_holds, ref.name).values()) == [False, False]
        finally:
            newcomer.terminate()
            newcomer.wait(timeout=15)
