"""Import of CSV and Parquet files as users have them, through the store's validation.

pyarrow parses the file (on every core; DuckDB's SQL checks text times); this module finds the
header under a banner line, maps the columns (``timestamp,open,high,low,close,volume`` by
default, case-insensitive), turns the time column into UTC epoch milliseconds (epoch s/ms/us/ns
by magnitude, ISO 8601 with one offset, or naive times in ``tz``), and turns newest-first files
around. Messages name file line numbers. Large files go in pieces (:mod:`gaorg.data.bulk`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gaorg.data import checks
from gaorg.errors import InputError, ValidationError, shown

if TYPE_CHECKING:
    from gaorg.data.writer import WriteReport

TARGETS = ("timestamp", "open", "high", "low", "close", "volume")
DELIMITERS = (",", ";", "\t", "|")
HEAD_LINES = 20  # a header must be within the first lines (after a banner)
HEAD_BYTES = 1 << 20  # ... and within the first MB (a file of one endless line is not read whole)
BLOCK_BYTES = 8 << 20  # pyarrow parses blocks in parallel; 8 MB parse ~20% faster than its 1 MB default
_OFFSET = r"(Z|[+-]\d\d:?\d\d)$"


@dataclass
class ImportedTable:
    """Columns ts (UTC ms), open, high, low, close, volume; file line of each row; what was done."""

    columns: dict[str, np.ndarray]
    lines: np.ndarray
    notes: list[str] = field(default_factory=list)


def parse_mapping(text: str | None) -> dict[str, str]:
    """``"timestamp=unix,volume=Volume BTC"`` -> {"timestamp": "unix", "volume": "Volume BTC"}."""
    mapping: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        target, sep, source = part.partition("=")
        target = target.strip().lower()
        if not sep or not source.strip() or target not in TARGETS:
            raise InputError(
                f"bad column mapping {shown(repr(part.strip()))}; write TARGET=SOURCE pairs separated by commas, "
                f"TARGET one of {', '.join(TARGETS)} (e.g. --columns timestamp=date,volume='Volume BTC')"
            )
        mapping[target] = source.strip()
    return mapping


def read_table(path: str | Path, columns: Mapping[str, str] | None = None, tz: str = "UTC") -> ImportedTable:
    """Read a CSV or Parquet file into bar columns (not yet validated: the store validates on write).

    pyarrow parses the file (multi-threaded); DuckDB runs the checks on the time column in SQL
    over the Arrow table without a copy.
    """
    import duckdb

    path = checks.data_file(path)
    mapping = {t: (columns or {}).get(t, t) for t in TARGETS}
    if path.suffix.lower() in (".parquet", ".pq"):
        table, first_line, reread = _read_parquet(path), 1, None
    else:
        table, first_line, reread = _read_csv(path, mapping)
    chosen = _match_columns(path, table.column_names, mapping)
    n = table.num_rows
    if n == 0:
        raise ValidationError(f"{_name(path)} has a header but no data rows")
    lines = np.arange(n, dtype=np.int64) + first_line + 1
    notes: list[str] = []
    ts_col = chosen["timestamp"]
    column = table.column(ts_col)
    if _is_integer(column.type) and column.null_count == 0:  # epoch numbers: no SQL needed
        cols = {t: _numbers(None, table, chosen[t]) for t in TARGETS[1:]}
        if not any(v is None for v in cols.values()):
            notes: list[str] = []
            ts = _epoch(np.asarray(_plain(column), dtype=np.int64), notes)
            return _oldest_first(ts, cols, lines, notes)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        raw = table
        kind = table.schema.field(ts_col).type
        if reread is not None and not _is_integer(kind):
            raw = reread(ts_col, _is_binary(kind))  # the time column again as text: offsets are checked on it
        con.register("raw", raw)
        ctype = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE raw)").fetchall())[ts_col]
        col = _q(ts_col)
        if ctype == "BLOB":  # a cell that is not UTF-8: that cell alone is unreadable (shown as \xNN)
            col, ctype = f"TRY_CAST({col} AS VARCHAR)", "VARCHAR"
        ts = _timestamps(con, path, col, ctype, lines, tz, notes)
        con.register("raw", table)
        cols = {t: _numbers(con, table, chosen[t]) for t in TARGETS[1:]}
    finally:
        con.close()
    return _oldest_first(ts, cols, lines, notes)


def import_into(store_path: str | Path, path: str | Path, exchange: str, symbol: str, timeframe: str, *,
                columns: Mapping[str, str] | None = None, tz: str = "UTC",
                repair: bool = False, allow_future: bool = False) -> tuple[WriteReport, list[str]]:
    """Read ``path`` and upsert its bars into the store at ``store_path``: ``(WriteReport, notes)``.

    Bars dated after now + 1 day are refused unless ``allow_future``; bars before 2009 are imported
    with a warning in the notes (:func:`gaorg.data.checks.bar_dates`).

    The store is opened (DuckDB's start-up, the file's catalogue) in a thread while pyarrow parses
    the file, so the two overlap; a large epoch-timed CSV is written piece by piece while the next
    piece is parsed (:mod:`gaorg.data.bulk`). A file that cannot be read writes nothing: a store
    this call created for it is removed again.
    """
    from concurrent.futures import ThreadPoolExecutor

    from gaorg.data import bulk
    from gaorg.data.store import MarketStore

    store_path, path = Path(store_path), checks.data_file(path)
    existed = store_path.exists()
    with ThreadPoolExecutor(1, thread_name_prefix="gaorg-store") as pool:
        opening = pool.submit(MarketStore, store_path)
        try:
            plan = None
            if not repair:
                plan = bulk.plan(path, {t: (columns or {}).get(t, t) for t in TARGETS})
            done = None if plan is None else bulk.import_pieces(plan, opening, pool, exchange, symbol, timeframe,
                                                                allow_future=allow_future)
            table = None if done is not None else read_table(path, columns, tz)
            if table is not None:
                checks.bar_dates(table.columns["ts"], table.lines, path.name, table.notes, allow_future=allow_future)
        except BaseException:
            _discard(opening, store_path, existed)
            raise
        store = opening.result()
    with store:
        if done is not None:
            return done
        report = store.write_bars(exchange, symbol, timeframe, table.columns, repair=repair, origin=table.lines,
                                  label="line")
    return report, table.notes


def _discard(opening, store_path: Path, existed: bool) -> None:
    """Close the store opened for a failed import; remove it when this import created it."""
    try:
        opening.result().close()
    except Exception:  # noqa: BLE001 - the file's error is the one to report
        pass
    if not existed:
        for leftover in (store_path, store_path.with_name(store_path.name + ".wal")):
            leftover.unlink(missing_ok=True)


def _oldest_first(ts: np.ndarray, cols: dict[str, np.ndarray], lines: np.ndarray, notes: list[str]) -> ImportedTable:
    """The table in time order: a newest-first file is turned around (lines follow the rows)."""
    cols = {"ts": ts, **cols}
    if len(ts) > 1:
        earlier, later = ts[:-1], ts[1:]
        if np.count_nonzero(later < earlier) > np.count_nonzero(later > earlier):
            cols = {k: v[::-1].copy() for k, v in cols.items()}
            lines = lines[::-1].copy()
            notes.append("rows were newest first: reversed")
    return ImportedTable(cols, lines, notes)


def _is_integer(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(kind)


def _is_binary(kind) -> bool:
    """pyarrow reads a CSV column with a byte that is not UTF-8 as binary, not text."""
    import pyarrow as pa

    return pa.types.is_binary(kind) or pa.types.is_large_binary(kind)


def _numbers(con, table, name: str) -> np.ndarray | None:
    """A price/volume column as float64; empty, non-numeric or non-UTF-8 cells become NaN (validation
    names their lines; the other cells of the column are read)."""
    import pyarrow as pa

    col = table.column(name)
    if (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)) and col.null_count == 0:
        return np.ascontiguousarray(_plain(col), dtype=np.float64)
    if con is None:  # the caller has no SQL connection: ask it to take the slow path
        return None
    cell = f"TRY_CAST({_q(name)} AS VARCHAR)" if _is_binary(col.type) else _q(name)
    got = con.sql(f"SELECT coalesce(TRY_CAST({cell} AS DOUBLE), 'NaN'::DOUBLE) AS x FROM raw").fetchnumpy()
    return np.asarray(got["x"], dtype=np.float64)


def _plain(col) -> np.ndarray:
    """A null-free numeric Arrow column as numpy, read from its buffers (pyarrow's own ``to_numpy``
    imports pandas, seconds on a cold start)."""
    dtype = np.dtype(f"{'f' if str(col.type).startswith(('float', 'double', 'halffloat')) else 'i'}"
                     f"{col.type.bit_width // 8}")
    if str(col.type).startswith("uint"):
        dtype = np.dtype(f"u{col.type.bit_width // 8}")
    parts = [np.frombuffer(c.buffers()[1], dtype=dtype, count=len(c), offset=c.offset * dtype.itemsize)
             for c in col.chunks]
    if not parts:
        return np.zeros(0)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _read_parquet(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(f"cannot read {_name(path)} as Parquet: {shown(' '.join(str(exc).split()), 300)}") from None


def _name(path: Path) -> str:
    """The file's name as safe to show (a name can hold escape sequences too)."""
    return shown(path.name)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _split(line: str, delim: str) -> list[str]:
    return [f.strip().strip('"').strip("'").strip() for f in line.split(delim)]


