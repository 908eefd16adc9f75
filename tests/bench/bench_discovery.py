"""The discovery benchmark (a script, not a test): power and false discoveries of the whole path.

    .venv/bin/python tests/bench/bench_discovery.py [--seeds 20] [--processes 2] [--out DIR]
        [--kinds trend,walk,...] [--assets 1,3] [--strengths 0.001,0.0015,0.0025]
        [--population 24] [--generations 3] [--bars 4000] [--parsimony 0.5] [--pipelined]

Every cell of :func:`gaorg.research.discovery.cells` (3 planted kinds x 3 edge strengths, and the
3 null kinds, on baskets of 1 and 3 assets) runs once per seed: a seeded market written to a real
DuckDB store, the demo's evolution (4h -> 1h, 24 genomes x 3 generations, 3 walk-forward folds,
20% hold-out) logged and registered in a real MLflow store (sqlite), the default gates run best
first, and every candidate scored on 4,000 fresh bars of the same process. Processes each keep
their own GAORG_HOME. Records go to ``DIR/records.jsonl`` as they finish (a rerun skips what is
there); at the end the table (Markdown), the gate-threshold curve (JSON) and its plotly figure
(``DIR/discovery_curve.html``, plotly.js inline so it opens offline) are written. ``--population``,
``--generations`` and ``--bars`` change the sizes (power against budget and history): one ``--out``
per choice of sizes, since a rerun skips the runs its folder has recorded.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

from gaorg.research.discovery import (
    STRENGTHS,
    Cell,
    RunRecord,
    Setup,
    cells,
    curve_figure,
    gate_curve,
    oracle_ceiling,
    summarise,
    table,
)

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99)


def _quiet() -> None:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    for name in ("mlflow", "alembic", "distributed"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _work(job: tuple[str, dict, int, dict]) -> dict:
    """One run in this process's own GAORG_HOME (made on first use)."""
    from gaorg.config import Settings
    from gaorg.research.discovery import Setup, run_one

    _quiet()
    root, cell, seed, sizes = job
    home = Path(root) / f"home-{os.getpid()}"
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home, tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    return run_one(settings, Cell(**cell), seed, Setup(**sizes)).to_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--out", default="bench-discovery")
    ap.add_argument("--kinds", default="")
    ap.add_argument("--assets", default="1,3")
    ap.add_argument("--strengths", default=",".join(str(s) for s in STRENGTHS))
    ap.add_argument("--population", type=int, default=Setup.population, help="genomes a generation")
    ap.add_argument("--generations", type=int, default=Setup.generations, help="generations a stage")
    ap.add_argument("--bars", type=int, default=Setup.bars, help="stored 1h bars a series (the last 20%% held out)")
    ap.add_argument("--parsimony", type=float, default=None,
                    help="EvolveConfig.parsimony of the evolution (default: EvolveConfig's)")
    ap.add_argument("--pipelined", action="store_true",
                    help="EvolveConfig.pipelined: each half generation bred while the one before is evaluated")
    ap.add_argument("--ceiling", action="store_true",
                    help="only how often the planted rule itself passes the hold-out gate, per cell (no evolution)")
    args = ap.parse_args(argv)
    sizes = {"population": args.population, "generations": args.generations, "bars": args.bars,
             "parsimony": args.parsimony, "pipelined": args.pipelined}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "records.jsonl"
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            r = RunRecord.from_dict(json.loads(line))
            done[(r.cell, r.seed)] = r
    chosen = cells([float(s) for s in args.strengths.split(",")], [int(a) for a in args.assets.split(",")])
    if args.kinds:
        chosen = [c for c in chosen if c.kind in args.kinds.split(",")]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if args.ceiling:
        print("| cell | bars | planted rule passes hold-out gate | its hold-out Sharpe |\n| --- | ---: | ---: | ---: |")
        for c in (c for c in chosen if not c.null):
            got = [oracle_ceiling(c, s, Setup(**sizes)) for s in seeds]
            print(f"| {c.label} | {args.bars} | {sum(sh > 0 and d >= 0.95 for sh, d in got)}/{len(got)} "
                  f"| {np.mean([sh for sh, _ in got]):.2f} |", flush=True)
        return 0
    jobs = [(str(out.resolve()), {"kind": c.kind, "edge": c.edge, "assets": c.assets}, s, sizes)
            for s in seeds for c in chosen if (c, s) not in done]
    print(f"{len(chosen)} cells x {args.seeds} seeds: {len(jobs)} runs to go ({len(done)} recorded)", flush=True)
    start = time.perf_counter()
    with path.open("a") as fh, mp.get_context("spawn").Pool(args.processes) as pool:
        for i, rec in enumerate(pool.imap_unordered(_work, jobs), 1):
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            r = RunRecord.from_dict(rec)
            done[(r.cell, r.seed)] = r
            print(f"[{i}/{len(jobs)} {time.perf_counter() - start:.0f}s] {r.cell.label} seed {r.seed}: "
                  f"promoted {r.promoted} discovered {r.discovered} ({r.seconds:.1f}s)", flush=True)
    records = [r for r in done.values() if r.cell in chosen and r.seed in seeds]
    setup = Setup(**sizes)

    def ceiling(cell: Cell, seed: int) -> bool:
        sharpe, dsr = oracle_ceiling(cell, seed, setup)
        return sharpe > 0 and dsr >= 0.95

    rows = summarise(sorted(records, key=lambda r: (r.cell.null, r.kind, r.edge, r.assets, r.seed)), ceiling)
    text = table(rows)
    (out / "table.md").write_text(text + "\n")
    curve = gate_curve(records, THRESHOLDS)
    (out / "curve.json").write_text(json.dumps(curve, indent=1))
    curve_figure(curve).write_html(out / "discovery_curve.html", include_plotlyjs=True, full_html=True)
    print(text)
    print(json.dumps(curve))
    planted = [r for r in records if not r.cell.null]
    nulls = [r for r in records if r.cell.null]
    if planted:
        print(f"power overall {sum(r.discovered for r in planted) / len(planted):.0%} of {len(planted)} planted runs")
    if nulls:
        print(f"FDR overall {sum(r.promoted is not None for r in nulls) / len(nulls):.0%} of {len(nulls)} null runs")
    promoted = [r for r in records if r.promoted is not None]
    false = [r for r in promoted if not r.discovered]
    if promoted:
        print(f"false promotions: {len(false)} of {len(promoted)} promotions ({len(false) / len(promoted):.1%}) "
              "promoted noise or kept less than half the planted Sharpe: "
              + ", ".join(f"{r.cell.label} seed {r.seed}" for r in false))
    return 0


if __name__ == "__main__":
    sys.exit(main())
