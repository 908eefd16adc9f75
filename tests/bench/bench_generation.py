"""Benchmark: a generation evaluated as one batch (issue 15, items 1 and 3), side by side in one run.

Run: .venv/bin/python tests/bench/bench_generation.py [--repeat 3] [--no-vbt] [--max-bars 1000000]

CPU time (``time.process_time``: the machine is shared), medians of ``--repeat`` runs, the paths
alternated within each repeat. Synthetic 1h bars (``tests.unit.strategy_kit.random_bars``), costs
0.045% fee + 0.02% slippage. Learned caches (``learned_cache``) are emptied before every timed
learned evaluation or generation, so no figure is a cache hit left by an earlier one.

(a) The issue's four genomes at 100,000 bars (EMA cross 12/48; docs/examples/ema_trend.json;
    linear_svc and pca_tree at feature_period 24, horizon 12, window 1000, refit 500), evaluations/s
    and the ratio to EMA cross, three ways: ``gaorg backtest`` (``backtest(bars, targets(genome,
    bars), costs).metrics``, the issue's table), the GA's path alone (``fold_stats``) and the GA's
    path batched among 32 mutants of the genome (``gaorg.evolve.operators.mutate``, one
    ``Memo``: a generation's offspring). Beside them a fused single-pass numba loop (EMA cross and
    the simulation in one loop, no sharing): the bound of one pass per genome.
(b) A generation: 256 genomes drawn by the GA's own sampler (``operators.random_genome``) from
    all 12 families, 3 assets x 20,000 bars, 4 anchored folds, 20% hold-out: the old way (genome by
    genome, ``evaluate_genome``, nothing shared) and the new (``evaluate_batch``, one batch; and as
    8 batches of 32, how a 2-worker Dask run splits it), and as on the issue's day (genome by genome,
    the learned entries through ``learned_reference``: before item 2), then its offspring (crossover
    0.7, mutation 0.9, immigrants 0.2, as ``gaorg.evolve.loop.vary``). Every batched trial is
    checked equal to the old one. Beside them: vectorbt (indicators, ``Portfolio.from_signals`` per
    fold, the fold's return, Sharpe, drawdown, trades) on the rule genomes it can express (entry
    EMA cross or Donchian, filters SMA trend / RSI, ATR stop, no sizing), and the fused loop.
(c) Time against bars (10k, 100k, 1M) for ema_trend.json and linear_svc via ``gaorg backtest``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gaorg.backtest.engine import Costs, fold_stats  # noqa: E402
from gaorg.backtest.run import backtest  # noqa: E402
from gaorg.evolve import operators  # noqa: E402
from gaorg.evolve.fitness import Market, evaluate_batch, evaluate_genome  # noqa: E402
from gaorg.evolve.folds import make_split  # noqa: E402
from gaorg.evolve.operators import Space  # noqa: E402
from gaorg.strategies import learned_cache, learned_reference  # noqa: E402
from gaorg.strategies.catalogue import CATALOGUE  # noqa: E402
from gaorg.strategies.compose import indicator_uses, targets  # noqa: E402
from gaorg.strategies.genome import make_genome, parse_genome  # noqa: E402
from gaorg.strategies.memo import Memo  # noqa: E402
from tests.bench.bench_learned import offspring  # noqa: E402
from tests.unit.strategy_kit import random_bars  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
REFERENCE = {  # the learned entries as on the issue's day (scikit-learn's public estimators)
    **CATALOGUE,
    "linear_svc": replace(CATALOGUE["linear_svc"], compute=learned_reference.linear_svc),
    "pca_tree": replace(CATALOGUE["pca_tree"], compute=learned_reference.pca_tree),
}
COSTS = Costs(fee=0.00045, slippage=0.0002)
WINDOWS = {"feature_period": 24, "horizon": 12, "window": 1000, "refit": 500}
FOUR = {
    "EMA cross": make_genome(("ema_crossover", {"fast": 12, "slow": 48, "direction": "both"})),
    "ema_trend.json (4 modules)": parse_genome(json.loads((REPO / "docs/examples/ema_trend.json").read_text())),
    "linear_svc": make_genome(("linear_svc", {**WINDOWS, "log_c": -1.0, "direction": "both"})),
    "pca_tree": make_genome(
        ("pca_tree", {**WINDOWS, "components": 3, "depth": 4, "quantile": 0.3, "direction": "both"})
    ),
}


def cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def median_of(repeat: int, fns: dict) -> dict:
    """Median CPU seconds of each function, the functions alternated within every repeat."""
    spent: dict = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            spent[k].append(cpu(fn))
    return {k: statistics.median(v) for k, v in spent.items()}


@njit(cache=True, nogil=True, fastmath={"contract"})
def fused_ema_cross(open_, close, fast, slow, fee, slip, bounds, out):
    """The bound: EMA cross and the simulation in one pass (next-open fills, fees, all-in, a fresh
    account per fold, fold return / Sharpe sums / drawdown / trades). No stops, no funding."""
    af = 2.0 / (fast + 1.0)
    aslow = 2.0 / (slow + 1.0)
    vf = 0.0
    vs = 0.0
    f = 0
    nf = bounds.shape[0]
    last = bounds[nf - 1, 1]
    sig = 0.0
    cash = units = acted = prev = s1 = s2 = peak = mdd = trades = 0.0
    for i in range(last):
        c = close[i]
        if i < slow:
            vs += c / slow
            if i < fast:
                vf += c / fast
            elif i < slow:
                vf = af * c + (1.0 - af) * vf
        else:
            vf = af * c + (1.0 - af) * vf
            vs = aslow * c + (1.0 - aslow) * vs
        if f < nf and i == bounds[f, 0]:  # a fold starts flat
            cash, units, acted, prev, s1, s2, peak, mdd, trades = 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0
        elif f < nf and i > bounds[f, 0] and sig != acted:
            op = open_[i]
            eq = cash + units * op
            fill = op * (1.0 + slip) if sig > acted else op * (1.0 - slip)
            new = eq * sig / (fill * (1.0 + fee))
            cash -= (new - units) * fill + abs(new - units) * fill * fee
            units = new
            acted = sig
            trades += 1.0
        if f < nf and i >= bounds[f, 0]:
            eq = cash + units * c
            r = eq / prev - 1.0
            s1 += r
            s2 += r * r
            prev = eq
            peak = max(peak, eq)
            mdd = max(mdd, 1.0 - eq / peak)
            if i == bounds[f, 1] - 1:
                out[f, 0] = eq - 1.0
                out[f, 1] = s1
                out[f, 2] = s2
                out[f, 3] = mdd
                out[f, 4] = trades
                f += 1
        d = vf - vs
        sig = 1.0 if d > 0.0 else (-1.0 if d < 0.0 else 0.0)
    return out


def fused_generation(genomes, market) -> None:
    """The fused loop once per genome and asset (its cost does not depend on the periods)."""
    for _ in genomes:
        for bars, split in zip(market.bars, market.splits, strict=True):
            out = np.zeros((len(split.folds), 5))
            fused_ema_cross(np.asarray(bars.open), np.asarray(bars.close), 12, 48, COSTS.fee,
                            COSTS.slippage, split.bounds(), out)  # fmt: skip


def part_a(repeat: int) -> None:
    n = 100_000
    bars = random_bars(n, seed=1)
    bounds = np.array([[0, n]], dtype=np.int64)
    rng = random.Random(3)
    space = Space.from_modules()
    print(f"(a) the issue's four genomes, {n:,} 1h bars: evaluations/s by CPU time (ratio to EMA cross)")
    rows = {}
    for label, genome in FOUR.items():
        learned = any(CATALOGUE[m].learned for m in genome.modules)
        mutants = [operators.mutate(genome, rng, space, structure_rate=0.0) for _ in range(32)]

        def alone_backtest(genome=genome, learned=learned):
            if learned:
                learned_cache.clear()
            backtest(bars, targets(genome, bars), COSTS).metrics  # noqa: B018

        def alone_ga(genome=genome, learned=learned):
            if learned:
                learned_cache.clear()
            fold_stats(bars, targets(genome, bars), COSTS, bounds)

        def batched(mutants=mutants):
            learned_cache.clear()
            memo = Memo().plan(indicator_uses(mutants))  # as evaluate_batch plans it
            for m in mutants:
                fold_stats(bars, targets(m, bars, memo=memo), COSTS, bounds)

        alone_backtest(), batched()  # warm-up: numba's cache, scikit-learn's imports
        t = median_of(repeat, {"backtest": alone_backtest, "ga": alone_ga, "batch": batched})
        rows[label] = (1 / t["backtest"], 1 / t["ga"], len(mutants) / t["batch"])
    base = rows["EMA cross"]
    print(f"  {'genome':<28} {'gaorg backtest':>22} {'GA path alone':>22} {'batched, 32 mutants':>24}")
    for label, r in rows.items():
        cells = [f"{v:9,.1f}/s ({v / b:6.3f})" for v, b in zip(r, base, strict=True)]
        print(f"  {label:<28} {cells[0]:>22} {cells[1]:>22} {cells[2]:>24}")
    out = np.zeros((1, 5))
    args = (np.asarray(bars.open), np.asarray(bars.close), 12, 48, COSTS.fee, COSTS.slippage, bounds, out)
    fused_ema_cross(*args)
    t = median_of(repeat, {"fused": lambda: [fused_ema_cross(*args) for _ in range(20)]})["fused"] / 20
    print(f"  fused single-pass numba loop (EMA cross + simulation): {1 / t:,.0f}/s "
          f"({1 / t / base[0]:.2f} of gaorg backtest's EMA cross)")  # fmt: skip


def vbt_expressible(genome) -> bool:
    return (
        genome.entry.module in ("ema_crossover", "donchian_breakout")
        and all(s.module in ("sma_trend", "rsi_filter") for s in genome.filters)
        and all(s.module == "atr_stop" for s in genome.exits)
        and genome.sizing is None
    )


def vbt_genome(vbt, genome, frames, market) -> None:
    """The genome with vectorbt's indicators and ``from_signals``, one portfolio per fold."""
    for frame, split in zip(frames, market.splits, strict=True):
        close, high, low = frame["close"], frame["high"], frame["low"]
        p = genome.entry.as_dict()
        if genome.entry.module == "ema_crossover":
            fast = vbt.MA.run(close, p["fast"], ewm=True).ma
            slow = vbt.MA.run(close, p["slow"], ewm=True).ma
            up, down = fast > slow, fast < slow
        else:
            up = close > high.vbt.rolling_max(p["period"]).shift(1)
            down = close < low.vbt.rolling_min(p["period"]).shift(1)
        allow_long = allow_short = True
        for s in genome.filters:
            q = s.as_dict()
            if s.module == "sma_trend":
                ma = vbt.MA.run(close, q["period"]).ma
                allow_long = allow_long & (close > ma * (1 + q["band"]))
                allow_short = allow_short & (close < ma * (1 - q["band"]))
            else:
                r = vbt.RSI.run(close, q["period"], ewm=True).rsi
                allow_long = allow_long & (r < q["upper"])
                allow_short = allow_short & (r > q["lower"])
        stops = {}
        for s in genome.exits:
            q = s.as_dict()
            rel = (vbt.ATR.run(high, low, close, q["period"], ewm=True).atr / close).shift(1).bfill()
            stops = {"sl_stop": (q["stop_mult"] * rel).values, "tp_stop": (q["take_mult"] * rel).values}
        both = p["direction"] == "both"
        longs = (up & allow_long).shift(1, fill_value=False)
        shorts = (down & allow_short).shift(1, fill_value=False) if both else None
        for a, b in split.bounds():
            kw = {k: v[a:b] for k, v in stops.items()}
            pf = vbt.Portfolio.from_signals(
                close.iloc[a:b], entries=longs.iloc[a:b], exits=~longs.iloc[a:b],
                short_entries=None if shorts is None else shorts.iloc[a:b],
                short_exits=None if shorts is None else ~shorts.iloc[a:b],
                price=frame["open"].iloc[a:b], size=np.inf, fees=COSTS.fee, slippage=COSTS.slippage,
                init_cash=COSTS.init_cash, freq="1h", **kw,
            )  # fmt: skip
            pf.total_return(), pf.sharpe_ratio(), pf.max_drawdown(), pf.trades.count()


