"""Scale benchmark (issue 16, item 3): how an evolution's cost grows with the basket.

    .venv/bin/python tests/bench/bench_scale.py                                  # 3,10,30,50 series, both clusters
    .venv/bin/python tests/bench/bench_scale.py --baskets 3,10 --bars 8760 --clusters local --out scale.jsonl

For each basket size (N series of ``--bars`` 15m bars; 35,040 = one year) and each kind of cluster
(``local``: a ``LocalCluster`` of 2 worker processes; ``processes``: ``dask scheduler`` and 2
``dask worker`` processes started by hand on 127.0.0.1, as on a real cluster), a fresh cluster
runs a warm-up evolution on a tiny market (every worker imports gaorg and loads the numba code it
will need from numba's disk cache), then the measured evolution: population ``--population``,
``--generations`` a stage, stages 4h -> 1h -> 15m (4h and 1h resampled from the 15m bars), the
non-learned families (the learned ones fit models per fold and would dominate every figure; their
cost is in docs/benchmarks.md), seed 0. Everything is read from /proc, so the figures are what
the operating system saw:

- wall time per stage and per generation, evaluations/s;
- worker efficiency: the workers' CPU seconds in a stage over (workers x the stage's wall time),
  and the same over generations 1+ alone (no market loading or sending, no wider first generation);
- memory: peak resident set (VmHWM, reset after the warm-up) of the client, of a hand-started
  scheduler (a LocalCluster's runs in the client's process) and of each worker,
  the worker's growth over its warm baseline beside the bytes of market data it holds;
- the same for the scoring of the final front on the hold-out (row ``hold-out``);
- bytes received by each worker per stage over TCP (the kernel's count per socket, ``ss -tinp``;
  a connection closed within the stage would be missed), beside the stage's market data bytes.

Records go to ``--out`` (JSON lines) and a table is printed; ``--report FILE`` re-prints it.

``--trace`` also times every batch (``DaskMapper.trace``: when the client submitted it, when its
worker received, started and finished it, the seconds its genomes took, when the client had the
results) and splits each generation's 2 x wall worker-seconds (generations 1+) into: the client's
own steps between two generations, this benchmark's own readings of /proc and ``ss`` there, the
submit call, dispatch (submitted -> the worker's first start), gaps between a worker's batches,
each batch's fixed work (its time less its genomes'), the genomes' evaluation, the wait for the
other worker's last batch, and the results' way back to the client (the last finish -> gathered).
``--equal-batches N`` sends N equal batches a worker instead of the guided ones (an A/B);
``--checkpoint`` writes a checkpoint every generation as ``gaorg evolve`` does (while the next
generation is evaluated), ``--checkpoint-first`` before it is sent (as before; an A/B).
``--speedup`` runs each basket on one worker of the same kind of cluster just before the
``--workers`` run and prints the parallel efficiency, speedup over workers (the usual definition,
which counts the client's share of a generation on both sides), beside the CPU efficiency above
(the workers' CPU over workers x wall: stricter).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gaorg.data.synth import synth_bars  # noqa: E402
from gaorg.evolve.config import EvolveConfig  # noqa: E402
from gaorg.evolve.parallel import DaskMapper, open_client  # noqa: E402
from gaorg.evolve.run import build_market, evolve  # noqa: E402
from gaorg.strategies.catalogue import CATALOGUE  # noqa: E402

NON_LEARNED = tuple(sorted(n for n, s in CATALOGUE.items() if not s.learned))
TIMEFRAMES = ("4h", "1h", "15m")
DASK = Path(sys.executable).parent / "dask"


def proc_figures(pid: int) -> dict[str, float]:
    """CPU seconds, bytes read (rchar), resident and peak resident MB of a process on this machine."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"cpu": (int(stat[11]) + int(stat[12])) / tick, "rchar": float(io["rchar"]),
            "rss_mb": int(status["VmRSS"].split()[0]) / 1024, "hwm_mb": int(status["VmHWM"].split()[0]) / 1024}


