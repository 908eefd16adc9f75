"""Why the search misses the planted reversion rule: the diagnostics of docs/benchmarks.md (a script, not a test).

    .venv/bin/python tests/bench/search_reversion.py hits [--seeds 20] [--out FILE.jsonl]   # or --report FILE.jsonl
    .venv/bin/python tests/bench/search_reversion.py draws [--seed 2] [--draws 800]
    .venv/bin/python tests/bench/search_reversion.py grid [--seeds 3]

- ``hits``: per seed, gaorg's search (default config) and random sampling at its cost; every 1h
  trial scored on the fresh bars: how many keep half the planted rule's fresh Sharpe (and how many
  of those early rejection threw away), the best fresh Sharpe among them, the fresh Sharpe of the
  one picked by walk-forward Sharpe and of the one each other statistic of the cells would pick;
  the rule's own walk-forward Sharpe on the same folds and the best noise fit's.
- ``draws``: random genomes of the space on one seed's 1h basket: entries, feasibility, how many
  reach a walk-forward Sharpe of 3 and 4, short VWAP reversions.
- ``grid``: the best VWAP reversion (alone, both directions) of a small grid at 4h and at 1h.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys

import numpy as np

from gaorg.backtest.run import backtest, backtest_genome
from gaorg.data.resample import resample_bars
from gaorg.evolve.config import EvolveConfig
from gaorg.research.discovery import Cell, Setup, markets

STATS = ("wf", "pooled", "psr_z", "lcb", "worst_asset", "median")


def basket(seed: int, edge: float = 0.0015):
    """The reversion basket of ``seed`` as bench_search builds it: series, bars by (symbol, tf), config."""
    setup = Setup()
    series = markets(Cell("reversion", edge, 3), seed, setup, f"S{seed}")
    bars = {}
    for m in series:
        head = m.head(setup.bars)
        bars[(head.symbol, "1h")] = head
        bars[(head.symbol, "4h")] = resample_bars(head, "4h")
    config = EvolveConfig(symbols=tuple(s for s, tf in bars if tf == "1h"), timeframes=("4h", "1h"), population=24,
                          generations=3, seed=seed, folds=setup.folds, holdout=setup.holdout, workers=0)
    return setup, series, bars, config


def cell_stats(cells: np.ndarray, folds: int = 3, ppy: int = 8760) -> dict[str, float]:
    """Statistics of a trial's asset x fold cells a selection could rank by."""
    n, s1, s2, s3, s4 = (cells[:, i].sum() for i in range(5))
    mu = s1 / n
    sd = np.sqrt(max(s2 / n - mu ** 2, 1e-18))
    m3 = s3 / n - 3 * mu * s2 / n + 2 * mu ** 3
    m4 = s4 / n - 4 * mu * s3 / n + 6 * mu ** 2 * s2 / n - 3 * mu ** 4
    skew, kurt, sr = m3 / sd ** 3, m4 / sd ** 4, mu / sd
    sharpe = cells[:, 8]
    return {"pooled": sr * np.sqrt(ppy),
            "psr_z": sr * np.sqrt(n - 1) / np.sqrt(max(1 - skew * sr + (kurt - 1) / 4 * sr ** 2, 1e-9)),
            "lcb": sharpe.mean() - sharpe.std(ddof=1) / np.sqrt(len(sharpe)),
            "worst_asset": sharpe.reshape(-1, folds).mean(axis=1).min(), "median": float(np.median(sharpe))}


def hits(seed: int) -> dict:
    from gaorg.research.search import _markets, run_nsga2, run_random

    setup, series, bars, config = basket(seed)

    def fresh(g) -> float:
        return float(np.mean([backtest_genome(g, m.bars, start=setup.bars).metrics["sharpe"] for m in series]))

    oracle = float(np.mean([backtest(m.bars, m.oracle, start=setup.bars).metrics["sharpe"] for m in series]))
    market, _ = _markets(config, bars)
    oracle_wf = float(np.mean([backtest(m.bars, m.oracle, start=int(a), end=int(b)).metrics["sharpe"]
                               for m, split in zip(series, market.splits, strict=True) for a, b in split.bounds()]))
    found, _, cost = run_nsga2(config, bars)
    out = {"seed": seed, "oracle": oracle, "oracle_wf": oracle_wf}
    for name, trials in (("nsga2", found), ("random", run_random(config, bars, round(cost)))):
        scored = [(t, fresh(g)) for g, t in trials if t.feasible or t.rejected]
        kept = [(t, f) for t, f in scored if t.feasible]
        half = [(t, f) for t, f in scored if f >= oracle / 2]
        ranks = {"wf": [t.objectives[0] for t, _ in kept]}
        per = [cell_stats(t.cells) for t, _ in kept]
        ranks.update({k: [p[k] for p in per] for k in STATS[1:]})
        out[name] = {"trials": len(trials), "half": len(half), "half_rejected": sum(t.rejected for t, _ in half),
                     "max_fresh": max(f for _, f in scored), "best_wf": max(ranks["wf"]),
                     "noise_fit_wf": max((t.objectives[0] for t, f in kept if f < oracle / 2), default=float("nan")),
                     **{f"pick_{k}": kept[int(np.argmax(v))][1] for k, v in ranks.items()}}
    return out


