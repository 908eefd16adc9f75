"""The pipelined loop's search against the generational one (a script, not a test), seed by seed.

    .venv/bin/python tests/bench/bench_pipelined.py --seeds 20 [--out FILE.jsonl]
    .venv/bin/python tests/bench/bench_pipelined.py --report FILE.jsonl

``EvolveConfig.pipelined`` breeds each half generation from the population as it stood half a
generation earlier (docs/scale.md): the workers never wait, but selection acts later. This runs
``bench_search.py``'s NSGA-II on its planted markets (trend, reversion, breakout; 3 assets, the
demo's sizes) both ways on the same seeds, and prints each kind's means (the front's hypervolume,
the best strategy's hold-out Sharpe, its Sharpe on fresh bars, evaluations) and the paired
difference, pipelined minus generational, with a 95% t interval over the seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import one, paired  # noqa: E402

KEYS = ("hypervolume", "holdout_sharpe", "fresh_sharpe", "evaluations")


def report(rows: list[dict]) -> str:
    out = ["| market | loop | seeds | " + " | ".join(KEYS) + " |", "| --- | --- | ---: |" + " ---: |" * len(KEYS)]
    diffs = ["", "| market | pipelined - generational | " + " | ".join(KEYS) + " |",
             "| --- | --- |" + " --- |" * len(KEYS)]
    for kind in dict.fromkeys(r["kind"] for r in rows):
        rs = [r for r in rows if r["kind"] == kind]
        for loop in ("generational", "pipelined"):
            mine = [r for r in rs if r["method"] == loop]
            out.append(f"| {kind} | {loop} | {len(mine)} | " + " | ".join(
                f"{np.nanmean([float(r[k]) for r in mine]):.2f}" for k in KEYS) + " |")
        cells = []
        for key in KEYS:
            d, lo, hi, n = paired(rs, key, "pipelined", "generational")
            cells.append(f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]")
        diffs.append(f"| {kind} | paired, {n} seeds | " + " | ".join(cells) + " |")
    return "\n".join(out + diffs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--kinds", default="trend,reversion,breakout")
    ap.add_argument("--population", type=int, default=24)
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--out", default="")
    ap.add_argument("--report", default="", metavar="FILE.jsonl", help="print the tables of these records only")
    args = ap.parse_args(argv)
    if args.report:
        print(report([json.loads(line) for line in open(args.report) if line.strip()]))
        return 0
    rows = []
    for kind in args.kinds.split(","):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            got = []
            for loop, pipelined in (("generational", False), ("pipelined", True)):
                (row,) = one(kind, 0.0015, 3, seed, args.population, args.generations, ("nsga2",),
                             pipelined=pipelined)
                got.append({**row, "method": loop})
            rows += got
            print(" ".join(f"{r['method']} hv {r['hypervolume']:.2f} hold-out {r['holdout_sharpe']:.2f} "
                           f"fresh {r['fresh_sharpe']:.2f};" for r in got) + f" {kind} seed {seed}", flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in got)
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
