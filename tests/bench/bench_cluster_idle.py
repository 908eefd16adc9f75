"""What a LocalCluster of 2 idle workers costs in CPU: its background clocks (issue 16).

    .venv/bin/python tests/bench/bench_cluster_idle.py --seconds 15
    .venv/bin/python tests/bench/bench_cluster_idle.py --config '{"distributed.admin.tick.interval": "20ms"}'

gaorg's LocalCluster (``gaorg.evolve.parallel.open_client``, 2 workers) sits idle for
``--seconds``; the CPU seconds of this process (the client, the scheduler and the nannies) and of
each worker, from /proc, over that time, as a share of one core. Each run measures Dask's own
intervals first (``QUIET_CLUSTER`` undone), then gaorg's, in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def cpu(p) -> float:
    t = p.cpu_times()
    return t.user + t.system


def measure(seconds: float, config: dict, dask_defaults: bool) -> tuple[float, float, list[float]]:
    import dask
    import psutil

    from gaorg.evolve import parallel

    with dask.config.set(config):
        quiet = dict(parallel.QUIET_CLUSTER)
        if dask_defaults:
            parallel.QUIET_CLUSTER.clear()
        try:
            with parallel.open_client(workers=2) as client:
                time.sleep(3)
                me = psutil.Process()
                procs = [me] + me.children(recursive=True)
                workers = set(client.run(os.getpid).values())
                start = {p.pid: cpu(p) for p in procs}
                time.sleep(seconds)
                used = {p.pid: (cpu(p) - start[p.pid]) / seconds for p in procs}
        finally:
            parallel.QUIET_CLUSTER.update(quiet)
    return sum(used.values()), used[me.pid], [used[p] for p in used if p in workers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="seconds the idle cluster is measured, with Dask's intervals then gaorg's (default: 15)")
    parser.add_argument("--config", default="{}", help="dask config to set around the cluster (JSON)")
    args = parser.parse_args()
    config = json.loads(args.config)
    print(f"load {os.getloadavg()[0]:.1f}")
    for label, dask_defaults in (("Dask's intervals", True), ("gaorg's", False)):
        total, client, workers = measure(args.seconds, config, dask_defaults)
        print(f"{label:17s} all {total:6.1%} of a core; client+scheduler+nannies {client:6.1%}; "
              f"workers {', '.join(f'{w:.1%}' for w in workers)}")


if __name__ == "__main__":
    main()
