"""Large imports piece by piece (gaorg.data.bulk, gaorg.data.writer): same store, same messages.

The pieces are made small here (a few KB) so that a file of a few thousand rows is cut many times,
and each outcome is compared with the whole-file path on the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaorg.data import bulk
from gaorg.data.importer import TARGETS, import_into, read_table
from gaorg.data.store import MarketStore
from gaorg.data.writer import BarsWriter
from gaorg.errors import ValidationError

H = 3_600_000
T0 = 1_704_067_200_000
ROWS = 3000
SMALL = 16 << 10  # bytes per piece in these tests: a 3000-row file is cut ~12 times


def epoch_file(tmp_path: Path, edit=None, name: str = "bars.csv", unit: int = 1) -> Path:
    """A banner, a mixed-case semicolon header with an extra column, then ROWS hourly epoch rows;
    ``edit(lines)`` changes the lines (index 0 is file line 1) before they are written."""
    rng = np.random.default_rng(7)
    lines = ["exported by some exchange", "Extra;TimeStamp;Open;High;Low;Close;Volume"]
    for i in range(ROWS):
        o = 100 + rng.random()
        lines.append(f"x{i};{(T0 + i * H) // unit};{o!r};{o + 1!r};{o - 1!r};{o + 0.5!r};{rng.random() * 10!r}")
    if edit is not None:
        edit(lines)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def outcome(store: Path, csv: Path, monkeypatch, piece_bytes: int) -> tuple:
    """What importing ``csv`` into ``store`` gives: the report, notes and stored bars, or the error."""
    monkeypatch.setattr(bulk, "PIECE_BYTES", piece_bytes)
    monkeypatch.setattr(bulk, "MIN_BYTES", piece_bytes)
    try:
        report, notes = import_into(store, csv, "local", "X", "1h")
    except ValidationError as exc:
        result: tuple = ("rejected", str(exc), exc.rows)
    else:
        result = ("imported", report.to_dict(), notes)
    with MarketStore(store, read_only=True) as s:
        stored = [(i.exchange, i.symbol, i.rows, i.first, i.last) for i in s.series()]
        bars = s.read_bars("local", "X", "1h") if stored else None
    return result, stored, [] if bars is None else list(zip(bars.ts.tolist(), bars.close.tolist(),
                                                             bars.volume.tolist(), strict=True))


@pytest.fixture
def adds(monkeypatch) -> list[int]:
    """The rows of every piece a BarsWriter takes."""
    sizes: list[int] = []
    add = BarsWriter.add

    def counting(self, frame, origin=None):
        sizes.append(len(frame["ts"]))
        return add(self, frame, origin)

    monkeypatch.setattr(BarsWriter, "add", counting)
    return sizes


def test_a_large_file_goes_in_piece_by_piece_and_stores_what_the_whole_file_path_stores(tmp_path, monkeypatch, adds):
    csv = epoch_file(tmp_path)
    pieces = outcome(tmp_path / "pieces.duckdb", csv, monkeypatch, SMALL)
    assert len(adds) > 5 and sum(adds) == ROWS  # really cut, every row once
    adds.clear()
    whole = outcome(tmp_path / "whole.duckdb", csv, monkeypatch, 1 << 40)
    assert adds == [ROWS]
    assert pieces == whole
    assert pieces[0][1]["inserted"] == ROWS and pieces[1][0][2] == ROWS


def test_the_pieces_carry_the_rows_of_the_whole_file_reader(tmp_path, monkeypatch):
    csv = epoch_file(tmp_path, unit=1000)  # epoch seconds: converted to ms in every piece
    monkeypatch.setattr(bulk, "PIECE_BYTES", SMALL)
    monkeypatch.setattr(bulk, "MIN_BYTES", SMALL)
    monkeypatch.setattr(bulk, "BLOCK_BYTES", SMALL // 4)  # pyarrow parses each piece in several blocks
    plan = bulk.plan(csv, {t: t for t in TARGETS})
    notes: list[str] = []
    got = list(bulk.pieces(plan, notes))
    whole = read_table(csv)
    assert len(got) == len(plan.cuts) - 1 > 5
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert np.array_equal(np.concatenate([piece[name] for piece in got]), whole.columns[name])
    assert notes == whole.notes == ["epoch times read as seconds"]


def _set_cell(line: int, column: int, value: str):
    def edit(lines: list[str]) -> None:
        fields = lines[line - 1].split(";")
        fields[column] = value
        lines[line - 1] = ";".join(fields)
    return edit


def _copy_line(src: int, dst: int):
    def edit(lines: list[str]) -> None:
        lines[dst - 1] = lines[src - 1]
    return edit


def _swap_lines(a: int, b: int):
    def edit(lines: list[str]) -> None:
        lines[a - 1], lines[b - 1] = lines[b - 1], lines[a - 1]
    return edit


def _newest_first(lines: list[str]) -> None:
    lines[2:] = lines[2:][::-1]


@pytest.mark.parametrize("edit, expect", [
    (_set_cell(2900, 5, "n/a"), "line 2900"),  # an unreadable price in the last piece
    (_set_cell(2900, 5, ""), "line 2900"),  # an empty one
    (_set_cell(1500, 3, "99.0"), "line 1500"),  # high below low in a middle piece
    (_copy_line(1499, 1500), "line 1500"),  # a duplicate time
    (_swap_lines(2000, 2001), "line 2001"),  # rows out of order
    (_set_cell(2500, 1, "2024-04-15T04:00:00Z"), "line 2500"),  # a text time among epoch numbers
    (_newest_first, "reversed"),  # the whole file turned around: imported, oldest first
])
def test_what_needs_the_whole_file_gives_the_same_outcome_and_leaves_the_store_as_it_was(
        tmp_path, monkeypatch, edit, expect):
    csv = epoch_file(tmp_path, edit)
    monkeypatch.setattr(bulk, "PIECE_BYTES", SMALL)
    monkeypatch.setattr(bulk, "MIN_BYTES", SMALL)
    assert bulk.plan(csv, {t: t for t in TARGETS}) is not None  # the piece-by-piece import is tried first
    results = []
    for name, piece_bytes in (("pieces", SMALL), ("whole", 1 << 40)):
        store = tmp_path / f"{name}.duckdb"
        with MarketStore(store) as s:  # a store that already holds other bars, and the first of this series
            s.write_bars("local", "Y", "1h", {"ts": [T0], "open": [1.0], "high": [2.0], "low": [0.5],
                                               "close": [1.5], "volume": [3.0]})
            s.write_bars("local", "X", "1h", {"ts": [T0 - H], "open": [1.0], "high": [2.0], "low": [0.5],
                                               "close": [1.5], "volume": [3.0]})
        results.append(outcome(store, csv, monkeypatch, piece_bytes))
    assert results[0] == results[1]
    result, stored, _ = results[0]
    assert expect in str(result)
    if result[0] == "rejected":
        assert stored == [("local", "X", 1, T0 - H, T0 - H), ("local", "Y", 1, T0, T0)]


def test_an_upsert_in_pieces_counts_replaced_and_new_bars_like_the_whole_file(tmp_path, monkeypatch, adds):
    head = epoch_file(tmp_path, lambda lines: lines.__delitem__(slice(2 + 2000, None)), name="head.csv")
    full = epoch_file(tmp_path, _set_cell(1000, 6, "12345.5"), name="full.csv")  # changes one bar's volume
    results = []
    for name, piece_bytes in (("pieces", SMALL), ("whole", 1 << 40)):
        store = tmp_path / f"{name}.duckdb"
        outcome(store, head, monkeypatch, 1 << 40)
        results.append(outcome(store, full, monkeypatch, piece_bytes))
    assert results[0] == results[1]
    report = results[0][0][1]
    assert (report["inserted"], report["replaced"]) == (1000, 2000)
    assert results[0][2][1000 - 3][2] == 12345.5  # the changed bar (file line 1000) was replaced


def test_a_writer_takes_pieces_only_in_time_order_and_rolls_all_back_on_error(tmp_path):
    def piece(start: int, n: int) -> dict[str, np.ndarray]:
        o = np.full(n, 100.0)
        return {"ts": T0 + (start + np.arange(n)) * H, "open": o, "high": o + 1, "low": o - 1, "close": o,
                "volume": np.ones(n)}

    with MarketStore(tmp_path / "m.duckdb") as store:
        with store.bars_writer("local", "X", "1h") as writer:
            writer.add(piece(0, 10))
            writer.add(piece(10, 5))
        assert (writer.report().inserted, writer.report().first, writer.report().last) == (15, T0, T0 + 14 * H)
        with pytest.raises(ValidationError, match="does not follow the previous one"), \
                store.bars_writer("local", "X", "1h") as writer:
            writer.add(piece(20, 10))
            writer.add(piece(25, 10))  # overlaps the piece before it
        with pytest.raises(RuntimeError), store.bars_writer("local", "Z", "1h") as writer:
            writer.add(piece(0, 10))
            raise RuntimeError("interrupted between pieces")
        assert [(s.symbol, s.rows) for s in store.series()] == [("X", 15)]
