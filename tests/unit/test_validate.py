"""Validation of bars before they are stored: each check, its message, and --repair."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaorg.data.validate import validate_bars
from gaorg.errors import ValidationError

H = 3_600_000


def frame(n: int = 6) -> dict[str, np.ndarray]:
    close = 100 + np.arange(n, dtype=float)
    return {"ts": np.arange(n, dtype=np.int64) * H, "open": close - 0.5, "high": close + 1,
            "low": close - 1, "close": close, "volume": np.full(n, 10.0)}


def test_valid_bars_pass_unchanged():
    f = frame()
    cols, report = validate_bars(f, "1h")
    assert not report.changed
    for k, v in f.items():
        np.testing.assert_array_equal(cols[k], v)


@pytest.mark.parametrize(
    ("column", "row", "value", "words"),
    [
        ("close", 2, np.nan, "missing (NaN)"),
        ("open", 3, -1.0, "non-positive prices"),
        ("volume", 1, -5.0, "negative volume"),
        ("high", 4, 50.0, "high below low"),
        ("ts", 2, 2 * H + 5, "off the timeframe grid"),
    ],
)
def test_a_bad_row_is_rejected_naming_the_row_and_the_fix(column, row, value, words):
    f = frame()
    f[column] = f[column].copy()
    f[column][row] = value
    with pytest.raises(ValidationError) as err:
        validate_bars(f, "1h")
    assert words in str(err.value)
    assert "--repair" in str(err.value)
    assert err.value.rows == (row,)


def test_open_above_high_is_rejected():
    f = frame()
    f["open"][1] = f["high"][1] + 1
    with pytest.raises(ValidationError, match=r"open or close outside \[low, high\].*row 1"):
        validate_bars(f, "1h")


def test_duplicate_timestamps_are_rejected_with_the_first_duplicate():
    f = frame()
    f["ts"][3] = f["ts"][2]
    f["ts"][4:] = f["ts"][4:]  # still increasing afterwards
    with pytest.raises(ValidationError, match="duplicate timestamp") as err:
        validate_bars(f, "1h")
    assert err.value.rows == (3,)


def test_out_of_order_rows_are_rejected():
    f = frame()
    f["ts"][[1, 2]] = f["ts"][[2, 1]]
    with pytest.raises(ValidationError, match="out of time order") as err:
        validate_bars(f, "1h")
    assert err.value.rows == (2,)


def test_messages_name_file_lines_when_given_an_origin():
    f = frame()
    f["low"][2] = f["high"][2] + 5
    with pytest.raises(ValidationError, match="line 12"):
        validate_bars(f, "1h", origin=np.arange(6) + 10, label="line")


def test_repair_drops_bad_rows_sorts_and_keeps_the_last_duplicate():
    f = frame(8)
    f["close"][1] = np.nan
    f["ts"][[4, 5]] = f["ts"][[5, 4]]  # swapped
    f["ts"][7] = f["ts"][6]  # duplicate; row 7 wins
    f["close"][7] = f["close"][6] + 0.25
    cols, report = validate_bars(f, "1h", repair=True)
    assert report.rows_in == 8 and report.rows_out == 6
    assert report.dropped["missing (NaN) or infinite values"] == 1
    assert report.dropped["duplicate timestamps"] == 1
    assert report.sorted
    assert np.all(np.diff(cols["ts"]) > 0)
    assert cols["close"][-1] == f["close"][7]
    assert "repaired 8 rows -> 6" in report.describe()


def test_empty_input_is_rejected():
    with pytest.raises(ValidationError, match="no rows"):
        validate_bars({k: v[:0] for k, v in frame().items()}, "1h")


def test_missing_columns_are_named():
    f = frame()
    del f["volume"]
    with pytest.raises(ValidationError, match="volume"):
        validate_bars(f, "1h")


def test_a_dataframe_with_datetime_times_in_any_zone_is_read_as_utc_ms():
    import pandas as pd

    f = frame(3)
    df = pd.DataFrame({**f, "ts": pd.to_datetime(f["ts"], unit="ms", utc=True).tz_convert("Asia/Tokyo")})
    cols, _ = validate_bars(df, "1h")
    np.testing.assert_array_equal(cols["ts"], f["ts"])
    naive = pd.DataFrame({**f, "ts": pd.to_datetime(f["ts"], unit="ms")})
    np.testing.assert_array_equal(validate_bars(naive, "1h")[0]["ts"], f["ts"])


def _reference_flags(o, h, lo, c, v, ts, tf):
    """CHECKS row by row, in plain Python: the definition the vectorised checks must match."""
    out = []
    for i in range(len(ts)):
        f = 0
        if not all(math.isfinite(x[i]) for x in (o, h, lo, c, v)):
            f = 1
        else:
            if min(o[i], h[i], lo[i], c[i]) <= 0:
                f |= 2
            elif h[i] < lo[i]:
                f |= 8
            elif lo[i] > min(o[i], c[i]) or h[i] < max(o[i], c[i]):
                f |= 16
            if v[i] < 0:
                f |= 4
        if int(ts[i]) % tf:
            f |= 32
        out.append(f)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_the_vectorised_checks_flag_exactly_the_rows_the_rules_reject(seed):
    from gaorg.data.validate import _all_valid, _row_flags

    rng = np.random.default_rng(seed)
    n, tf = 400, 60_000
    o = 100 + rng.random(n)
    c = 100 + rng.random(n)
    h, lo, v = np.maximum(o, c) + rng.random(n), np.minimum(o, c) - rng.random(n), rng.random(n) * 5
    ts = (np.arange(n, dtype=np.int64) + 1_000) * tf
    assert _all_valid(o, h, lo, c, v, ts, tf) and not _row_flags(o, h, lo, c, v, ts, tf).any()
    cols = [o, h, lo, c, v]
    for i in rng.choice(n, 60, replace=False):  # one fault per chosen row, of every kind
        kind = rng.integers(7)
        if kind < 5:
            cols[kind][i] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e6, 50.0])
        elif kind == 5:
            ts[i] += rng.integers(1, tf)
        else:
            h[i], lo[i] = lo[i], h[i]
    flags = _row_flags(o, h, lo, c, v, ts, tf)
    assert flags.tolist() == _reference_flags(o, h, lo, c, v, ts, tf)
    assert flags.any() and not _all_valid(o, h, lo, c, v, ts, tf)
    for i in np.flatnonzero(flags):  # each bad row alone still fails the fast check
        one = [x[i:i + 1] for x in (o, h, lo, c, v, ts)]
        assert not _all_valid(*one, tf)