def socket_bytes(pids: list[int]) -> dict[tuple, float]:
    """Bytes received on each open TCP socket of ``pids`` (``ss -tinp``: the kernel's tcp_info)."""
    out: dict[tuple, float] = {}
    lines = subprocess.run(["ss", "-tinpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    head = None
    for line in lines:
        if not line.startswith(("\t", " ")):
            head = line
            continue
        owner = re.search(r"pid=(\d+)", head or "")
        got = re.search(r"bytes_received:(\d+)", line)
        if owner and got and int(owner.group(1)) in pids:
            fields = head.split()
            out[(int(owner.group(1)), fields[3], fields[4])] = float(got.group(1))
    return out


def received(before: dict[tuple, float], after: dict[tuple, float], pid: int) -> float:
    """Bytes a process received between two ``socket_bytes`` readings (sockets closed between them are lost)."""
    return sum(v - before.get(k, 0.0) for k, v in after.items() if k[0] == pid)


def reset_peak(pid: int) -> None:
    """Reset a process's peak resident set (VmHWM) to its current one (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def market_bytes(data: dict, symbols: tuple[str, ...], timeframe: str) -> int:
    market = build_market(EvolveConfig(symbols=symbols, timeframes=(timeframe,), folds=4), data, 0)
    return int(sum(getattr(b, f).nbytes for b in market.bars
                   for f in ("ts", "open", "high", "low", "close", "volume", "funding")))


def basket(n: int, bars: int, seed: int = 0) -> tuple[tuple[str, ...], dict]:
    symbols = tuple(f"SCALE-{i:03d}" for i in range(n))
    return symbols, {(s, "15m"): synth_bars(s, "15m", bars, seed=seed + i) for i, s in enumerate(symbols)}


class HandStartedCluster:
    """``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1 (one thread each)."""

    def __init__(self, workers: int) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="gaorg-scale-")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        sched_file = Path(self.tmp.name) / "scheduler.json"
        self.procs = [subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)], env=env, cwd=self.tmp.name,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        self.address = json.loads(sched_file.read_text())["address"]
        self.procs += [subprocess.Popen(
            [str(DASK), "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
             "--no-dashboard"], env=env, cwd=self.tmp.name,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.tmp.cleanup()


def measure(n: int, args: argparse.Namespace, cluster: str) -> dict:
    symbols, data = basket(n, args.bars)
    sizes = {tf: market_bytes(data, symbols, tf) for tf in TIMEFRAMES}
    hand = HandStartedCluster(args.workers) if cluster == "processes" else None
    try:
        with open_client(hand.address if hand else None, workers=args.workers) as client:
            client.wait_for_workers(args.workers, timeout=120)
            pids = sorted(client.run(os.getpid).values())
            warm_syms, warm = basket(2, 2000, seed=99)
            evolve(EvolveConfig(symbols=warm_syms, timeframes=TIMEFRAMES, population=16, generations=1,
                                modules=NON_LEARNED, folds=4), warm, client=client, progress=False)
            for pid in pids + [os.getpid()] + ([hand.procs[0].pid] if hand else []):
                reset_peak(pid)
            base = {pid: proc_figures(pid) for pid in pids}
            marks: list[tuple[str, float, dict, dict]] = [("start", time.perf_counter(), base, socket_bytes(pids))]
            readings: list[float] = []  # seconds this benchmark's callback took, a generation

            others = [os.getpid()] + ([hand.procs[0].pid] if hand else [])  # this client; a hand-started scheduler

            def on_generation(stats) -> None:  # the sockets (``ss``, ~10 ms) only where a stage ends
                start = time.perf_counter()
                marks.append((stats.timeframe, start, {pid: proc_figures(pid) for pid in pids + others},
                              socket_bytes(pids) if stats.generation == args.generations else {}))
                readings.append(time.perf_counter() - start)

            cfg = EvolveConfig(symbols=symbols, timeframes=TIMEFRAMES, population=args.population,
                               generations=args.generations, modules=NON_LEARNED, folds=4, seed=0,
                               pipelined=args.pipelined)
            DaskMapper.trace = [] if args.trace else None
            DaskMapper.equal_batches = args.equal_batches
            DaskMapper.overlaps = not args.checkpoint_first
            DaskMapper.min_batch_seconds = args.min_batch_seconds
            ckpt = tempfile.TemporaryDirectory(prefix="gaorg-scale-ckpt-") if args.checkpoint else None
            t0 = time.perf_counter()
            try:
                result = evolve(cfg, data, client=client, callback=on_generation, progress=False,
                                checkpoint_dir=Path(ckpt.name) / "run" if ckpt else None)
            finally:
                trace, DaskMapper.trace, DaskMapper.equal_batches = DaskMapper.trace, None, None
                DaskMapper.overlaps, DaskMapper.min_batch_seconds = True, 0.05
                if ckpt:
                    ckpt.cleanup()
            wall = time.perf_counter() - t0
            end = {pid: proc_figures(pid) for pid in pids}
            marks.append(("hold-out", time.perf_counter(), end, socket_bytes(pids)))
            client_fig = proc_figures(os.getpid())
            # the scheduler keeps every held market's bytes for workers that join later: a
            # LocalCluster's runs in this process (in the client's peak), a hand-started one apart
            sched_mb = proc_figures(hand.procs[0].pid)["hwm_mb"] if hand else None
    finally:
        if hand:
            hand.close()
    stages = []
    for i, tf in enumerate((*TIMEFRAMES, "hold-out")):
        gens = [m for m in marks if m[0] == tf]
        before = [m for m in marks[:marks.index(gens[0])]][-1]
        last = gens[-1]
        seconds = last[1] - before[1]
        evaluations = result.stages[i].evaluations if i < len(TIMEFRAMES) else len(result.front)
        cpu = sum(last[2][p]["cpu"] - before[2][p]["cpu"] for p in pids)
        got = [received(before[3], last[3], p) for p in pids]
        gen_times = np.diff([before[1]] + [g[1] for g in gens])
        loop = {}
        if len(gens) > 1:  # generations 1+: the loop alone (no stage set-up, no wider first generation)
            loop_s = last[1] - gens[0][1]
            loop_cpu = sum(last[2][p]["cpu"] - gens[0][2][p]["cpu"] for p in pids)
            rest = [p for p in last[2] if p not in pids]  # the client (and a hand-started scheduler)
            loop = {"loop_s_per_generation": loop_s / (len(gens) - 1),
                    "loop_efficiency": loop_cpu / (len(pids) * loop_s),
                    "loop_client_cores": sum(last[2][p]["cpu"] - gens[0][2][p]["cpu"] for p in rest) / loop_s}
        stages.append({**loop,
            "timeframe": tf, "seconds": seconds, "evaluations": evaluations,
            "eval_per_s": evaluations / seconds, "s_per_generation": float(np.median(gen_times)),
            "efficiency": cpu / (len(pids) * seconds), "market_mb": sizes[TIMEFRAMES[min(i, 2)]] / 2**20,
            "received_mb": [r / 2**20 for r in got],
        })
    if trace and not args.pipelined:  # the split reads one call a generation; pipelined runs make two
        for stage, tf in zip(stages, TIMEFRAMES, strict=False):
            gens = [i for i, m in enumerate(marks[1:]) if m[0] == tf]
            stage["trace"] = split_generations(trace, readings, gens[1:], pids)
    return {
        "cluster": cluster, "series": n, "bars": args.bars, "population": args.population,
        "generations": args.generations, "workers": len(pids), "equal_batches": args.equal_batches, "min_batch_seconds": args.min_batch_seconds,
        "pipelined": args.pipelined,
        "checkpoint": "first" if args.checkpoint and args.checkpoint_first else bool(args.checkpoint), "wall_s": wall,
        "evaluations": sum(s["evaluations"] for s in stages[:-1]), "stages": stages,
        "client_peak_mb": client_fig["hwm_mb"], "scheduler_peak_mb": sched_mb,
        "worker_peak_mb": [end[p]["hwm_mb"] for p in pids],
        "worker_growth_mb": [end[p]["hwm_mb"] - base[p]["rss_mb"] for p in pids],
        "market_mb_all_stages": sum(sizes.values()) / 2**20,
        "load": os.getloadavg()[0], "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


PARTS = ("client", "readings", "submit", "dispatch", "between", "fixed", "evaluation", "last_batch", "return")


def split_generations(trace: list[dict], readings: list[float], calls: list[int], pids: list[int]) -> dict:
    """Mean worker-seconds a generation in each of :data:`PARTS` over the map calls ``calls``
    (generation i's call is ``trace[i]``; its cycle runs from the previous call's gather to its
    own, so the parts add up to workers x the cycle), and per batch the mean scheduler latency
    (submitted -> received) and wait on its worker (received -> started)."""
    sums = dict.fromkeys(PARTS, 0.0)
    sums.update(cycle=0.0, batches=0.0, to_worker=0.0, queued=0.0)
    for i in calls:
        call, prev = trace[i], trace[i - 1]
        cycle = call["gathered"] - prev["gathered"]
        own = call["submit"] - prev["gathered"] - readings[i - 1]
        lasts = {p: max(b["finished"] for b in call["batches"] if b["pid"] == p) for p in pids
                 if any(b["pid"] == p for b in call["batches"])}
        end = max(lasts.values())
        for p in pids:
            mine = sorted((b for b in call["batches"] if b["pid"] == p), key=lambda b: b["started"])
            busy = sum(b["finished"] - b["started"] for b in mine)
            work = sum(b["work"] for b in mine)
            sums["client"] += own
            sums["readings"] += readings[i - 1]
            sums["submit"] += call["submitted"] - call["submit"]
            if not mine:
                sums["last_batch"] += end - call["submitted"]
                sums["return"] += call["gathered"] - end
                continue
            sums["dispatch"] += mine[0]["started"] - call["submitted"]
            sums["between"] += sum(b["started"] - a["finished"] for a, b in zip(mine, mine[1:], strict=False))
            sums["fixed"] += busy - work
            sums["evaluation"] += work
            sums["last_batch"] += end - lasts[p]
            sums["return"] += call["gathered"] - end
        sums["cycle"] += cycle
        sums["batches"] += len(call["batches"])
        sums["to_worker"] += sum(b["received"] - call["submitted"] for b in call["batches"])
        sums["queued"] += sum(b["started"] - b["received"] for b in call["batches"])
    n = max(len(calls), 1)
    out = {k: sums[k] / n for k in (*PARTS, "cycle")}
    out["to_worker"] = sums["to_worker"] / max(sums["batches"], 1)
    out["queued"] = sums["queued"] / max(sums["batches"], 1)
    out["batches"] = sums["batches"] / n
    return out


def trace_table(records: list[dict]) -> str:
    """The ``--trace`` split: worker-seconds a generation (generations 1+) in each part, and its share."""
    heads = ("client's steps", "bench readings", "submit", "dispatch", "between batches", "batch fixed work",
             "evaluation", "last batch wait", "results back")
    rows = ["| cluster | series | stage | s / generation | " + " | ".join(heads) + " | batch: to worker ms | "
            "batch: queued ms |", "| --- | ---: | --- | ---: | " + " | ".join("---:" for _ in heads) + " | ---: | ---: |"]
    for r in records:
        for s in r["stages"]:
            t = s.get("trace")
            if not t:
                continue
            total = r["workers"] * t["cycle"]
            cells = " | ".join(f"{t[k]:.3f} ({t[k] / total:.0%})" for k in PARTS)
            rows.append(f"| {r['cluster']} | {r['series']} | {s['timeframe']} | {t['cycle']:.2f} | {cells} "
                        f"| {1000 * t['to_worker']:.0f} | {1000 * t['queued']:.0f} |")
    return "\n".join(rows) if len(rows) > 2 else ""


def table(records: list[dict]) -> str:
    rows = ["| cluster | series | stage | evaluations | s | s / generation | evaluations/s | efficiency "
            "| s / generation, generations 1+ | efficiency, generations 1+ | market MB | received MB per worker |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in records:
        for s in r["stages"]:
            loop = (f"{s['loop_s_per_generation']:.2f} | {s['loop_efficiency']:.0%}" if "loop_efficiency" in s
                    else " | ")
            rows.append(f"| {_name(r)} | {r['series']} | {s['timeframe']} | {s['evaluations']} | {s['seconds']:.1f} "
                        f"| {s['s_per_generation']:.2f} | {s['eval_per_s']:.1f} | {s['efficiency']:.0%} | {loop} "
                        f"| {s['market_mb']:.1f} | {', '.join(f'{x:.1f}' for x in s['received_mb'])} |")
    rows += ["", "| cluster | series | wall s | client peak MB | scheduler peak MB | worker peak MB | worker growth MB "
             "| market MB (all stages) | load |", "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |"]
    for r in records:
        sched = "in the client" if r.get("scheduler_peak_mb") is None else f"{r['scheduler_peak_mb']:.0f}"
        rows.append(f"| {_name(r)} | {r['series']} | {r['wall_s']:.1f} | {r['client_peak_mb']:.0f} | {sched} "
                    f"| {', '.join(f'{x:.0f}' for x in r['worker_peak_mb'])} "
                    f"| {', '.join(f'{x:.0f}' for x in r['worker_growth_mb'])} "
                    f"| {r['market_mb_all_stages']:.1f} | {r['load']:.1f} |")
    return "\n".join(rows)


def _name(r: dict) -> str:
    name = f"{r['cluster']}, pipelined" if r.get("pipelined") else r["cluster"]
    return name if r["workers"] != 1 else f"{name}, 1 worker"


def speedup_table(records: list[dict]) -> str:
    """Parallel efficiency, the usual definition: a stage's seconds a generation (generations 1+)
    on one worker over (workers x those on ``workers``), each multi-worker record paired with the
    one-worker record of the same cluster and basket just before it (``--speedup``)."""
    rows = ["| cluster | series | workers | stage | s / generation, 1 worker | s / generation | speedup "
            "| parallel efficiency | CPU efficiency | client + scheduler CPU, cores |",
            "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    single: dict[tuple, dict] = {}
    for r in records:
        if r["workers"] == 1:
            single[(r["cluster"], r["series"])] = r
            continue
        one = single.get((r["cluster"], r["series"]))
        if one is None:
            continue
        for s1, s in zip(one["stages"], r["stages"], strict=True):
            if "loop_s_per_generation" not in s:
                continue
            speed = s1["loop_s_per_generation"] / s["loop_s_per_generation"]
            rows.append(f"| {_name(r)} | {r['series']} | {r['workers']} | {s['timeframe']} "
                        f"| {s1['loop_s_per_generation']:.3f} | {s['loop_s_per_generation']:.3f} | {speed:.2f} "
                        f"| {speed / r['workers']:.0%} | {s['loop_efficiency']:.0%} "
                        f"| {s.get('loop_client_cores', math.nan):.2f} |")
    return "\n".join(rows) if len(rows) > 2 else ""


def linearity(records: list[dict]) -> str:
    """Seconds per generation of the finest stage against basket size: a least-squares line and its fit."""
    lines = []
    for cluster in sorted({f"{_name(r)}, {r['generations']} generations a stage" for r in records}):
        finest = [(r["series"], r["stages"][len(TIMEFRAMES) - 1]) for r in records
                  if f"{_name(r)}, {r['generations']} generations a stage" == cluster]
        pts = sorted((n, s.get("loop_s_per_generation", s["s_per_generation"])) for n, s in finest)
        if len(pts) < 2:
            continue
        x, y = np.array(pts).T
        slope, intercept = np.polyfit(x, y, 1)
        r2 = 1 - np.sum((y - (slope * x + intercept)) ** 2) / max(np.sum((y - y.mean()) ** 2), 1e-12)
        lines.append(f"{cluster}: 15m s/generation = {slope:.3f} x series + {intercept:.2f} (R^2 {r2:.3f})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baskets", default="3,10,30,50")
    p.add_argument("--bars", type=int, default=35_040, help="15m bars a series (35,040: one year)")
    p.add_argument("--population", type=int, default=128)
    p.add_argument("--generations", type=int, default=2, help="a stage")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--clusters", default="local,processes")
    p.add_argument("--out", type=Path, default=None, help="append records here (JSON lines)")
    p.add_argument("--report", type=Path, default=None, help="only print the tables of these records")
    p.add_argument("--trace", action="store_true", help="time every batch and split each generation's time")
    p.add_argument("--checkpoint", action="store_true", help="write a checkpoint every generation, as gaorg evolve")
    p.add_argument("--checkpoint-first", action="store_true",
                   help="with --checkpoint: write it before the next generation is sent (as before; an A/B)")
    p.add_argument("--min-batch-seconds", type=float, default=0.05,
                   help="a guided batch's floor at the last generation's pace (0: down to one genome; an A/B)")
    p.add_argument("--speedup", action="store_true",
                   help="also run each basket on one worker just before (parallel efficiency = speedup / workers)")
    p.add_argument("--pipelined", action="store_true",
                   help="EvolveConfig.pipelined: each half generation bred while the half before it is evaluated")
    p.add_argument("--equal-batches", type=int, default=None, metavar="N",
                   help="N equal batches a worker (the mapper before guided batches; an A/B)")
    args = p.parse_args(argv)
    if args.report:
        records = [json.loads(line) for line in args.report.read_text().splitlines() if line.strip()]
    else:
        records = []
        for cluster in args.clusters.split(","):
            for n in (int(x) for x in args.baskets.split(",")):
                for workers in ([1] if args.speedup and args.workers > 1 else []) + [args.workers]:
                    record = measure(n, argparse.Namespace(**{**vars(args), "workers": workers}), cluster)
                    records.append(record)
                    print(f"{_name(record)} {n} series: {record['wall_s']:.1f} s, load {record['load']:.1f}", flush=True)
                    if args.out:
                        with args.out.open("a") as fh:
                            fh.write(json.dumps(record) + "\n")
    print(table(records))
    print(linearity(records))
    print(trace_table(records))
    print(speedup_table(records))


if __name__ == "__main__":
    main()
