"""``gaorg backtest``: a genome or a positions file over a stored series (registered by gaorg.cli).

Only argparse is imported here; the handler imports numpy, the store and the engine when it runs.
"""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Backtest a strategy on a stored series with gaorg's engine (DESIGN.md's contract: a target
decided at a bar's close fills at the next open, fees on traded notional, stops inside the bar,
funding for perpetuals) and print its metrics.

A genome is a JSON file (schema gaorg.genome/1). A positions file is a CSV with the columns
timestamp,target: a bar's open time (epoch ms or ISO 8601, UTC) and the target position decided
at its close, a fraction of equity in [-1, 1] (negative: short). A target holds until the next
row; before the first row the position is flat.
"""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``gaorg backtest`` to the parser."""
    p = sub.add_parser(
        "backtest",
        parents=[common],
        help="backtest a genome or a positions file on a stored series",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--genome", metavar="FILE", help="a genome JSON file")
    what.add_argument("--positions", metavar="FILE", help="a CSV file with columns timestamp,target")
    p.add_argument("--symbol", required=True, help="symbol of the stored series")
    p.add_argument("--timeframe", required=True, help="timeframe of the stored series, e.g. 1h")
    p.add_argument("--exchange", default=None, help="may be left out when the symbol is unambiguous")
    p.add_argument(
        "--start", default=None, help="first bar traded, ISO 8601 or epoch ms (earlier bars warm up)"
    )
    p.add_argument(
        "--end", default=None, help="stop before this time, ISO 8601 or epoch ms (default: the last bar)"
    )
    p.add_argument(
        "--fee", type=float, default=None, help="fee, a fraction of traded notional (default: 0.00045)"
    )
    p.add_argument(
        "--slippage", type=float, default=0.0, help="fill price moved against the trader, a fraction"
    )
    p.add_argument("--init-cash", type=float, default=10_000.0, help="starting equity (default: %(default)s)")
    p.add_argument(
        "--report", metavar="FILE", default=None, help="write an HTML report (equity, drawdown, trades)"
    )
    p.set_defaults(handler=run_backtest)


def run_backtest(args: argparse.Namespace, settings: Any) -> Any:
    import numpy as np

    from gaorg.backtest.engine import HYPERLIQUID_TAKER_FEE, Costs
    from gaorg.backtest.run import backtest
    from gaorg.command import Outcome
    from gaorg.data.store import open_store, to_ms
    from gaorg.errors import DataTooShortError

    costs = Costs(
        fee=HYPERLIQUID_TAKER_FEE if args.fee is None else args.fee,
        slippage=args.slippage,
        init_cash=args.init_cash,
    )
    start, end = to_ms(args.start), to_ms(args.end)
    genome = None
    if args.genome:
        from gaorg.strategies.genome import load_genome

        genome = load_genome(args.genome)  # validated before the store is opened
    with open_store(settings, read_only=True) as store:
        series = store.read_bars(args.exchange, args.symbol, args.timeframe)
    first = int(np.searchsorted(series.ts, start)) if start is not None else 0
    stop = int(np.searchsorted(series.ts, end)) if end is not None else len(series)
    if first >= stop:
        raise DataTooShortError(
            f"{series.exchange} {series.symbol} {series.timeframe}: no stored bars in the window "
            f"[{args.start or 'first'}, {args.end or 'last'}); `gaorg data list` shows the stored range"
        )
    bars = series.slice(0, stop)  # bars before --start warm the indicators up; none after --end
    if genome is not None:
        from gaorg.strategies.compose import targets

        plan = targets(genome, bars)  # DataTooShortError when the series is shorter than its periods
        label = f"genome {genome.canonical_hash()}"
    else:
        plan = read_positions(args.positions, series)[:stop]  # rows after --end are left out
        label = f"positions {args.positions}"
    result = backtest(bars, plan, costs, start=first)
    lines = [
        f"{label} on {bars.exchange} {bars.symbol} {bars.timeframe}: {result.end - result.start} bars "
        f"(fee {costs.fee:g}, slippage {costs.slippage:g})",
        *(f"  {k:<14} {_fmt(v)}" for k, v in result.metrics.items()),
    ]
    if args.report:
        from gaorg.backtest.report import write_report

        path = write_report(args.report, bars, result)
        lines.append(f"report: {path}")
    return Outcome("\n".join(lines), {"metrics": result.metrics})


def _fmt(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def read_positions(path: str, bars: Any) -> Any:
    """Targets per bar from a ``timestamp,target`` CSV: each row's target holds until the next row.

    Raises InputError for a missing file or column, NaN or out-of-range targets, duplicated
    timestamps and timestamps that are not bar open times of the series.
    """
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from gaorg.errors import InputError

    file = Path(path)
    if not file.is_file():
        raise InputError(f"positions file {path!r} does not exist")
    try:
        frame = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc}); expected columns timestamp,target") from None
    missing = [c for c in ("timestamp", "target") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must be timestamp,target"
        )
    if frame.empty:
        raise InputError(f"{path}: no rows; give one row per change of position")
    target = pd.to_numeric(frame["target"], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(target))
    if bad.size:
        raise InputError(
            f"{path}: target is missing or not a number (NaN) on row(s) {_rows(bad)}; "
            "give every row a number in [-1, 1] (0 for flat)"
        )
    bad = np.flatnonzero(np.abs(target) > 1.0)
    if bad.size:
        raise InputError(
            f"{path}: target outside [-1, 1] on row(s) {_rows(bad)} (e.g. {target[bad[0]]:g}); "
            "a target is a fraction of equity, negative for short"
        )
    ts = _timestamps(frame["timestamp"], path)
    dupes = np.flatnonzero(pd.Series(ts).duplicated().to_numpy())
    if dupes.size:
        raise InputError(f"{path}: timestamp repeated on row(s) {_rows(dupes)}; give each bar once")
    pos = np.searchsorted(bars.ts, ts)
    known = (pos < len(bars.ts)) & (bars.ts[np.minimum(pos, len(bars.ts) - 1)] == ts)
    if not known.all():
        rows = np.flatnonzero(~known)
        first = str(np.datetime64(int(ts[rows[0]]), "ms"))
        raise InputError(
            f"{path}: {rows.size} timestamp(s) are not bars of {bars.symbol} {bars.timeframe} "
            f"(row(s) {_rows(rows)}, first {first}); use bar open times of the stored series"
        )
    order = np.argsort(pos, kind="stable")
    out = np.zeros(len(bars))
    marks = np.zeros(len(bars), dtype=bool)
    marks[pos[order]] = True
    values = np.zeros(len(bars))
    values[pos[order]] = target[order]
    idx = np.where(marks, np.arange(len(bars)), -1)
    np.maximum.accumulate(idx, out=idx)  # the last row at or before each bar
    out[idx >= 0] = values[idx[idx >= 0]]
    return out


def _timestamps(col: Any, path: str) -> Any:
    import numpy as np
    import pandas as pd

    from gaorg.errors import InputError

    if pd.api.types.is_integer_dtype(col):
        return col.to_numpy(dtype=np.int64)
    text = col.astype(str).str.strip()
    if text.str.fullmatch(r"-?\d+").all():
        return text.astype(np.int64).to_numpy()
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise InputError(
            f"{path}: cannot read timestamp on row(s) {_rows(bad)} (e.g. {text.iloc[bad[0]]!r}); "
            "use epoch milliseconds or ISO 8601 (2024-01-31T00:00Z)"
        )
    return parsed.dt.tz_convert(None).to_numpy().astype("datetime64[ms]").astype(np.int64)


def _rows(rows: Any, limit: int = 5) -> str:
    """1-based data row numbers (the header is not a row), the first ``limit`` of them."""
    shown = ", ".join(str(int(r) + 1) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")