def _layout(path: Path, mapping: dict[str, str]) -> tuple[int, str, list[str]]:
    """Where the header is (0-based row, after any banner), its delimiter, and the mapped columns in it."""
    with path.open("rb") as fh:
        raw = fh.read(HEAD_BYTES)
    checks.text_head(path, raw)
    text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    head = (re.split(r"\r\n|\r|\n", text) + [""] * HEAD_LINES)[:HEAD_LINES]
    if not any(h.strip() for h in head):
        raise ValidationError(f"{_name(path)} is empty; give a file with a header line and rows of bars")
    wanted = {v.lower() for v in mapping.values()}
    guess: list[str] | None = None
    for i, line in enumerate(head):
        for delim in DELIMITERS:
            fields = _split(line, delim)
            if len(fields) < 2:
                continue
            if wanted <= {f.lower() for f in fields}:
                return i, delim, [f for f in fields if f.lower() in wanted]  # parse only the mapped columns
            if guess is None:
                guess = fields
    header = shown(", ".join(guess), 200) if guess else "(no header found)"
    missing = sorted(wanted - {f.lower() for f in (guess or [])})
    raise ValidationError(
        f"{_name(path)}: missing column(s) {shown(', '.join(missing), 200)}; its header is: {header}. "
        f"Map your names with --columns, e.g. --columns timestamp=date,volume=vol"
    )


