"""Large CSV imports in pieces: the store validates and writes one piece while pyarrow parses the next.

A file of at least ``MIN_BYTES`` whose times are epoch integers is cut at line ends into pieces of
about ``PIECE_BYTES`` (two at least). While pyarrow parses piece k+1 (on every core), the store's thread
validates piece k and upserts it into the import's one transaction
(:class:`~gaorg.data.writer.BarsWriter`), and the commit follows the last piece. Whatever needs the
whole file - times as text, an empty or unreadable cell, newest-first rows, a bar that fails
validation (its message counts the whole file) - rolls that transaction back and the file goes
through :func:`gaorg.data.importer.read_table` instead, so the outcome and every message are the
same either way; only the time differs (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import queue
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from gaorg.data import checks
from gaorg.data.columns import BLOCK_BYTES, TARGETS, epoch_unit, layout, match_columns, plain
from gaorg.errors import ValidationError

MIN_BYTES = 64 << 20  # smaller files go whole: two pieces of a 400k-bar file (42 MB) gained nothing
PIECE_BYTES = 64 << 20  # a 1M-bar file (105 MB) in two pieces measured faster than in three or four
PROBE_BYTES = 1 << 16  # the header and first rows are read from this much; a cut finds a line end within it


class Unfit(Exception):
    """The file needs the whole-file reader (internal: caught in this module)."""


@dataclass(frozen=True)
class Plan:
    """How a file is cut: its delimiter, every column name (as pyarrow reads the header), the column
    of each target, and the byte offsets of the cuts (data start, ..., file size)."""

    path: Path
    delim: str
    names: list[str]
    chosen: dict[str, str]
    cuts: list[int]


def plan(path: Path, mapping: dict[str, str]) -> Plan | None:
    """How to import ``path`` in pieces, or None when it is small, Parquet, or not epoch-timed.

    Raises the same ValidationError as the whole-file reader for a missing header or column.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    size = path.stat().st_size
    if path.suffix.lower() in (".parquet", ".pq") or size < MIN_BYTES:
        return None
    skip, delim, _ = layout(path, mapping)
    with path.open("rb") as fh:
        head = fh.read(PROBE_BYTES)
        ends, pos = [], -1  # the line ends of the header and the first row
        while len(ends) < skip + 2 and (pos := head.find(b"\n", pos + 1)) >= 0:
            ends.append(pos)
        last = head.rfind(b"\n")
        if len(ends) < skip + 2:
            return None
        try:
            probe = pacsv.read_csv(pa.BufferReader(head[: last + 1]), read_options=pacsv.ReadOptions(skip_rows=skip),
                                   parse_options=pacsv.ParseOptions(delimiter=delim))
        except pa.ArrowException:
            return None  # let the whole-file reader say what is wrong
        chosen = match_columns(path, probe.column_names, mapping)
        kinds = [probe.column(chosen[t]).type for t in TARGETS]
        if not pa.types.is_integer(kinds[0]) or not all(pa.types.is_integer(k) or pa.types.is_floating(k)
                                                        for k in kinds[1:]):
            return None
        start = ends[skip] + 1
        cuts = [start]
        for share in _shares(max(2, round((size - start) / PIECE_BYTES))):
            fh.seek(start + int((size - start) * share))
            window = fh.read(PROBE_BYTES)
            end = window.find(b"\n")
            if end < 0:
                return None
            cuts.append(fh.tell() - len(window) + end + 1)
    cuts.append(size)
    if any(b <= a for a, b in pairwise(cuts)):
        return None
    return Plan(path, delim, probe.column_names, chosen, cuts)


def _shares(count: int) -> list[float]:
    """Where to cut, as shares of the rows: the last piece is two thirds the size of the others, so
    the write that is left when the parse has ended is shorter (60/40 for two pieces)."""
    weights = np.r_[np.ones(count - 1), 2 / 3]
    return [float(x) for x in np.cumsum(weights)[:-1] / weights.sum()]


