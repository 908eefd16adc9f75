"""One transactional upsert of a series' bars, given whole or in consecutive pieces.

:meth:`MarketStore.write_bars` writes a frame as one piece; a large import hands the writer piece
after piece while it parses the next (:mod:`gaorg.data.bulk`). Every piece is validated, must start
after the previous one ends, and replaces stored bars with the same timestamps. Nothing is visible,
or durable, before the last piece is in and the writer commits; an exception rolls every piece back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from gaorg.data.keys import check_key, series_id
from gaorg.data.times import iso, iso_exact
from gaorg.data.validate import RepairReport, validate_bars
from gaorg.errors import ValidationError

if TYPE_CHECKING:
    import duckdb

ARROW_ROWS = 100_000  # from here on DuckDB inserts faster from Arrow than from numpy


class Connected(Protocol):
    """What the writer needs of a store (a :class:`~gaorg.data.store.MarketStore`): its connection."""

    con: duckdb.DuckDBPyConnection


@dataclass(frozen=True)
class WriteReport:
    """The outcome of one write: rows added, rows replaced, and what validation repaired."""

    exchange: str
    symbol: str
    timeframe: str
    inserted: int
    replaced: int
    first: int
    last: int
    repair: RepairReport

    def to_dict(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "inserted": self.inserted,
            "replaced": self.replaced,
            "first": iso(self.first),
            "last": iso(self.last),
            "repair": {"rows_in": self.repair.rows_in, "rows_out": self.repair.rows_out,
                       "dropped": self.repair.dropped, "sorted": self.repair.sorted},
        }


class BarsWriter:
    """A context manager: BEGIN on entry, :meth:`add` per piece, COMMIT on a clean exit, else ROLLBACK.

    Use it from one thread at a time (the store's connection is not shared between threads).
    """

    def __init__(self, store: Connected, exchange: str, symbol: str, timeframe: str, *,
                 repair: bool = False, label: str = "row") -> None:
        check_key(exchange, symbol)
        self.store, self.exchange, self.symbol, self.timeframe = store, exchange, symbol, timeframe
        self.repair, self.label = repair, label
        self._sid: int | None = None
        self._span: tuple[int, int] | None = None
        self._counts = [0, 0]  # inserted, replaced
        self._reports: list[RepairReport] = []

    def __enter__(self) -> BarsWriter:
        self.store.con.execute("BEGIN TRANSACTION")
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        con = self.store.con
        if kind is not None:
            con.execute("ROLLBACK")
            return
        try:
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def add(self, frame: Any, origin: np.ndarray | None = None) -> None:
        """Validate one piece (ts, open, high, low, close, volume) and upsert it into the transaction.

        ``origin[i]`` names row ``i`` in messages (a file's line numbers, with ``label="line"``).
        """
        cols, report = validate_bars(frame, self.timeframe, repair=self.repair, origin=origin, label=self.label)
        lo, hi = int(cols["ts"][0]), int(cols["ts"][-1])
        if self._span is not None and lo <= self._span[1]:
            raise ValidationError(
                f"a piece of bars starting at {iso_exact(lo)} does not follow the previous one (ending at "
                f"{iso_exact(self._span[1])}); give the pieces in time order, without overlaps")
        con = self.store.con
        if self._sid is None:
            self._sid = series_id(con, self.exchange, self.symbol, self.timeframe, create=True)
        con.register("_new_bars", _scannable(cols))
        try:
            span = "FROM bars WHERE series_id = ? AND ts BETWEEN ? AND ?"
            overlap = con.execute(f"SELECT count(*) {span}", [self._sid, lo, hi]).fetchall()[0][0]
            if overlap:  # only then match timestamps (a new span skips the join)
                overlap = con.execute(
                    f"SELECT count(*) {span} AND ts IN (SELECT ts FROM _new_bars)", [self._sid, lo, hi]
                ).fetchall()[0][0]
            if overlap:
                con.execute(f"DELETE {span} AND ts IN (SELECT ts FROM _new_bars)", [self._sid, lo, hi])
            con.execute("INSERT INTO bars SELECT ?, ts, open, high, low, close, volume FROM _new_bars", [self._sid])
        finally:
            con.unregister("_new_bars")
        n = len(cols["ts"])
        self._counts[0] += n - overlap
        self._counts[1] += overlap
        self._span = (lo if self._span is None else self._span[0], hi)
        self._reports.append(report)

    def report(self) -> WriteReport:
        """What the pieces added up to (ask after the writer has committed)."""
        if self._span is None:
            raise ValidationError("no bars to write (the input has no rows)")
        dropped: dict[str, int] = {}
        for r in self._reports:
            for reason, k in r.dropped.items():
                dropped[reason] = dropped.get(reason, 0) + k
        repair = RepairReport(sum(r.rows_in for r in self._reports), sum(r.rows_out for r in self._reports),
                              dropped, any(r.sorted for r in self._reports))
        return WriteReport(self.exchange, self.symbol, self.timeframe, *self._counts, *self._span, repair)


def _scannable(cols: dict[str, np.ndarray]) -> Any:
    """What DuckDB inserts from: an Arrow table for large writes (faster), else the numpy arrays
    themselves (no pyarrow import for small writes)."""
    if len(cols["ts"]) < ARROW_ROWS:
        return cols
    import pyarrow as pa

    return pa.Table.from_arrays([pa.array(v) for v in cols.values()], names=list(cols))
