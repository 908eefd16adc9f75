"""Two sets of benchmark records, seed by seed: what a setting changed (a script, not a test).

    .venv/bin/python tests/bench/compare_records.py search BEFORE.jsonl AFTER.jsonl
    .venv/bin/python tests/bench/compare_records.py discovery BEFORE.jsonl AFTER.jsonl [--strength 0.0015]

``search``: records of ``bench_search.py --out`` (one line per market, seed and method). For each
method and market, and pooled over the markets, AFTER minus BEFORE on the same seeds: the mean
with a 95% t interval of hypervolume, best walk-forward Sharpe, its hold-out and fresh Sharpe.

``discovery``: records of ``bench_discovery.py`` (``DIR/records.jsonl``). Per cell present in
both, on the seeds both ran: promotions and discoveries before -> after; then, pooled over the
planted cells at ``--strength``, power before and after with the paired difference (95% t
interval over runs, McNemar's exact p on the discordant runs), and false discoveries per null kind.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict

import numpy as np
from scipy import stats

KEYS = ("hypervolume", "best_sharpe", "holdout_sharpe", "fresh_sharpe")
NULLS = ("walk", "bootstrap", "decay", "corrwalk")


def _load(path: str) -> list[dict]:
    return [json.loads(line) for line in open(path) if line.strip()]


def interval(diffs: list[float]) -> str:
    """``mean [low, high]`` of paired differences, 95% t interval (NaNs dropped)."""
    d = np.array([x for x in diffs if math.isfinite(x)])
    if len(d) < 2:
        return "n/a"
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return f"{d.mean():+.2f} [{d.mean() - half:+.2f}, {d.mean() + half:+.2f}]"


def search(before: list[dict], after: list[dict]) -> str:
    key = lambda r: (r["kind"], r["method"], r["seed"])  # noqa: E731
    old = {key(r): r for r in before}
    pairs: dict[tuple[str, str], list[tuple[dict, dict]]] = defaultdict(list)
    for r in after:
        if key(r) in old:
            pairs[(r["kind"], r["method"])].append((old[key(r)], r))
    lines = ["| market | method | runs | " + " | ".join(KEYS) + " |", "| --- | --- | ---: |" + " ---: |" * len(KEYS)]
    methods = sorted({m for _, m in pairs}, key=lambda m: ("nsga2", "random", "optuna").index(m)
                     if m in ("nsga2", "random", "optuna") else 9)
    for method in methods:
        pooled: list[tuple[dict, dict]] = []
        for (kind, m), got in sorted(pairs.items()):
            if m != method:
                continue
            pooled += got
            lines.append(f"| {kind} | {m} | {len(got)} | "
                         + " | ".join(interval([b[k] - a[k] for a, b in got]) for k in KEYS) + " |")
        lines.append(f"| all | {method} | {len(pooled)} | "
                     + " | ".join(interval([b[k] - a[k] for a, b in pooled]) for k in KEYS) + " |")
    return "\n".join(lines)


def _label(r: dict) -> str:
    edge = "" if r["kind"] in ("walk", "bootstrap", "corrwalk") else f" {r['edge']}"
    return f"{r['kind']}{edge} x{r['assets']}"


def discovery(before: list[dict], after: list[dict], strength: float) -> str:
    key = lambda r: (r["kind"], r["edge"], r["assets"], r["seed"])  # noqa: E731
    old = {key(r): r for r in before}
    pairs = [(old[key(r)], r) for r in after if key(r) in old]
    cells: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    for a, b in pairs:
        cells[_label(b)].append((a, b))
    lines = ["| cell | runs | promoted, before -> after | discovered, before -> after | "
             "promoted below half the planted Sharpe, before -> after |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, got in sorted(cells.items(), key=lambda kv: (kv[0].split()[0] in NULLS, kv[0])):
        prom = [sum(x["promoted"] is not None for x in side) for side in zip(*got, strict=True)]
        disc = [sum(bool(x["discovered"]) for x in side) for side in zip(*got, strict=True)]
        weak = [sum(x["promoted"] is not None and not x["discovered"] for x in side) for side in zip(*got, strict=True)]
        planted = label.split()[0] not in NULLS
        lines.append(f"| {label} | {len(got)} | {prom[0]} -> {prom[1]} | "
                     + (f"{disc[0]} -> {disc[1]} | {weak[0]} -> {weak[1]} |" if planted else " | |"))
    at = [(a, b) for a, b in pairs if b["kind"] not in NULLS and abs(b["edge"] - strength) < 1e-12]
    if at:
        d = [int(bool(b["discovered"])) - int(bool(a["discovered"])) for a, b in at]
        gained, lost = sum(x > 0 for x in d), sum(x < 0 for x in d)
        p = stats.binomtest(gained, gained + lost).pvalue if gained + lost else 1.0
        lines.append(f"\npower at {strength}, pooled over {len(at)} planted runs: "
                     f"{sum(bool(a['discovered']) for a, _ in at) / len(at):.1%} -> "
                     f"{sum(bool(b['discovered']) for _, b in at) / len(at):.1%}; paired difference "
                     f"{interval([float(x) for x in d])} (in shares); discordant runs: {gained} gained, "
                     f"{lost} lost (McNemar exact p = {p:.2f})")
    for kind in NULLS:
        runs = [b for _, b in pairs if b["kind"] == kind]
        if runs:
            false = sum(b["promoted"] is not None for b in runs)
            before_false = sum(a["promoted"] is not None for a, b in pairs if b["kind"] == kind)
            upper = 1 - 0.05 ** (1 / len(runs)) if false == 0 else float("nan")
            lines.append(f"false discoveries, {kind}: {before_false} -> {false} of {len(runs)}"
                         + (f" (95% one-sided upper bound {upper:.1%})" if false == 0 else ""))
    sides = list(zip(*pairs, strict=True)) or [(), ()]
    lines.append("candidates registered: " + " -> ".join(str(sum(len(r["candidates"]) for r in side)) for side in sides)
                 + "; runs registering candidates alike on the hold-out (the same hold-out Sharpe, trades and "
                 "fresh Sharpe): " + " -> ".join(str(sum(_alike(r) for r in side)) for side in sides))
    return "\n".join(lines)


def _alike(record: dict) -> bool:
    """True when two of a run's registered candidates traded alike on the hold-out and the fresh bars."""
    seen = [(round(c["holdout_sharpe"], 9), c["holdout_trades"], round(c["fresh_sharpe"], 9))
            for c in record["candidates"]]
    return len(set(seen)) < len(seen)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("search", "discovery"))
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--strength", type=float, default=0.0015, help="the planted edge pooled for power")
    args = ap.parse_args(argv)
    before, after = _load(args.before), _load(args.after)
    print(search(before, after) if args.what == "search" else discovery(before, after, args.strength))
    return 0


if __name__ == "__main__":
    sys.exit(main())
