"""Folds of a basket whose series span different times: one hold-out time, folds per series."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.data.synth import synth_bars
from gaorg.errors import DataTooShortError
from gaorg.evolve.folds import basket_splits, make_split

H = 3_600_000
T0 = 1_735_689_600_000


def series(symbol: str, first: int, n: int):
    return synth_bars(symbol, "1h", n, seed=1, start_ms=T0 + first * H)


def test_series_of_one_span_split_by_position_as_before():
    bars = [series("A", 0, 500), series("B", 0, 500)]
    assert basket_splits(bars, 3, 0.2) == (make_split(500, 3, 0.2, label="A"), make_split(500, 3, 0.2, label="B"))


def test_one_holdout_time_for_all_and_folds_within_each_series_own_bars():
    full, late, gone = series("FULL", 0, 1000), series("LATE", 400, 600), series("GONE", 0, 500)
    splits = basket_splits([full, late, gone], 3, 0.2, min_test_bars=20)
    at = full.ts[800]  # the newest fifth of the basket's span
    for b, s in zip((full, late, gone), splits, strict=True):
        assert s.n == len(b)
        assert s.holdout_start == len(b) or b.ts[s.holdout_start] >= at  # nothing after `at` is folded
        assert b.ts[s.holdout_start - 1] < at
        assert all(0 <= f.train_start < f.test_start < f.test_end <= s.holdout_start for f in s.folds)
    assert splits[1].holdout_start == 400 and splits[1].folds[0].test_start == 100  # its own bars from its listing
    assert splits[2].holdout_start == 500  # delisted before the hold-out: every bar in its folds, none held out
    assert splits[2].folds[-1].test_end == 500


def test_a_series_listed_just_before_the_holdout_is_too_short_and_named():
    with pytest.raises(DataTooShortError, match=r"LATE 1h \(first bar 2025-02-01T06:00:00Z, hold-out from 2025-02-03T08:00:00Z\): 50 bars before the basket's hold-out"):
        basket_splits([series("FULL", 0, 1000), series("LATE", 750, 250)], 3, 0.2, min_test_bars=20)


def test_the_recorded_lineage_names_the_shared_holdout_time_of_each_series():
    from gaorg.tracking.lineage import lineage_of

    full, late, gone = series("FULL", 0, 1000), series("LATE", 400, 600), series("GONE", 0, 500)
    lineage = lineage_of({"1h": (full, late, gone)}, 0.2)
    assert [s.holdout_start for s in lineage.series] == [int(full.ts[800]), int(full.ts[800]), None]


def test_the_design_effect_of_a_universe_counts_the_correlation_of_each_pair_where_it_overlaps():
    from gaorg.evolve.stats import design_effect

    full, gone = series("FULL", 0, 1000), series("GONE", 0, 300)
    late = full.slice(600, 1000)  # the same market listed late: correlation 1 where they overlap
    # no bar is shared by all three: taken together, they would look independent (1.0)
    got = design_effect([(b.ts, b.close) for b in (full, late, gone)])
    rho_gone = np.corrcoef(np.diff(np.log(full.close[:300])), np.diff(np.log(gone.close)))[0, 1]
    assert got == pytest.approx(1 + 2 * max((1 + rho_gone) / 2, 0.0))