def report(rows: list[dict]) -> str:
    lines = [f"{len(rows)} seeds; the rule: fresh {np.mean([r['oracle'] for r in rows]):.2f}, "
             f"walk-forward {np.mean([r['oracle_wf'] for r in rows]):.2f}"]
    for m in ("nsga2", "random"):
        a = [r[m] for r in rows]
        some = sum(x["half"] > 0 for x in a)
        picked = sum(x["pick_wf"] >= r["oracle"] / 2 for x, r in zip(a, rows, strict=True))
        above = sum(r["oracle_wf"] > x["noise_fit_wf"] for x, r in zip(a, rows, strict=True))
        lines.append(f"{m}: a trial keeping half the rule's fresh Sharpe in {some}/{len(a)} runs "
                     f"({np.mean([x['half'] for x in a]):.1f} a run, {sum(x['half_rejected'] for x in a)} rejected), "
                     f"picked by walk-forward Sharpe in {picked}/{len(a)}; best fresh among the trials "
                     f"{np.mean([x['max_fresh'] for x in a]):.2f}; best walk-forward {np.mean([x['best_wf'] for x in a]):.2f}, "
                     f"best noise fit's {np.nanmean([x['noise_fit_wf'] for x in a]):.2f} (the rule above it in {above}/{len(a)})")
        lines.append("  fresh Sharpe of the pick by " + ", ".join(
            f"{k} {np.mean([x['pick_' + k] for x in a]):.2f}" for k in STATS))
    return "\n".join(lines)


def draws(seed: int, n: int) -> None:
    from gaorg.evolve.fitness import evaluate_genome
    from gaorg.evolve.operators import Space, random_genome
    from gaorg.research.search import _markets

    _, _, bars, config = basket(seed)
    market, _ = _markets(config, bars)
    space = Space.from_modules(config.modules, config.max_filters, config.max_exits).with_lookback(market.max_lookback)
    rng = random.Random(1000 + seed)
    rows = []
    for _ in range(n):
        g = random_genome(rng, space)
        learned = g.entry.module in ("linear_svc", "pca_tree")
        t = None if learned else evaluate_genome(g, market)
        rows.append((g, None if t is None or not t.feasible else t.objectives[0]))
    print("entries", dict(collections.Counter(g.entry.module for g, _ in rows)))
    plain = [(g, s) for g, s in rows if g.entry.module not in ("linear_svc", "pca_tree")]
    print(f"feasible {sum(s is not None for _, s in plain)} of {len(plain)} non-learned (learned not scored)")
    for bar in (3, 4):
        top = [g.entry.module for g, s in rows if s is not None and s >= bar]
        print(f"walk-forward >= {bar}: {len(top)} of {n}", dict(collections.Counter(top)))
    short = [(g, s) for g, s in rows if g.entry.module == "vwap_reversion" and g.entry.as_dict()["period"] <= 20]
    print(f"VWAP period <= 20: {len(short)}, never trade {sum(s is None for _, s in short)}, "
          f">= 3: {sum(s is not None and s >= 3 for _, s in short)}")


def grid(seeds: int) -> None:
    from gaorg.evolve.fitness import evaluate_genome
    from gaorg.evolve.run import build_market
    from gaorg.strategies.genome import SCHEMA, parse_genome

    def vwap(p, ez, xz):
        return parse_genome({"schema": SCHEMA, "entry": {"module": "vwap_reversion", "params": {
            "period": p, "entry_z": ez, "exit_z": xz, "direction": "both"}}, "filters": [], "exits": [], "sizing": None})

    for seed in range(1, seeds + 1):
        _, _, bars, config = basket(seed)
        coarse, fine = build_market(config, bars, 0), build_market(config, bars, 1)
        zs = [(ez, xz) for ez in (0.75, 1.0, 1.25, 1.5) for xz in (0.0, 0.5, 0.9) if xz < ez]
        at4 = {p: max(evaluate_genome(vwap(p, *z), coarse).objectives[0] for z in zs) for p in (5, 6, 8, 10)}
        at1 = max(evaluate_genome(vwap(p, *z), fine).objectives[0] for p in (7, 10, 14) for z in zs)
        print(f"seed {seed}: best VWAP walk-forward at 4h " + ", ".join(f"period {p} {s:.2f}" for p, s in at4.items())
              + f"; at 1h (period 7-14) {at1:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("hits", "draws", "grid"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--draws", type=int, default=800)
    ap.add_argument("--out", default="")
    ap.add_argument("--report", default="", metavar="FILE.jsonl")
    args = ap.parse_args(argv)
    if args.what == "draws":
        draws(args.seed, args.draws)
    elif args.what == "grid":
        grid(args.seeds)
    elif args.report:
        print(report([json.loads(line) for line in open(args.report) if line.strip()]))
    else:
        rows = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows.append(hits(seed))
            print(json.dumps(rows[-1]), flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(rows[-1]) + "\n")
        print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