def _read_csv(path: Path, mapping: dict[str, str]):
    """The file as an Arrow table, the 1-based line of its header, and a re-reader of one column as text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    skip, delim, used = _layout(path, mapping)

    def read(text_column: str | None = None, binary: bool = False):
        convert = pacsv.ConvertOptions(
            include_columns=[text_column] if text_column else used,
            column_types={text_column: pa.binary() if binary else pa.string()} if text_column else None,
            strings_can_be_null=True)
        try:
            return pacsv.read_csv(path, read_options=pacsv.ReadOptions(skip_rows=skip, block_size=BLOCK_BYTES),
                                  parse_options=pacsv.ParseOptions(delimiter=delim), convert_options=convert)
        except pa.ArrowException as exc:
            text = shown(" ".join(str(exc).split()), 300)
            raise ValidationError(f"cannot read {_name(path)}: {text}") from None

    return read(), skip + 1, read


def _match_columns(path: Path, names: list[str], mapping: dict[str, str]) -> dict[str, str]:
    lower = {n.lower(): n for n in names}
    missing = [f"{t}" + (f" (as {s!r})" if s != t else "") for t, s in mapping.items() if s.lower() not in lower]
    if missing:
        raise ValidationError(
            f"{_name(path)}: missing column(s) {shown(', '.join(missing), 200)}; it has: {shown(', '.join(names), 200)}. "
            f"Map your names with --columns, e.g. --columns timestamp=date,volume=vol"
        )
    return {t: lower[s.lower()] for t, s in mapping.items()}


def _timestamps(con, path: Path, col: str, ctype: str, lines: np.ndarray, tz: str, notes: list[str]) -> np.ndarray:
    """The time column as UTC epoch ms (int64), or ValidationError naming the first bad lines."""
    if con.sql(f"SELECT count(*) FROM raw WHERE {col} IS NULL").fetchall()[0][0]:
        nulls = con.sql(f"SELECT list(i) FROM (SELECT row_number() OVER () - 1 AS i, {col} AS t FROM raw) "
                        f"WHERE t IS NULL").fetchall()[0][0]
        raise ValidationError(f"{_name(path)}: {len(nulls)} row(s) without a time ({_lines(lines, nulls)}); "
                              f"fill them or remove those rows", tuple(nulls[:3]))
    ctype = ctype.upper()
    if ctype.startswith("TIMESTAMP WITH TIME ZONE") or ctype == "TIMESTAMPTZ":
        return _fetch_ts(con, f"epoch_ms({col})")
    if ctype.startswith("TIMESTAMP") or ctype == "DATE":
        return _localize(_fetch_ts(con, f"epoch_ms({col}::TIMESTAMP)"), tz, path)
    if ctype != "VARCHAR":  # numbers
        return _epoch(_fetch_ts(con, f"CAST({col} AS BIGINT)"), notes)
    nonint = con.sql(f"SELECT count(*) FROM raw WHERE TRY_CAST({col} AS BIGINT) IS NULL").fetchall()[0][0]
    if nonint == 0:
        return _epoch(_fetch_ts(con, f"CAST({col} AS BIGINT)"), notes)
    epoch_rows = len(lines) - nonint
    if epoch_rows * 2 >= len(lines):  # mostly epoch numbers: the others cannot be read
        bad = _unreadable(con, col, "BIGINT")
        raise ValidationError(
            f"{_name(path)}: {nonint} time value(s) cannot be read (line {lines[bad[0][0]]}: '{shown(bad[0][1], 60)}'); "
            f"the column holds epoch milliseconds, give those rows as epoch milliseconds too",
            tuple(int(i) for i, _ in bad))
    bad = _unreadable(con, col, "TIMESTAMPTZ")
    if bad:
        total = con.sql(f"SELECT count(*) FROM raw WHERE TRY_CAST({col} AS TIMESTAMPTZ) IS NULL").fetchall()[0][0]
        raise ValidationError(
            f"{_name(path)}: {total} time value(s) cannot be read (line {lines[bad[0][0]]}: '{shown(bad[0][1], 60)}'); "
            f"use ISO 8601 (2024-01-31T13:00:00Z) or epoch milliseconds, or map another column with --columns",
            tuple(int(i) for i, _ in bad))
    offsets = con.sql(
        f"SELECT o, min(i) FROM (SELECT row_number() OVER () - 1 AS i, "
        f"replace(replace(regexp_extract(trim({col}), '{_OFFSET}'), 'Z', '+00:00'), ':', '') AS o FROM raw) "
        f"GROUP BY o ORDER BY 2"
    ).fetchall()
    if len(offsets) > 1:
        found = "; ".join(f"{o or 'no offset'} from line {lines[i]}" for o, i in offsets[:3])
        raise ValidationError(
            f"{_name(path)}: mixed timezone offsets in the time column ({found}); convert every time to UTC "
            f"(or to one offset) before importing", tuple(int(i) for _, i in offsets[:3]))
    has_offset = bool(offsets[0][0])
    cast = "TIMESTAMPTZ" if has_offset else "TIMESTAMP"
    ms = _fetch_ts(con, f"epoch_ms(CAST({col} AS {cast}))")
    return ms if has_offset else _localize(ms, tz, path)


def _fetch_ts(con, expr: str) -> np.ndarray:
    return np.asarray(con.sql(f"SELECT {expr} AS ts FROM raw").fetchnumpy()["ts"], dtype=np.int64)


def _epoch(raw: np.ndarray, notes: list[str]) -> np.ndarray:
    """Epoch numbers to ms; the unit is read from the magnitude (s, ms, us, ns)."""
    unit, factor = _epoch_unit(raw)
    if unit != "milliseconds":
        notes.append(f"epoch times read as {unit}")
    if factor == 1:
        return raw
    return raw * factor if factor > 0 else raw // -factor


def _epoch_unit(raw: np.ndarray) -> tuple[str, int]:
    """(unit, factor to ms: a multiplier, or a divisor when negative) from the largest magnitude."""
    top = max(int(raw.max()), -int(raw.min())) if len(raw) else 0  # no |raw| temporary
    units = ((10**11, "seconds", 1000), (10**14, "milliseconds", 1), (10**17, "microseconds", -1000))
    return next(((u, f) for limit, u, f in units if top < limit), ("nanoseconds", -1_000_000))


def _localize(naive_ms: np.ndarray, tz: str, path: Path) -> np.ndarray:
    """Naive local times (as if UTC ms) in ``tz`` -> UTC ms."""
    if tz.upper() in ("UTC", "Z", "ETC/UTC"):
        return naive_ms
    import pandas as pd

    try:
        idx = pd.DatetimeIndex(naive_ms.astype("datetime64[ms]")).tz_localize(tz, ambiguous="raise",
                                                                               nonexistent="raise")
    except Exception as exc:  # noqa: BLE001 - unknown zone, or a time skipped/repeated by a DST change
        raise ValidationError(f"{_name(path)}: cannot place the times in timezone {shown(repr(tz), 60)}: {shown(exc, 200)}; "
                              f"check --tz, or convert the times to UTC") from None
    return np.asarray(idx.tz_convert("UTC").tz_localize(None).as_unit("ms").asi8, dtype=np.int64)


def _lines(lines: np.ndarray, rows: list[int]) -> str:
    listed = ", ".join(str(int(lines[i])) for i in rows[:3])
    return ("line " if len(rows) == 1 else "lines ") + listed + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")


def _unreadable(con, col: str, cast: str) -> list[tuple[int, str]]:
    """The first three (row, value) of the time column that do not cast to ``cast``."""
    return con.sql(
        f"SELECT i, t FROM (SELECT row_number() OVER () - 1 AS i, {col} AS t FROM raw) "
        f"WHERE TRY_CAST(t AS {cast}) IS NULL ORDER BY i LIMIT 3"
    ).fetchall()
