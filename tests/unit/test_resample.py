"""Resampling: OHLCV aggregation, complete buckets only, the 1m -> 15m -> 1h -> 4h -> 1d chain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from gaorg.data.bars import Bars
from gaorg.data.resample import resample_bars, resample_in_store
from gaorg.data.store import MarketStore
from gaorg.data.synth import synth_bars
from gaorg.data.timeframes import timeframe_ms
from gaorg.errors import InputError

M = 60_000


def test_a_bucket_takes_first_open_max_high_min_low_last_close_and_sums():
    ts = np.arange(30, dtype=np.int64) * M  # 00:00 .. 00:29: two 15m buckets
    o = np.arange(30) + 100.0
    bars = Bars.from_arrays(ts, o, o + 2, o - 1, o + 1, volume=np.arange(30.0), funding=np.full(30, 1e-6),
                            timeframe="1m")
    out = resample_bars(bars, "15m")
    assert list(out.ts) == [0, 15 * M]
    assert list(out.open) == [100.0, 115.0]
    assert list(out.high) == [116.0, 131.0]
    assert list(out.low) == [99.0, 114.0]
    assert list(out.close) == [115.0, 130.0]
    assert list(out.volume) == [sum(range(15)), sum(range(15, 30))]
    np.testing.assert_allclose(out.funding, [15e-6, 15e-6])
    assert out.timeframe == "15m"


def test_incomplete_buckets_are_left_out():
    bars = synth_bars("X", "1m", 120, seed=0, start_ms=0)
    keep = np.r_[0:50, 51:120]  # bar 50 missing: the 00:45 bucket is incomplete
    partial = Bars.from_arrays(*(getattr(bars, k)[keep] for k in ("ts", "open", "high", "low", "close", "volume")),
                               timeframe="1m")
    out = resample_bars(partial, "15m")
    assert list(out.ts // M) == [0, 15, 30, 60, 75, 90, 105]


def test_the_chain_of_timeframes_equals_resampling_directly():
    bars = synth_bars("X", "1m", 3 * 1440, seed=1, start_ms=0)
    chained = bars
    for tf in ("15m", "1h", "4h", "1d"):
        chained = resample_bars(chained, tf)
    direct = resample_bars(bars, "1d")
    assert len(direct) == 3
    for k in ("ts", "open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(chained, k), getattr(direct, k))
    np.testing.assert_allclose(chained.volume, direct.volume)
    np.testing.assert_allclose(chained.volume.sum(), bars.volume.sum())


def test_resampling_to_a_finer_or_unaligned_timeframe_is_refused():
    bars = synth_bars("X", "1h", 10, seed=0)
    with pytest.raises(InputError, match="cannot resample 1h bars to 15m"):
        resample_bars(bars, "15m")
    with pytest.raises(InputError, match="unknown timeframe"):
        resample_bars(bars, "7h")


def test_resampling_in_the_store_writes_the_coarser_series(tmp_path):
    bars = synth_bars("X", "1h", 48, seed=0, start_ms=0)
    frame = {k: getattr(bars, k) for k in ("ts", "open", "high", "low", "close", "volume")}
    with MarketStore(tmp_path / "m.duckdb") as store:
        store.write_bars("synthetic", "X", "1h", frame)
        report = resample_in_store(store, None, "X", "1h", "4h")
        stored = store.read_bars("synthetic", "X", "4h")
    assert report.inserted == 12
    np.testing.assert_array_equal(stored.close, resample_bars(bars, "4h").close)


@hypothesis_settings(max_examples=25, deadline=None)
@given(
    keep=st.lists(st.booleans(), min_size=1, max_size=200),
    target=st.sampled_from(["5m", "15m", "1h"]),
)
@example(keep=[False] * 5 + [True] * 5, target="5m")  # one complete bucket, not at time 0
def test_resample_matches_a_pandas_groupby_on_complete_buckets(keep, target):
    import pandas as pd

    full = synth_bars("P", "1m", len(keep), seed=len(keep), start_ms=0)
    idx = np.flatnonzero(keep)
    bars = Bars.from_arrays(*(getattr(full, k)[idx] for k in ("ts", "open", "high", "low", "close", "volume")),
                            timeframe="1m")
    out = resample_bars(bars, target)
    frame = pd.DataFrame({k: np.asarray(getattr(bars, k)) for k in ("open", "high", "low", "close", "volume")},
                         index=pd.to_datetime(np.asarray(bars.ts), unit="ms"))
    per = timeframe_ms(target) // M
    g = frame.resample(pd.Timedelta(milliseconds=timeframe_ms(target)))
    ref = g.agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    ref = ref[g.size() == per]
    assert list(out.ts) == list(ref.index.as_unit("ms").asi8)  # pandas 3 parses unit="ms" to microseconds
    for k in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(out, k), ref[k].to_numpy())
    np.testing.assert_allclose(out.volume, ref["volume"].to_numpy())
