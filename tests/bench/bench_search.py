"""Search at equal budget (a script, not a test): gaorg's NSGA-II, random sampling and Optuna's NSGA-II.

    .venv/bin/python tests/bench/bench_search.py [--seeds 10] [--kinds trend,reversion,breakout]
        [--edge 0.0015] [--assets 3] [--population 24] [--generations 3] [--out FILE.jsonl]

On planted markets (``gaorg.data.planted``; the demo's sizes: 4,000 1h bars per asset, stages 4h
then 1h, 3 walk-forward folds, 20% hold-out) each method evaluates as many distinct genomes as
gaorg's hierarchical run spent, or as many as its evaluations cost in 1h backtests of the whole
basket (``--budget compute``; ``gaorg.research.search``). Per kind and method: the mean over
seeds of the evaluations, their cost, the hypervolume of everything evaluated, the best
walk-forward Sharpe, that strategy's hold-out Sharpe and its Sharpe on the 4,000 fresh bars after
the stored ones (beside the planted rule's own), and how often each method had the highest
hypervolume and the best fresh Sharpe.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

import numpy as np

from gaorg.backtest.run import backtest, backtest_genome
from gaorg.data.resample import resample_bars
from gaorg.evolve.config import EvolveConfig
from gaorg.research.discovery import Cell, Setup, markets
from gaorg.research.search import METHODS, compare


def one(kind: str, edge: float, assets: int, seed: int, population: int, generations: int,
        methods: tuple[str, ...] = METHODS, budget: str = "evaluations", **overrides) -> list[dict]:
    setup = Setup(population=population, generations=generations)
    series = markets(Cell(kind, edge, assets), seed, setup, f"S{seed}")
    bars = {}
    for m in series:
        head = m.head(setup.bars)
        bars[(head.symbol, "1h")] = head
        bars[(head.symbol, "4h")] = resample_bars(head, "4h")
    config = EvolveConfig(symbols=tuple(bars_[0] for bars_ in bars if bars_[1] == "1h"), timeframes=("4h", "1h"),
                          population=population, generations=generations, seed=seed, folds=setup.folds,
                          holdout=setup.holdout, workers=0, **overrides)

    def fresh(genome) -> float:
        return float(np.mean([backtest_genome(genome, m.bars, start=setup.bars).metrics["sharpe"] for m in series]))

    oracle = float(np.mean([backtest(m.bars, m.oracle, start=setup.bars).metrics["sharpe"] for m in series]))
    return [{"kind": kind, "edge": edge, "assets": assets, "seed": seed, "oracle": oracle, **asdict(s)}
            for s in compare(config, bars, fresh, methods, budget)]


def paired(rows: list[dict], key: str, method: str, other: str) -> tuple[float, float, float, int]:
    """Mean over seeds of ``method`` minus ``other`` on ``key``, with a 95% t interval, seed by seed."""
    from scipy import stats

    by = {(r["seed"], r["method"]): r[key] for r in rows}
    diffs = np.array([by[(s, method)] - by[(s, other)] for s, m in by if m == method and (s, other) in by])
    diffs = diffs[np.isfinite(diffs)]
    if len(diffs) < 2:
        return float("nan"), float("nan"), float("nan"), len(diffs)
    half = stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / np.sqrt(len(diffs))
    return float(diffs.mean()), float(diffs.mean() - half), float(diffs.mean() + half), len(diffs)


def _cost_of(row: dict) -> float:
    """Records before the cost was kept: the baselines' cost is their count, NSGA-II's unknown."""
    return float("nan") if row["method"] == "nsga2" else float(row["evaluations"])


def report(rows: list[dict], methods: list[str]) -> str:
    """The means table, then NSGA-II's paired differences against each other method (95% intervals)."""
    out = ["| market | method | evaluations | cost | hypervolume | best walk-forward Sharpe | its hold-out Sharpe "
           "| its fresh Sharpe (planted rule) | highest HV | best fresh |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    diffs = ["", "| market | NSGA-II minus | hypervolume | best walk-forward Sharpe | its hold-out Sharpe "
             "| its fresh Sharpe |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for label in dict.fromkeys(f"{r['kind']} {r['edge']:g} x{r['assets']}" for r in rows):
        mine = [r for r in rows if f"{r['kind']} {r['edge']:g} x{r['assets']}" == label]
        seeds = sorted({r["seed"] for r in mine})
        wins_hv = dict.fromkeys(methods, 0)
        wins_fresh = dict.fromkeys(methods, 0)
        for s in seeds:
            at = [r for r in mine if r["seed"] == s]
            wins_hv[max(at, key=lambda r: r["hypervolume"])["method"]] += 1
            wins_fresh[max(at, key=lambda r: np.nan_to_num(r["fresh_sharpe"], nan=-99))["method"]] += 1
        for m in methods:
            rs = [r for r in mine if r["method"] == m]

            def mean(key, rs=rs):
                return float(np.nanmean([r.get(key, _cost_of(r)) for r in rs]))

            out.append(f"| {label} | {m} | {mean('evaluations'):.0f} | {mean('cost'):.0f} | {mean('hypervolume'):.2f} "
                       f"| {mean('best_sharpe'):.2f} | {mean('holdout_sharpe'):.2f} | {mean('fresh_sharpe'):.2f} "
                       f"({mean('oracle'):.2f}) | {wins_hv[m]}/{len(seeds)} | {wins_fresh[m]}/{len(seeds)} |")
        for other in [m for m in methods if m != "nsga2"] if "nsga2" in methods else []:
            cells = []
            for key in ("hypervolume", "best_sharpe", "holdout_sharpe", "fresh_sharpe"):
                d, lo, hi, _ = paired(mine, key, "nsga2", other)
                cells.append(f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]")
            diffs.append(f"| {label} | {other} | " + " | ".join(cells) + " |")
    return "\n".join(out + (diffs if len(diffs) > 3 else []))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--kinds", default="trend,reversion,breakout")
    ap.add_argument("--edge", type=float, default=0.0015)
    ap.add_argument("--assets", type=int, default=3)
    ap.add_argument("--population", type=int, default=24)
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--out", default="")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--budget", choices=("evaluations", "compute"), default="evaluations",
                    help="the others get NSGA-II's count of evaluations, or their cost in 1h backtests")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="an EvolveConfig field for NSGA-II's run, e.g. --set immigrants=0.3 (repeatable); "
                         "parsimony reaches random sampling too (the same sampler), not Optuna")
    ap.add_argument("--report", default="", metavar="FILE.jsonl",
                    help="print the tables of records written by --out, run nothing")
    args = ap.parse_args(argv)
    if args.report:
        rows = [json.loads(line) for line in open(args.report) if line.strip()]
        print(report(rows, [m for m in METHODS if any(r["method"] == m for r in rows)]))
        return 0
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    rows = []
    for kind in args.kinds.split(","):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            got = one(kind, args.edge, args.assets, seed, args.population, args.generations,
                      tuple(args.methods.split(",")), args.budget, **overrides)
            rows += got
            print(" ".join(f"{r['method']} hv {r['hypervolume']:.2f} best {r['best_sharpe']:.2f} "
                           f"fresh {r['fresh_sharpe']:.2f};" for r in got) + f" {kind} seed {seed}", flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in got)
    print(report(rows, args.methods.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
