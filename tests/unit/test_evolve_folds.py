"""Walk-forward folds and the hold-out split."""

from __future__ import annotations

import pytest

from gaorg.errors import DataTooShortError
from gaorg.evolve.folds import holdout_start, make_split


def test_the_newest_fifth_is_held_out_and_folds_tile_the_rest():
    split = make_split(1000, folds=4, holdout=0.2)
    assert split.holdout_start == 800
    tests = [(f.test_start, f.test_end) for f in split.folds]
    assert tests[0][0] == 160 and tests[-1][1] == 800
    assert all(a[1] == b[0] for a, b in zip(tests, tests[1:], strict=False))  # contiguous, no overlap
    assert all(f.test_end <= split.holdout_start for f in split.folds)


def test_anchored_folds_train_from_the_start_and_rolling_folds_on_the_window_before():
    anchored = make_split(1000, folds=4, scheme="anchored")
    rolling = make_split(1000, folds=4, scheme="rolling")
    assert {f.train_start for f in anchored.folds} == {0}
    assert [f.train_start for f in rolling.folds] == [0, 160, 320, 480]
    assert [f.test_start for f in rolling.folds] == [f.test_start for f in anchored.folds]
    assert all(f.test_start - f.train_start == 160 for f in rolling.folds)


def test_bounds_are_the_engines_int64_pairs():
    bounds = make_split(500, folds=3, holdout=0.0).bounds()
    assert bounds.dtype.name == "int64" and bounds.shape == (3, 2)
    assert bounds[-1, 1] == 500


def test_a_series_too_short_for_the_folds_says_what_to_do():
    with pytest.raises(DataTooShortError, match=r"BTC 1d: 60 bars are too short for 4 walk-forward folds.*fewer --folds"):
        make_split(60, folds=4, min_test_bars=20, label="BTC 1d")


def test_holdout_start_rounds_to_whole_bars():
    assert holdout_start(1001, 0.2) == 801
    assert holdout_start(100, 0.0) == 100
