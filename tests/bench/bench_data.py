"""Benchmarks of the market data layer (a script, not a test): import and read throughput.

    .venv/bin/python tests/bench/bench_data.py [--rows 1000000]

1. Import of a 1,000,000-row CSV (epoch-ms timestamps, OHLCV) into a fresh store, validation
   included (``importer.import_into``, what ``gaorg data import`` runs), beside ``pandas.read_csv``
   alone on the same file. Target: within 2x of pandas.
2. Reading 1,000,000 bars of one series from the store into numpy (``MarketStore.read_bars``),
   beside pandas' ``read_csv(...).to_numpy()`` of the same file and ``to_numpy`` of a frame already
   in memory. Target: under 50 ms.
3. The same import as a user runs it, ``gaorg data import`` in a fresh process (imports, start-up and
   exit included), beside a fresh ``python -c "import pandas; pandas.read_csv(...)"``.
Each figure is the best of several runs (the machine is shared); ratios are gaorg / pandas, best
against best and the median over alternating pairs (both sides see the same load).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads): CPU time shrugs off other load."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def make_csv(path: Path, n: int) -> None:
    import duckdb

    from gaorg.data.synth import synth_bars

    b = synth_bars("BENCH", "1m", n, seed=0)
    cols = {"timestamp": b.ts, "open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume}
    con = duckdb.connect()
    con.register("bars", cols)
    con.execute(f"COPY bars TO '{path}' (HEADER, DELIMITER ',')")
    con.close()


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    import pandas as pd

    from gaorg.data.importer import import_into
    from gaorg.data.store import MarketStore

    n = args.rows
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bars.csv"
        make_csv(csv, n)
        counter = iter(range(1000))

        def gaorg_import() -> None:  # what `gaorg data import` runs: parse, validate, store, in a new file
            report, _ = import_into(Path(tmp) / f"import{next(counter)}.duckdb", csv, "local", "BENCH", "1m")
            assert report.inserted == n

        # paired runs, alternating, so both see the same load on a shared machine
        pairs = [(timed(lambda: pd.read_csv(csv)), timed(gaorg_import)) for _ in range(args.runs)]
        t_pandas = min(p[0] for p, _ in pairs)
        t_import = min(g[0] for _, g in pairs)
        paired_ratio = float(np.median([g[0] / p[0] for p, g in pairs]))
        cpu_pandas = min(p[1] for p, _ in pairs)
        cpu_import = min(g[1] for _, g in pairs)

        db = Path(tmp) / "import0.duckdb"
        with MarketStore(db, read_only=True) as store:
            store.read_bars("local", "BENCH", "1m")  # warm the file cache
            reads = [timed(lambda: store.read_bars("local", "BENCH", "1m")) for _ in range(args.runs * 3)]
            t_read, cpu_read = min(r[0] for r in reads), min(r[1] for r in reads)
            frame = store.read_frame("local", "BENCH", "1m")
        names = ["open", "high", "low", "close", "volume"]
        t_to_numpy = best(lambda: [frame[c].to_numpy() for c in names] + [frame.index.to_numpy()], args.runs * 3)
        t_pandas_numpy = best(lambda: pd.read_csv(csv).to_numpy(), args.runs)
        cli = Path(sys.executable).with_name("gaorg")
        homes = iter(range(1000))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

        def run(*cmd: str, home: bool = False) -> None:
            extra = {"GAORG_HOME": str(Path(tmp) / f"home{next(homes)}")} if home else {}
            subprocess.run(cmd, check=True, capture_output=True, env={**env, **extra})

        procs = [(timed(lambda: run(sys.executable, "-c", "import pandas, sys; pandas.read_csv(sys.argv[1])", str(csv))),
                  timed(lambda: run(str(cli), "data", "import", str(csv), "--symbol", "BENCH", "--timeframe", "1m",
                                    home=True)))
                 for _ in range(max(3, args.runs // 2))]
        t_proc_pandas, t_proc_gaorg = min(p[0][0] for p in procs), min(p[1][0] for p in procs)

    figures = {
        "rows": n,
        "pandas_read_csv_s": t_pandas,
        "gaorg_import_s": t_import,
        "import_ratio": t_import / t_pandas,
        "import_ratio_paired_median": paired_ratio,
        "pandas_read_csv_cpu_s": cpu_pandas,
        "gaorg_import_cpu_s": cpu_import,
        "gaorg_import_rows_per_s": n / t_import,
        "pandas_read_csv_rows_per_s": n / t_pandas,
        "gaorg_read_bars_ms": t_read * 1000,
        "gaorg_read_rows_per_s": n / t_read,
        "gaorg_read_bars_cpu_ms": cpu_read * 1000,
        "pandas_to_numpy_ms": t_to_numpy * 1000,
        "pandas_read_csv_to_numpy_ms": t_pandas_numpy * 1000,
        "process_pandas_s": t_proc_pandas,
        "process_gaorg_import_s": t_proc_gaorg,
    }
    print(f"rows: {n:,}")
    print(f"import CSV   gaorg (read+validate+store) {t_import:7.3f} s  {n / t_import:12,.0f} rows/s")
    print(f"             pandas read_csv alone       {t_pandas:7.3f} s  {n / t_pandas:12,.0f} rows/s")
    print(f"             ratio gaorg/pandas          {t_import / t_pandas:7.2f}x   best vs best (target <= 2x)")
    print(f"             ratio, median of pairs      {paired_ratio:7.2f}x   ({args.runs} alternating pairs)")
    print(f"             CPU time gaorg / pandas     {cpu_import:7.3f} s / {cpu_pandas:.3f} s (all threads)")
    print(f"read bars    gaorg read_bars -> numpy    {t_read * 1000:7.1f} ms {n / t_read:12,.0f} rows/s (target < 50 ms)")
    print(f"             CPU time                    {cpu_read * 1000:7.1f} ms (all threads)")
    print(f"             pandas read_csv + to_numpy  {t_pandas_numpy * 1000:7.1f} ms (the same bars from the CSV)")
    print(f"             pandas to_numpy (in memory) {t_to_numpy * 1000:7.1f} ms (views, no copy)")
    print(f"processes    gaorg data import           {t_proc_gaorg:7.3f} s  (a fresh process: imports, start-up, exit)")
    print(f"             python -c pandas.read_csv   {t_proc_pandas:7.3f} s  ratio {t_proc_gaorg / t_proc_pandas:.2f}x")
    return figures


if __name__ == "__main__":
    main()
