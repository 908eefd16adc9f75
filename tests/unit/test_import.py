"""Import of CSV and Parquet files as users have them: layouts, time formats, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaorg.data.importer import parse_mapping, read_table
from gaorg.demo import SAMPLE, SAMPLE_COLUMNS
from gaorg.errors import InputError, NotFoundError, ValidationError

H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
ROW = "1,2,0.5,1.5,3"


def write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_default_columns_with_epoch_milliseconds(tmp_path):
    path = write(tmp_path, "timestamp,open,high,low,close,volume\n" + "".join(
        f"{T0 + i * H},{ROW}\n" for i in range(3)))
    table = read_table(path)
    assert list(table.columns["ts"]) == [T0, T0 + H, T0 + 2 * H]
    assert list(table.columns["close"]) == [1.5] * 3
    assert list(table.lines) == [2, 3, 4]
    assert table.notes == []


def test_the_shipped_sample_banner_newest_first_and_mapped_columns(tmp_path):
    table = read_table(SAMPLE, parse_mapping(SAMPLE_COLUMNS))
    ts = table.columns["ts"]
    assert len(ts) == 720 and np.all(np.diff(ts) == H) and ts[0] == T0
    assert table.lines[0] == 722 and table.lines[-1] == 3  # the oldest bar is on the last line
    assert "reversed" in table.notes[0]


def test_header_names_match_case_insensitively_and_semicolons_work(tmp_path):
    path = write(tmp_path, "Timestamp;Open;High;Low;Close;Volume\n2024-01-01 00:00:00;1;2;0.5;1.5;3\n")
    assert list(read_table(path).columns["ts"]) == [T0]


def test_iso_times_with_one_offset_are_converted_to_utc(tmp_path):
    path = write(tmp_path, "timestamp,open,high,low,close,volume\n2024-01-01T02:00:00+02:00," + ROW + "\n"
                 "2024-01-01T03:00:00+02:00," + ROW + "\n")
    assert list(read_table(path).columns["ts"]) == [T0, T0 + H]


def test_naive_times_are_read_in_the_given_timezone(tmp_path):
    path = write(tmp_path, "timestamp,open,high,low,close,volume\n2024-01-01 01:00:00," + ROW + "\n")
    assert list(read_table(path, tz="Europe/Berlin").columns["ts"]) == [T0]
    assert list(read_table(path).columns["ts"]) == [T0 + H]


def test_epoch_seconds_are_recognised_by_magnitude(tmp_path):
    path = write(tmp_path, "timestamp,open,high,low,close,volume\n" + f"{T0 // 1000},{ROW}\n")
    table = read_table(path)
    assert list(table.columns["ts"]) == [T0] and "seconds" in table.notes[0]


def test_parquet_with_a_timestamp_column(tmp_path):
    import pandas as pd

    path = tmp_path / "bars.parquet"
    pd.DataFrame({"time": pd.date_range("2024-01-01", periods=4, freq="h"), "open": 1.0, "high": 2.0,
                  "low": 0.5, "close": 1.5, "vol": 3.0}).to_parquet(path)
    table = read_table(path, parse_mapping("timestamp=time,volume=vol"))
    assert list(table.columns["ts"]) == [T0 + i * H for i in range(4)]


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("", ValidationError, "is empty"),
        ("timestamp,open,high,low,close\n" + f"{T0},1,2,0.5,1.5\n", ValidationError, "missing column(s) volume"),
        ("timestamp,open,high,low,close,volume\n", ValidationError, "no data rows"),
        ("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z," + ROW + "\nsoon," + ROW + "\n",
         ValidationError, "line 3: 'soon'"),
        ("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z," + ROW + "\n2024-01-01T01:00:00+01:00,"
         + ROW + "\n", ValidationError, "mixed timezone offsets"),
        ("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z," + ROW + "\n2024-01-01 01:00:00,"
         + ROW + "\n", ValidationError, "mixed timezone offsets"),
    ],
    ids=["empty-file", "missing-column", "header-only", "unparseable-time", "two-offsets", "offset-and-none"],
)
def test_bad_files_are_rejected_with_a_clear_message(tmp_path, text, error, words):
    with pytest.raises(error) as err:
        read_table(write(tmp_path, text))
    assert words in str(err.value)


def test_a_missing_file_and_a_bad_mapping_are_named():
    with pytest.raises(NotFoundError, match="no file"):
        read_table("/nonexistent/bars.csv")
    with pytest.raises(InputError, match="TARGET=SOURCE"):
        parse_mapping("price=close")


def _epoch_file(tmp_path: Path, rows: int, bad_line: int | None = None, bad: str = "") -> Path:
    """A banner, a mixed-case semicolon header with an extra column, epoch-ms rows (one cell bad)."""
    lines = ["exported by some exchange", "Extra;TimeStamp;Open;High;Low;Close;Volume"]
    rng = np.random.default_rng(1)
    for i in range(rows):
        o = 100 + rng.random()
        lines.append(f"x{i};{T0 + i * H};{o!r};{o + 1!r};{o - 1!r};{o + 0.5!r};{rng.random() * 10!r}")
    if bad_line is not None:
        fields = lines[bad_line - 1].split(";")
        fields[5] = bad
        lines[bad_line - 1] = ";".join(fields)
    return write(tmp_path, "\n".join(lines) + "\n")


@pytest.mark.parametrize("bad", ["", "n/a", "1e5x"])
def test_a_bad_cell_deep_in_an_epoch_file_is_still_named_by_its_line(tmp_path, bad):
    """A number that cannot be read, thousands of rows in, is named by its file line (banner included)."""
    from gaorg.data.store import MarketStore

    table = read_table(_epoch_file(tmp_path, 3000, bad_line=2900, bad=bad))
    with MarketStore(tmp_path / "m.duckdb") as store, pytest.raises(ValidationError) as err:
        store.write_bars("local", "X", "1h", table.columns, origin=table.lines, label="line")
    assert "line 2900" in str(err.value)


@pytest.mark.parametrize(("header", "hint"), [
    ("ts,o,h,l,c,v", "--columns timestamp=ts,open=o,high=h,low=l,close=c,volume=v"),
    ("date,open,high,low,close,Volume BTC", "--columns timestamp=date,volume='Volume BTC'"),
    ("open_time,open,high,low,close,volume", "--columns timestamp=open_time"),
    ("when,open,high,low,close,volume", "--columns, e.g. --columns timestamp=date,volume=vol"),  # nothing like it
])
def test_a_missing_column_error_suggests_the_mapping_from_the_files_own_names(tmp_path, header, hint):
    path = write(tmp_path, f"{header}\n{T0},{ROW}\n")
    with pytest.raises(ValidationError, match="missing column") as err:
        read_table(path)
    assert f"Map your names with {hint}" in str(err.value)