def pieces(plan: Plan, notes: list[str], allow_future: bool = False) -> Iterator[dict[str, np.ndarray]]:
    """The file's rows piece by piece, as bar columns (ts in UTC ms). No file lines: a piece that
    fails validation sends the file to the whole-file reader, which names them.

    Raises Unfit for what the whole-file reader must handle (a bar in the future among them); adds
    the epoch unit and a warning for bars before 2009 to ``notes``.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {name: pa.int64() if t == "timestamp" else pa.float64() for t, name in plan.chosen.items()}
    options = {"read_options": pacsv.ReadOptions(column_names=plan.names, block_size=BLOCK_BYTES),
               "parse_options": pacsv.ParseOptions(delimiter=plan.delim),
               "convert_options": pacsv.ConvertOptions(include_columns=list(types), column_types=types)}
    unit = None
    limit, early = checks.future_limit(), [0, checks.GENESIS_MS]  # bars before 2009: count, earliest
    with pa.memory_map(str(plan.path)) as mapped:
        data = mapped.read_buffer()
        for a, b in pairwise(plan.cuts):
            try:
                table = pacsv.read_csv(pa.BufferReader(data.slice(a, b - a)), **options)
            except pa.ArrowException:
                raise Unfit from None
            if table.num_rows == 0:
                continue
            if any(table.column(name).null_count for name in types):
                raise Unfit  # an empty or NaN cell: the whole-file reader names it
            raw = plain(table.column(plan.chosen["timestamp"]))
            if unit is None:
                unit = epoch_unit(raw)
                if raw[-1] < raw[0]:
                    raise Unfit  # newest first: the whole-file reader turns it around
                if unit[0] != "milliseconds":
                    notes.append(f"epoch times read as {unit[0]}")
            elif epoch_unit(raw) != unit:
                raise Unfit
            factor = unit[1]
            ts = raw if factor == 1 else raw * factor if factor > 0 else raw // -factor
            # a piece's ends suffice: a piece out of order fails validation and goes whole-file anyway
            if ts[-1] > limit and not allow_future:
                raise Unfit  # the whole-file reader refuses it, naming the lines
            if ts[0] < checks.GENESIS_MS:
                early[0] += int(np.count_nonzero(ts < checks.GENESIS_MS))
                early[1] = min(early[1], int(ts[0]))
            yield {"ts": ts, **{t: plain(table.column(plan.chosen[t])) for t in TARGETS[1:]}}
    if early[0]:
        notes.append(checks.early_note(*early))


_ABORT = object()


def import_pieces(plan: Plan, opening: Future, pool: ThreadPoolExecutor, exchange: str, symbol: str,
                  timeframe: str, *, allow_future: bool = False) -> tuple[Any, list[str]] | None:
    """Import ``plan``'s file piece by piece: ``(WriteReport, notes)``, or None when it needs the
    whole-file reader (the transaction was rolled back). ``opening`` is the store being opened on
    ``pool``'s one thread, where the writer then runs."""
    feed: queue.Queue = queue.Queue()
    writing = pool.submit(_write, opening, feed, exchange, symbol, timeframe)
    notes: list[str] = []
    try:
        with closing(pieces(plan, notes, allow_future)) as parsed:  # closing: the file's memory map is let go at once
            for piece in parsed:
                if writing.done():
                    break  # the writer stopped (a bar failed validation): no use parsing on
                feed.put(piece)
        feed.put(None)
    except Unfit:
        feed.put(_ABORT)
    except BaseException:
        feed.put(_ABORT)
        try:
            writing.result()
        except BaseException:  # noqa: BLE001 - the parse's own error is the one to raise
            pass
        raise
    try:
        return writing.result(), notes
    except (Unfit, ValidationError):
        return None


def _write(opening: Future, feed: queue.Queue, exchange: str, symbol: str, timeframe: str) -> Any:
    store = opening.result()
    with store.bars_writer(exchange, symbol, timeframe) as writer:
        while (piece := feed.get()) is not None:
            if piece is _ABORT:
                raise Unfit
            writer.add(piece)
            _start_writeback(store.path)
    return writer.report()


def _start_writeback(path: Path) -> None:
    """Ask Linux to start writing the store file's dirty pages now, without waiting for them
    (``sync_file_range``): the flush of a piece overlaps the parse of the next and the commit's
    fsync has less left to wait for (~5% of a 1M-bar import). Durability is unchanged: the commit
    still syncs. A no-op where the call does not exist."""
    libc = _libc()
    if libc is None or not path.is_file():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        libc.sync_file_range(fd, 0, 0, 2)  # SYNC_FILE_RANGE_WRITE: submit the writes, do not wait
    finally:
        os.close(fd)


_LIBC: list[Any] = []


def _libc() -> Any:
    """The C library (its ``sync_file_range``) on Linux, else None; looked up once."""
    if not _LIBC:
        lib = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                lib = ctypes.CDLL(None, use_errno=True)  # the process's own symbols: glibc's among them
                lib.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
            except (OSError, AttributeError):
                lib = None
        _LIBC.append(lib)
    return _LIBC[0]