def issue_day(genome, market) -> None:
    """The generation as on the issue's day: genome by genome, the learned entries through
    scikit-learn's public estimators (``learned_reference``; the same signals bit for bit,
    tests/unit/test_learned_parity.py), anchored folds as ``evaluate_genome`` scores them."""
    if genome.lookback() > market.max_lookback:
        return
    for bars, split in zip(market.bars, market.splits, strict=True):
        series = bars.slice(0, split.holdout_start)
        fold_stats(series, targets(genome, series, REFERENCE), market.costs, split.bounds(), with_sums=True)


def same_trials(a, b) -> bool:
    return all(x.key == y.key and x.objectives == y.objectives and np.array_equal(x.cells, y.cells)
               for x, y in zip(a, b, strict=True))  # fmt: skip


def generation_0(n: int = 20_000) -> tuple[Market, list, random.Random, Space]:
    """Part (b)'s market (3 assets x ``n`` 1h bars, 4 anchored folds) and its generation 0: 256
    genomes drawn by the GA's sampler (seed 5), with the rng and space that draw its offspring."""
    basket = tuple(random_bars(n, seed=s) for s in (1, 2, 3))
    splits = tuple(make_split(n, 4, 0.2, "anchored") for _ in basket)
    market = Market("1h", basket, splits, "anchored", COSTS)
    rng = random.Random(5)
    space = Space.from_modules().with_lookback(market.max_lookback)
    return market, [operators.random_genome(rng, space) for _ in range(256)], rng, space


