"""Import of CSV and Parquet files as users have them, through the store's validation.

pyarrow parses the file (on every core; DuckDB's SQL checks text times); this module finds the
header under a banner line, maps the columns (``timestamp,open,high,low,close,volume`` by
default, case-insensitive), turns the time column into UTC epoch milliseconds (epoch s/ms/us/ns
by magnitude, ISO 8601 with one offset, or naive times in ``tz``), and turns newest-first files
around. Messages name file line numbers. Large files go in pieces (:mod:`gaorg.data.bulk`); what
both read a file with lives in :mod:`gaorg.data.columns`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gaorg.data import checks
from gaorg.data.columns import BLOCK_BYTES, TARGETS, epoch_unit, file_name, layout, match_columns, plain
from gaorg.errors import InputError, ValidationError, shown

if TYPE_CHECKING:
    from gaorg.data.writer import WriteReport

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
    chosen = match_columns(path, table.column_names, mapping)
    n = table.num_rows
    if n == 0:
        raise ValidationError(f"{file_name(path)} has a header but no data rows")
    lines = np.arange(n, dtype=np.int64) + first_line + 1
    notes: list[str] = []
    ts_col = chosen["timestamp"]
    column = table.column(ts_col)
    if _is_integer(column.type) and column.null_count == 0:  # epoch numbers: no SQL needed
        cols = {t: _numbers(None, table, chosen[t]) for t in TARGETS[1:]}
        if not any(v is None for v in cols.values()):
            notes: list[str] = []
            ts = _epoch(np.asarray(plain(column), dtype=np.int64), notes)
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
        return np.ascontiguousarray(plain(col), dtype=np.float64)
    if con is None:  # the caller has no SQL connection: ask it to take the slow path
        return None
    cell = f"TRY_CAST({_q(name)} AS VARCHAR)" if _is_binary(col.type) else _q(name)
    got = con.sql(f"SELECT coalesce(TRY_CAST({cell} AS DOUBLE), 'NaN'::DOUBLE) AS x FROM raw").fetchnumpy()
    return np.asarray(got["x"], dtype=np.float64)


def _read_parquet(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(f"cannot read {file_name(path)} as Parquet: {shown(' '.join(str(exc).split()), 300)}") from None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _read_csv(path: Path, mapping: dict[str, str]):
    """The file as an Arrow table, the 1-based line of its header, and a re-reader of one column as text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    skip, delim, used = layout(path, mapping)

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
            raise ValidationError(f"cannot read {file_name(path)}: {text}") from None

    return read(), skip + 1, read


def _timestamps(con, path: Path, col: str, ctype: str, lines: np.ndarray, tz: str, notes: list[str]) -> np.ndarray:
    """The time column as UTC epoch ms (int64), or ValidationError naming the first bad lines."""
    if con.sql(f"SELECT count(*) FROM raw WHERE {col} IS NULL").fetchall()[0][0]:
        nulls = con.sql(f"SELECT list(i) FROM (SELECT row_number() OVER () - 1 AS i, {col} AS t FROM raw) "
                        f"WHERE t IS NULL").fetchall()[0][0]
        raise ValidationError(f"{file_name(path)}: {len(nulls)} row(s) without a time ({_lines(lines, nulls)}); "
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
            f"{file_name(path)}: {nonint} time value(s) cannot be read (line {lines[bad[0][0]]}: '{shown(bad[0][1], 60)}'); "
            f"the column holds epoch milliseconds, give those rows as epoch milliseconds too",
            tuple(int(i) for i, _ in bad))
    bad = _unreadable(con, col, "TIMESTAMPTZ")
    if bad:
        total = con.sql(f"SELECT count(*) FROM raw WHERE TRY_CAST({col} AS TIMESTAMPTZ) IS NULL").fetchall()[0][0]
        raise ValidationError(
            f"{file_name(path)}: {total} time value(s) cannot be read (line {lines[bad[0][0]]}: '{shown(bad[0][1], 60)}'); "
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
            f"{file_name(path)}: mixed timezone offsets in the time column ({found}); convert every time to UTC "
            f"(or to one offset) before importing", tuple(int(i) for _, i in offsets[:3]))
    has_offset = bool(offsets[0][0])
    cast = "TIMESTAMPTZ" if has_offset else "TIMESTAMP"
    ms = _fetch_ts(con, f"epoch_ms(CAST({col} AS {cast}))")
    return ms if has_offset else _localize(ms, tz, path)


def _fetch_ts(con, expr: str) -> np.ndarray:
    return np.asarray(con.sql(f"SELECT {expr} AS ts FROM raw").fetchnumpy()["ts"], dtype=np.int64)


def _epoch(raw: np.ndarray, notes: list[str]) -> np.ndarray:
    """Epoch numbers to ms; the unit is read from the magnitude (s, ms, us, ns)."""
    unit, factor = epoch_unit(raw)
    if unit != "milliseconds":
        notes.append(f"epoch times read as {unit}")
    if factor == 1:
        return raw
    return raw * factor if factor > 0 else raw // -factor


def _localize(naive_ms: np.ndarray, tz: str, path: Path) -> np.ndarray:
    """Naive local times (as if UTC ms) in ``tz`` -> UTC ms."""
    if tz.upper() in ("UTC", "Z", "ETC/UTC"):
        return naive_ms
    import pandas as pd

    try:
        idx = pd.DatetimeIndex(naive_ms.astype("datetime64[ms]")).tz_localize(tz, ambiguous="raise",
                                                                               nonexistent="raise")
    except Exception as exc:  # noqa: BLE001 - unknown zone, or a time skipped/repeated by a DST change
        raise ValidationError(f"{file_name(path)}: cannot place the times in timezone {shown(repr(tz), 60)}: {shown(exc, 200)}; "
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
