"""The market store: one DuckDB file of validated OHLCV series and funding rates.

A series is keyed by (exchange, symbol, timeframe); bars carry their open time in UTC epoch
milliseconds. Writes are validated (:mod:`gaorg.data.validate`) and run in one transaction: an
upsert replaces bars with the same timestamps, so writing the same bars twice gives the same
store, and a rejected or failed write leaves the store as it was. Reads come back as
:class:`~gaorg.data.bars.Bars` (numpy) with funding aligned to the bars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from gaorg.config import Settings, did_you_mean
from gaorg.data.bars import Bars, align_funding
from gaorg.data.keys import check_key, series_id
from gaorg.data.timeframes import timeframe_ms
from gaorg.data.times import iso, to_ms
from gaorg.data.writer import BarsWriter, WriteReport
from gaorg.errors import InputError, NotFoundError, StoreLockedError, ValidationError

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS series_ids;
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY DEFAULT nextval('series_ids'),
    exchange VARCHAR NOT NULL, symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL,
    UNIQUE (exchange, symbol, timeframe));
CREATE TABLE IF NOT EXISTS bars (
    series_id INTEGER NOT NULL, ts BIGINT NOT NULL,
    open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS funding (
    exchange VARCHAR NOT NULL, symbol VARCHAR NOT NULL, ts BIGINT NOT NULL, rate DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('schema', '1');
"""


@dataclass(frozen=True)
class SeriesInfo:
    """One stored series: its key, first and last bar (epoch ms), rows, and bars missing in between."""

    exchange: str
    symbol: str
    timeframe: str
    first: int
    last: int
    rows: int
    missing: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "first": iso(self.first),
            "last": iso(self.last),
            "rows": self.rows,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class Gap:
    """Missing bars ``[start, end)`` of a series (epoch ms); ``bars`` is how many are missing."""

    start: int
    end: int
    bars: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": iso(self.start), "end": iso(self.end), "bars": self.bars}


def open_store(settings: Settings, read_only: bool = False) -> MarketStore:
    """The store at ``settings.market_db`` (created on first write)."""
    if not read_only:
        settings.ensure_home()
    return MarketStore(settings.market_db, read_only=read_only)