def part_b(repeat: int, with_vbt: bool) -> None:
    n = 20_000
    market, gen0, rng, space = generation_0(n)
    gen1 = offspring(gen0, rng, space)
    learned = sum(any(CATALOGUE[m].learned for m in g.modules) for g in gen0)
    print(f"\n(b) a generation: 256 genomes of all 12 families ({learned} learned), 3 assets x {n:,} 1h bars, "
          "4 anchored folds; genomes/s by CPU time")  # fmt: skip
    evaluate_batch(gen0[:16], market)  # warm-up
    for label, pop in (("generation 0 (sampler)", gen0), ("its offspring", gen1)):
        results = {}

        def old(pop=pop, results=results):
            learned_cache.clear()
            results["old"] = [evaluate_genome(g, market) for g in pop]

        def one(pop=pop, results=results):
            learned_cache.clear()
            results["one"] = evaluate_batch(pop, market)

        def eight(pop=pop, results=results):
            learned_cache.clear()
            results["eight"] = [t for i in range(8) for t in evaluate_batch(pop[i::8], market)]

        t = median_of(repeat, {"day": lambda pop=pop: [issue_day(g, market) for g in pop],
                               "old": old, "one": one, "eight": eight})  # fmt: skip
        order = [g for i in range(8) for g in pop[i::8]]
        by_key = {tr.key: tr for tr in results["old"]}
        ok = same_trials(results["old"], results["one"]) and same_trials([by_key[g.canonical_hash()] for g in order],
                                                                          results["eight"])  # fmt: skip
        print(f"  {label}: issue's day {len(pop) / t['day']:6.1f}/s | old way {len(pop) / t['old']:6.1f}/s "
              f"(x{t['day'] / t['old']:.2f}) | one batch {len(pop) / t['one']:6.1f}/s (x{t['day'] / t['one']:.2f}, "
              f"x{t['old'] / t['one']:.2f} the old way) | 8 batches of 32 {len(pop) / t['eight']:6.1f}/s "
              f"(x{t['day'] / t['eight']:.2f}, x{t['old'] / t['eight']:.2f})   same trials: {ok}")  # fmt: skip
        split = {}
        for kind in ("rule", "learned"):
            sub = [g for g in pop if any(CATALOGUE[m].learned for m in g.modules) == (kind == "learned")]
            split[kind] = median_of(repeat, {
                "day": lambda sub=sub: [issue_day(g, market) for g in sub],
                "old": lambda sub=sub: (learned_cache.clear(), [evaluate_genome(g, market) for g in sub]),
                "new": lambda sub=sub: (learned_cache.clear(), evaluate_batch(sub, market)),
            }) | {"count": len(sub)}  # fmt: skip
        for kind, s in split.items():
            print(f"    {kind} genomes ({s['count']}): issue's day {s['count'] / s['day']:7.1f}/s, old "
                  f"{s['count'] / s['old']:7.1f}/s, batch {s['count'] / s['new']:7.1f}/s (x{s['old'] / s['new']:.2f} "
                  f"the old way, x{s['day'] / s['new']:.1f} the issue's day); share of the old way's time "
                  f"{s['old'] / sum(v['old'] for v in split.values()):.0%}")  # fmt: skip
    fused_generation(gen0[:2], market)
    tf = median_of(repeat, {"fused": lambda: fused_generation(gen0, market)})["fused"]
    print(f"  fused single-pass loop, one pass per genome and asset (the bound): {len(gen0) / tf:,.0f}/s")
    if not with_vbt:
        return
    rules = [g for g in gen0 + gen1 if vbt_expressible(g)]
    t0 = time.perf_counter()
    import vectorbt as vbt

    print(f"  (vectorbt import {time.perf_counter() - t0:.1f} s)")
    frames = []
    for bars, split in zip(market.bars, market.splits, strict=True):
        frames.append(bars.to_frame().iloc[: split.holdout_start])  # tz-naive: vectorbt's metrics ~65x slower
    vbt_genome(vbt, rules[0], frames, market)
    t = median_of(repeat, {
        "vbt": lambda: [vbt_genome(vbt, g, frames, market) for g in rules],
        "old": lambda: [evaluate_genome(g, market) for g in rules],
        "new": lambda: evaluate_batch(rules, market),
    })  # fmt: skip
    print(f"  the {len(rules)} rule genomes vectorbt can express (of both generations): vectorbt "
          f"{len(rules) / t['vbt']:.1f}/s | gaorg old way {len(rules) / t['old']:.1f}/s | gaorg batch "
          f"{len(rules) / t['new']:.1f}/s (x{t['vbt'] / t['new']:.0f} vectorbt)")  # fmt: skip


