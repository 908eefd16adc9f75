"""The DuckDB market store: upserts, reads, funding alignment, summaries, gaps, locking."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from gaorg.data.store import MarketStore, iso, to_ms
from gaorg.errors import InputError, NotFoundError, StoreLockedError, ValidationError

H = 3_600_000


def frame(n: int = 10, start: int = 0, shift: float = 0.0) -> dict[str, np.ndarray]:
    close = 100 + np.arange(n, dtype=float) + shift
    return {"ts": start + np.arange(n, dtype=np.int64) * H, "open": close - 0.5, "high": close + 1,
            "low": close - 1, "close": close, "volume": np.full(n, 10.0)}


def snapshot(path: Path) -> tuple:
    """Everything the store holds, in a comparable form."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return tuple(
            tuple(con.execute(q).fetchall())
            for q in ("SELECT * FROM series ORDER BY id", "SELECT * FROM bars ORDER BY series_id, ts",
                      "SELECT * FROM funding ORDER BY exchange, symbol, ts")
        )
    finally:
        con.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "market.duckdb"


def test_bars_written_are_read_back_as_numpy(db):
    f = frame()
    with MarketStore(db) as store:
        report = store.write_bars("ex", "BTC", "1h", f)
        bars = store.read_bars("ex", "BTC", "1h")
    assert report.inserted == 10 and report.replaced == 0
    assert bars.key == ("ex", "BTC", "1h")
    for k in ("ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(bars, k), f[k])
    assert bars.ts.dtype == np.int64 and bars.close.dtype == np.float64
    assert not bars.close.flags.writeable


def test_bars_read_back_write_again_through_their_columns(db, tmp_path):
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame())
        bars = store.read_bars("ex", "BTC", "1h")
    cols = bars.columns()
    assert list(cols) == ["ts", "open", "high", "low", "close", "volume"]  # funding is stored apart
    assert all(np.shares_memory(cols[k], getattr(bars, k)) for k in cols)  # views, no copy
    with MarketStore(tmp_path / "copy.duckdb") as store:
        store.write_bars("ex", "BTC", "1h", cols)
    assert snapshot(tmp_path / "copy.duckdb") == snapshot(db)


def test_writing_the_same_bars_twice_gives_the_same_store(db):
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame())
    first = snapshot(db)
    with MarketStore(db) as store:
        report = store.write_bars("ex", "BTC", "1h", frame())
    assert report.replaced == 10 and report.inserted == 0
    assert snapshot(db) == first


def test_an_overlapping_write_replaces_those_bars_and_adds_the_new(db):
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame(10))
        report = store.write_bars("ex", "BTC", "1h", frame(10, start=5 * H, shift=50))
        bars = store.read_bars("ex", "BTC", "1h")
    assert (report.inserted, report.replaced) == (5, 5)
    assert len(bars) == 15
    assert np.all(np.diff(bars.ts) == H)
    assert bars.close[4] == 104 and bars.close[5] == 150


def test_a_rejected_write_leaves_the_store_unchanged(db):
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame())
    before = snapshot(db)
    bad = frame(10, start=5 * H)
    bad["high"][7] = 1.0  # high below low
    with MarketStore(db) as store, pytest.raises(ValidationError, match="high below low"):
        store.write_bars("ex", "BTC", "1h", bad)
    assert snapshot(db) == before


def test_a_write_that_fails_inside_the_transaction_is_rolled_back(db):
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame())
    before = snapshot(db)
    with MarketStore(db) as store:
        store.con.execute("CREATE TABLE boom (x INTEGER)")
        # a new series row is created inside the transaction, then the insert fails
        store.con.execute("ALTER TABLE bars ADD COLUMN must INTEGER NOT NULL DEFAULT 1")
        store.con.execute("ALTER TABLE bars ALTER must DROP DEFAULT")
        with pytest.raises(duckdb.Error):
            store.write_bars("ex", "ETH", "1h", frame())
        store.con.execute("ALTER TABLE bars DROP COLUMN must")
        store.con.execute("DROP TABLE boom")
    assert snapshot(db) == before


def test_read_range_is_start_inclusive_end_exclusive_and_takes_iso_times(db):
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame())
        bars = store.read_bars("ex", "BTC", "1h", start=2 * H, end=iso(5 * H))
        frame_ = store.read_frame("ex", "BTC", "1h")
    assert list(bars.ts) == [2 * H, 3 * H, 4 * H]
    assert frame_.index.tz is None and len(frame_) == 10