class MarketStore:
    """A context manager over one DuckDB market file. ``read_only`` shares the file with other readers.

    A missing file opened read-only reads as an empty store (nothing is created).
    """

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        target = str(self.path)
        if read_only and not self.path.exists():
            target, read_only = ":memory:", False
        try:
            self.con = duckdb.connect(target, read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            text = str(exc)
            if "lock" in text.lower() or "different configuration" in text:
                holder = re.search(r"\(PID (\d+)\)", text)
                who = f"process {holder.group(1)}" if holder else "another connection"
                raise StoreLockedError(
                    f"the market store {self.path} is locked by {who}; stop it (or wait for it "
                    f"to finish), or point GAORG_HOME at another directory"
                ) from None
            raise InputError(f"cannot open the market store {self.path}: {text}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            # speed over size: uncompressed blocks insert ~40% and read ~25% faster (about 48 MB per
            # million bars); see docs/benchmarks.md
            self.con.execute("SET force_compression = 'uncompressed'")
            have = self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('series', 'bars', 'funding', 'meta')"
            ).fetchall()[0][0]
            if have < 4:  # a new file: create the schema (one transaction less on every later open)
                self.con.execute(_SCHEMA)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> MarketStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ----------------------------------------------------------------------------
    def write_bars(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        frame: Any,
        repair: bool = False,
        *,
        origin: np.ndarray | None = None,
        label: str = "row",
    ) -> WriteReport:
        """Validate ``frame`` (ts, open, high, low, close, volume) and upsert it in one transaction."""
        with self.bars_writer(exchange, symbol, timeframe, repair=repair, label=label) as writer:
            writer.add(frame, origin)
        return writer.report()

    def bars_writer(self, exchange: str, symbol: str, timeframe: str, *, repair: bool = False,
                    label: str = "row") -> BarsWriter:
        """One transaction that upserts a series' bars piece by piece (see :mod:`gaorg.data.writer`)."""
        return BarsWriter(self, exchange, symbol, timeframe, repair=repair, label=label)

    def write_funding(self, exchange: str, symbol: str, ts_ms: Any, rates: Any) -> int:
        """Upsert funding events (time in epoch ms, rate per event); returns the rows written."""
        ts = np.asarray(ts_ms, dtype=np.int64)
        rate = np.asarray(rates, dtype=np.float64)
        if ts.shape != rate.shape:
            raise ValidationError(f"funding: {len(ts)} times but {len(rate)} rates")
        if len(ts) == 0:
            return 0
        bad = np.flatnonzero(~np.isfinite(rate))
        if bad.size:
            raise ValidationError(f"funding: {bad.size} rates are NaN or infinite (first at row {bad[0]})")
        check_key(exchange, symbol)
        order = np.argsort(ts, kind="stable")
        ts, rate = ts[order], rate[order]
        last = np.r_[ts[1:] != ts[:-1], True]
        ts, rate = ts[last], rate[last]
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("_new_funding", {"ts": ts, "rate": rate})
            con.execute(
                "DELETE FROM funding WHERE exchange = ? AND symbol = ? AND ts IN (SELECT ts FROM _new_funding)",
                [exchange, symbol],
            )
            con.execute("INSERT INTO funding SELECT ?, ?, ts, rate FROM _new_funding", [exchange, symbol])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_new_funding")
        return len(ts)

    # -- reads -----------------------------------------------------------------------------
    def read_bars(
        self, exchange: str | None, symbol: str, timeframe: str, start: Any = None, end: Any = None
    ) -> Bars:
        """Bars of a series with open time in ``[start, end)`` (ms, ISO text or datetime), as numpy.

        ``funding[i]`` sums the stored funding rates with time in ``(ts[i], ts[i] + timeframe]``.
        """
        exchange = self.resolve_exchange(symbol, exchange, timeframe)
        sid = series_id(self.con, exchange, symbol, timeframe, create=False)
        if sid is None:
            raise NotFoundError(self.unknown_series(exchange, symbol, timeframe))
        sql = "SELECT ts, open, high, low, close, volume FROM bars WHERE series_id = ?"
        params: list[Any] = [sid]
        lo, hi = to_ms(start), to_ms(end)
        if lo is not None:
            sql += " AND ts >= ?"
            params.append(lo)
        if hi is not None:
            sql += " AND ts < ?"
            params.append(hi)
        cols = self.con.sql(sql, params=params).fetchnumpy()  # .sql: no extra copy of the rows
        arrays = {k: np.asarray(v) for k, v in cols.items()}
        ts = arrays["ts"]
        if ts.size > 1 and not np.all(ts[1:] > ts[:-1]):  # rows appended out of order by an upsert
            order = np.argsort(ts, kind="stable")
            arrays = {k: v[order] for k, v in arrays.items()}
            ts = arrays["ts"]
        funding = self._aligned_funding(exchange, symbol, ts, timeframe_ms(timeframe))
        return Bars(exchange, symbol, timeframe, ts, arrays["open"], arrays["high"], arrays["low"],
                    arrays["close"], arrays["volume"], funding)

    def read_frame(self, exchange: str | None, symbol: str, timeframe: str, start: Any = None, end: Any = None):
        """The same bars as a DataFrame indexed by tz-naive UTC time (see ``Bars.to_frame``)."""
        return self.read_bars(exchange, symbol, timeframe, start, end).to_frame()

    def read_funding(self, exchange: str, symbol: str, start: Any = None, end: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Funding events ``(ts_ms, rate)`` of a symbol with time in ``(start, end]``, sorted."""
        sql = "SELECT ts, rate FROM funding WHERE exchange = ? AND symbol = ?"
        params: list[Any] = [exchange, symbol]
        if (lo := to_ms(start)) is not None:
            sql += " AND ts > ?"
            params.append(lo)
        if (hi := to_ms(end)) is not None:
            sql += " AND ts <= ?"
            params.append(hi)
        got = self.con.sql(sql + " ORDER BY ts", params=params).fetchnumpy()
        return np.asarray(got["ts"], dtype=np.int64), np.asarray(got["rate"], dtype=np.float64)

    def _aligned_funding(self, exchange: str, symbol: str, ts: np.ndarray, tf: int) -> np.ndarray:
        out = np.zeros(len(ts))
        if len(ts) == 0:
            return out
        f_ts, f_rate = self.read_funding(exchange, symbol, int(ts[0]), int(ts[-1]) + tf)
        return align_funding(ts, tf, f_ts, f_rate)

    def series(self) -> list[SeriesInfo]:
        """Every stored series with its first/last bar, row count and missing bars, sorted by key."""
        rows = self.con.execute(
            "SELECT s.exchange, s.symbol, s.timeframe, min(b.ts), max(b.ts), count(*) "
            "FROM series s JOIN bars b ON b.series_id = s.id GROUP BY ALL ORDER BY 1, 2, 3"
        ).fetchall()
        out = []
        for ex, sym, tf, first, last, n in rows:
            expected = (last - first) // timeframe_ms(tf) + 1
            out.append(SeriesInfo(ex, sym, tf, int(first), int(last), int(n), int(expected - n)))
        return out

    def activity(self, exchange: str, window_ms: int,
                 until: int | None = None) -> list[tuple[str, str, int, int, int, float]]:
        """Per stored series of ``exchange``: (symbol, timeframe, first, last, rows, notional), where
        notional sums ``volume * close`` over the series' bars in the ``window_ms`` before
        ``until`` (or before its own last bar, if earlier: the trading before it was delisted). One
        query, for choosing a basket."""
        until = 2**62 if until is None else int(until)
        rows = self.con.execute(
            "WITH spans AS (SELECT series_id, min(ts) AS first, max(ts) AS last, count(*) AS n FROM bars "
            "GROUP BY series_id) "
            "SELECT s.symbol, s.timeframe, sp.first, sp.last, sp.n, coalesce(sum(b.volume * b.close) "
            "FILTER (WHERE b.ts > least(sp.last + 1, ?) - ? AND b.ts < least(sp.last + 1, ?)), 0) "
            "FROM series s JOIN spans sp ON sp.series_id = s.id JOIN bars b ON b.series_id = s.id "
            "WHERE s.exchange = ? GROUP BY ALL ORDER BY 1, 2", [until, int(window_ms), until, exchange]
        ).fetchall()
        return [(str(a), str(b), int(c), int(d), int(e), float(f)) for a, b, c, d, e, f in rows]

    def gaps(self, exchange: str | None, symbol: str, timeframe: str) -> list[Gap]:
        """The missing intervals of a series, oldest first."""
        exchange = self.resolve_exchange(symbol, exchange, timeframe)
        sid = series_id(self.con, exchange, symbol, timeframe, create=False)
        if sid is None:
            raise NotFoundError(self.unknown_series(exchange, symbol, timeframe))
        tf = timeframe_ms(timeframe)
        rows = self.con.execute(
            "SELECT ts, nxt FROM (SELECT ts, lead(ts) OVER (ORDER BY ts) AS nxt FROM bars "
            "WHERE series_id = ?) WHERE nxt - ts > ? ORDER BY ts", [sid, tf]
        ).fetchall()
        return [Gap(int(a) + tf, int(b), int((b - a) // tf - 1)) for a, b in rows]

    def last_ts(self, exchange: str, symbol: str, timeframe: str) -> int | None:
        """Open time of the newest stored bar of a series, or None when there is none."""
        return self._edge("max", exchange, symbol, timeframe)

    def first_ts(self, exchange: str, symbol: str, timeframe: str) -> int | None:
        """Open time of the oldest stored bar of a series, or None when there is none."""
        return self._edge("min", exchange, symbol, timeframe)

    def _edge(self, fn: str, exchange: str, symbol: str, timeframe: str) -> int | None:
        got = self.con.execute(
            f"SELECT {fn}(b.ts) FROM bars b JOIN series s ON b.series_id = s.id "
            "WHERE s.exchange = ? AND s.symbol = ? AND s.timeframe = ?", [exchange, symbol, timeframe]
        ).fetchall()
        return None if got[0][0] is None else int(got[0][0])

    def last_funding_ts(self, exchange: str, symbol: str) -> int | None:
        got = self.con.execute(
            "SELECT max(ts) FROM funding WHERE exchange = ? AND symbol = ?", [exchange, symbol]
        ).fetchall()
        return None if got[0][0] is None else int(got[0][0])

    def resolve_exchange(self, symbol: str, exchange: str | None = None, timeframe: str | None = None) -> str:
        """``exchange`` if given, else the one exchange that holds ``symbol``; InputError when ambiguous."""
        if exchange:
            return exchange
        sql = "SELECT DISTINCT exchange FROM series WHERE symbol = ?"
        params = [symbol]
        if timeframe:
            sql += " AND timeframe = ?"
            params.append(timeframe)
        found = sorted(r[0] for r in self.con.execute(sql + " ORDER BY 1", params).fetchall())
        if len(found) == 1:
            return found[0]
        if not found:
            other = self.con.execute("SELECT exchange, timeframe FROM series WHERE symbol = ? ORDER BY 1, 2",
                                     [symbol]).fetchall()
            if other:  # the symbol is stored, not at this timeframe
                raise NotFoundError(f"no stored series for symbol {symbol!r} at {timeframe}; stored for it: "
                                    f"{', '.join(f'{ex} {symbol} {tf}' for ex, tf in other)}")
            symbols = [r[0] for r in self.con.execute("SELECT DISTINCT symbol FROM series").fetchall()]
            raise NotFoundError(
                f"no stored series for symbol {symbol!r}{did_you_mean(symbol, symbols)}; "
                f"`gaorg data list` shows what the store holds"
            )
        raise InputError(f"symbol {symbol!r} is stored for several exchanges ({', '.join(found)}); pass --exchange")

    # -- helpers ---------------------------------------------------------------------------
    def unknown_series(self, exchange: str, symbol: str, timeframe: str) -> str:
        have = [f"{s.exchange} {s.symbol} {s.timeframe}" for s in self.series() if s.symbol == symbol]
        hint = f"; stored for this symbol: {', '.join(have)}" if have else "; `gaorg data list` shows the store"
        return f"no series {exchange} {symbol} {timeframe} in {self.path}{hint}"