def part_c(repeat: int, max_bars: int) -> None:
    print("\n(c) time against bars, one genome via gaorg backtest (CPU ms; ms per 1,000 bars)")
    for label in ("ema_trend.json (4 modules)", "linear_svc"):
        genome = FOUR[label]
        cells = []
        for n in (10_000, 100_000, 1_000_000):
            if n > max_bars:
                continue
            bars = random_bars(n, seed=2)

            def run(genome=genome, bars=bars):
                learned_cache.clear()
                backtest(bars, targets(genome, bars), COSTS).metrics  # noqa: B018

            run()
            t = median_of(repeat, {"t": run})["t"]
            cells.append(f"{n:>9,}: {t * 1e3:8.1f} ms ({t * 1e6 / n:.3f})")
        print(f"  {label:<28} " + " | ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-vbt", action="store_true", help="skip vectorbt (slow to import)")
    ap.add_argument("--max-bars", type=int, default=1_000_000)
    ap.add_argument("--parts", default="abc")
    args = ap.parse_args()
    if "a" in args.parts:
        part_a(args.repeat)
    if "b" in args.parts:
        part_b(args.repeat, not args.no_vbt)
    if "c" in args.parts:
        part_c(args.repeat, args.max_bars)


if __name__ == "__main__":
    main()