def test_funding_is_aligned_to_the_bar_it_is_paid_in(db):
    ts = np.array([0, H // 2, H, H + 1, 3 * H, 20 * H], dtype=np.int64)
    rates = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0]) * 1e-5
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame(4))
        store.write_funding("ex", "BTC", ts, rates)
        bars = store.read_bars("ex", "BTC", "1h")
    # (ts[i], ts[i] + 1h]: bar 0 gets H/2 and H; bar 1 gets H+1; bar 2 gets 3H; t=0 and 20H fall outside
    np.testing.assert_allclose(bars.funding, np.array([6.0, 8.0, 16.0, 0.0]) * 1e-5)


def test_funding_upsert_is_idempotent(db):
    with MarketStore(db) as store:
        for _ in range(2):
            assert store.write_funding("ex", "BTC", [H, 2 * H], [1e-5, 2e-5]) == 2
        ts, rate = store.read_funding("ex", "BTC")
    assert list(ts) == [H, 2 * H] and list(rate) == [1e-5, 2e-5]


def test_series_summary_counts_rows_and_missing_bars(db):
    f = frame(10)
    keep = np.r_[0:3, 6:10]
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", {k: v[keep] for k, v in f.items()})
        store.write_bars("ex", "ETH", "1h", frame(3))
        series = store.series()
        gaps = store.gaps("ex", "BTC", "1h")
    assert [(s.symbol, s.rows, s.missing) for s in series] == [("BTC", 7, 3), ("ETH", 3, 0)]
    assert series[0].to_dict()["first"] == "1970-01-01T00:00:00Z"
    assert [(g.start, g.end, g.bars) for g in gaps] == [(3 * H, 6 * H, 3)]


def test_exchange_may_be_left_out_only_when_the_symbol_is_unambiguous(db):
    with MarketStore(db) as store:
        store.write_bars("a", "BTC", "1h", frame())
        store.write_bars("a", "ETH", "1h", frame())
        store.write_bars("b", "ETH", "1h", frame())
        assert store.resolve_exchange("BTC") == "a"
        assert len(store.read_bars(None, "BTC", "1h")) == 10
        with pytest.raises(InputError, match="several exchanges"):
            store.resolve_exchange("ETH")
        with pytest.raises(NotFoundError, match="did you mean 'BTC'"):
            store.resolve_exchange("BTX")
        # stored at another timeframe: said so (it was "no stored series for symbol 'BTC' (did you mean 'BTC'?)")
        with pytest.raises(NotFoundError, match=r"symbol 'BTC' at 4h; stored for it: a BTC 1h$"):
            store.resolve_exchange("BTC", timeframe="4h")
        with pytest.raises(NotFoundError, match="no series a BTC 4h"):
            store.read_bars("a", "BTC", "4h")


def test_rows_upserted_out_of_order_are_read_sorted(db):
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame(5, start=10 * H))
        store.write_bars("ex", "BTC", "1h", frame(5))
        bars = store.read_bars("ex", "BTC", "1h")
    assert np.all(np.diff(bars.ts) > 0) and len(bars) == 10


def test_a_missing_file_opened_read_only_is_empty_and_not_created(db):
    with MarketStore(db, read_only=True) as store:
        assert store.series() == []
    assert not db.exists()


def test_a_store_locked_by_another_process_raises_store_locked(db):
    with MarketStore(db) as store:
        store.write_bars("ex", "BTC", "1h", frame())
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); "
                               "time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for read_only in (False, True):
            with pytest.raises(StoreLockedError, match=f"locked by process {holder.pid}"):
                MarketStore(db, read_only=read_only)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    time.sleep(0.05)
    with MarketStore(db, read_only=True) as store:
        assert store.series()[0].rows == 10


def test_times_are_read_as_utc():
    assert to_ms("1970-01-01T01:00:00Z") == H
    assert to_ms("1970-01-01T02:00:00+01:00") == H
    assert to_ms("1970-01-01 01:00") == H
    assert to_ms(str(H)) == H
    with pytest.raises(InputError, match="ISO 8601"):
        to_ms("yesterday")
