"""Walk-forward folds and the hold-out split, by bar position within one series.

The newest ``holdout`` fraction of a series is cut off first and never seen by evolution. The
rest is split into ``folds + 1`` equal parts: fold i trains on the parts before part i+1
(``anchored``: from the start; ``rolling``: only the part just before) and is tested on part
i+1. Strategies without learned modules use the training span only as indicator warm-up;
learned modules fit on it (and never on the test window).

A basket whose series span different times (listed late, delisted early: a universe) gets
:func:`basket_splits`: one hold-out *time* for every series (the newest ``holdout`` share of the
basket's whole span) and each series' folds over its own bars before that time. A series listed
late has fewer, later folds and nothing before its listing (no bar is filled in); one delisted
before the hold-out has no hold-out bars and still counts in the folds it lived through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from gaorg.errors import DataTooShortError

if TYPE_CHECKING:
    from gaorg.data.bars import Bars


@dataclass(frozen=True)
class Fold:
    """Bars ``[train_start, test_start)`` train, ``[test_start, test_end)`` are scored."""

    train_start: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class Split:
    """One series' folds and its hold-out ``[holdout_start, n)``."""

    n: int
    holdout_start: int
    folds: tuple[Fold, ...]

    @property
    def train_bars(self) -> int:
        """Bars before the first test window (the most a strategy's lookback may use)."""
        return self.folds[0].test_start - self.folds[0].train_start

    def bounds(self) -> np.ndarray:
        """int64[k, 2] of ``[test_start, test_end)`` per fold (the engine's ``bounds``)."""
        return np.array([[f.test_start, f.test_end] for f in self.folds], dtype=np.int64)


def holdout_start(n: int, holdout: float) -> int:
    """First bar of the hold-out: the newest ``holdout`` fraction of ``n`` bars."""
    return n - int(round(n * holdout))


def make_split(
    n: int,
    folds: int,
    holdout: float = 0.2,
    scheme: Literal["anchored", "rolling"] = "anchored",
    min_test_bars: int = 20,
    label: str = "series",
    cut: int | None = None,
) -> Split:
    """Folds over the first ``1 - holdout`` of ``n`` bars (or the first ``cut`` bars, when the
    hold-out starts at a time the basket shares); DataTooShortError if a window is too short."""
    if scheme not in ("anchored", "rolling"):
        raise ValueError(f"unknown fold scheme {scheme!r}")
    shared = cut is not None
    cut = holdout_start(n, holdout) if cut is None else min(max(int(cut), 0), n)
    part = cut // (folds + 1)
    if shared and part < min_test_bars:
        raise DataTooShortError(
            f"{label}: {cut} bars before the basket's hold-out are too short for {folds} walk-forward folds "
            f"(each test window needs at least {min_test_bars} bars, so {(folds + 1) * min_test_bars} in all); "
            "leave it out of the basket (a longer --min-history), use a finer timeframe or fewer --folds")
    if not shared and (part < min_test_bars or (holdout > 0 and n - cut < min_test_bars)):
        need = (folds + 1) * min_test_bars
        raise DataTooShortError(
            f"{label}: {n} bars are too short for {folds} walk-forward folds and a {holdout:.0%} "
            f"hold-out (each test window needs at least {min_test_bars} bars, so about "
            f"{int(need / max(1e-9, 1 - holdout)) + 1} bars in all); load a longer range, use a finer "
            "timeframe or fewer --folds"
        )
    out = []
    for i in range(folds):
        test_start = (i + 1) * part
        test_end = cut if i == folds - 1 else (i + 2) * part
        train_start = 0 if scheme == "anchored" else i * part
        out.append(Fold(train_start, test_start, test_end))
    return Split(n, cut, tuple(out))


def holdout_starts(bars: tuple[Bars, ...] | list[Bars], holdout: float,
                   timeframe: str | None = None) -> tuple[int, ...] | None:
    """Where each series' hold-out starts (a bar index; ``len`` when it ends before) when the
    basket's series span different times: the newest ``holdout`` share of the basket's whole span,
    as one time. None when they all span the same bars (each is then cut by position)."""
    spans = {(int(b.ts[0]), int(b.ts[-1])) for b in bars if len(b)}
    if len(spans) <= 1:
        return None
    at = holdout_time(bars, holdout, timeframe)
    return tuple(int(np.searchsorted(b.ts, at, side="left")) for b in bars)


def holdout_time(bars: tuple[Bars, ...] | list[Bars], holdout: float, timeframe: str | None = None) -> int:
    """The time (epoch ms) the shared hold-out of a basket of series of different spans starts."""
    from gaorg.data.timeframes import timeframe_ms

    tf = timeframe_ms(timeframe or bars[0].timeframe)
    return span_holdout_time(min(int(b.ts[0]) for b in bars if len(b)), max(int(b.ts[-1]) for b in bars if len(b)),
                             tf, holdout)


def span_holdout_time(first: int, last: int, tf: int, holdout: float) -> int:
    """Where the newest ``holdout`` share of the bars ``first .. last`` (open times, ms) starts."""
    end = last + tf
    return end - int(round((end - first) // tf * holdout)) * tf


def basket_splits(
    bars: tuple[Bars, ...] | list[Bars],
    folds: int,
    holdout: float = 0.2,
    scheme: Literal["anchored", "rolling"] = "anchored",
    min_test_bars: int = 20,
    timeframe: str | None = None,
) -> tuple[Split, ...]:
    """The splits of a basket: per series by position when every series spans the same bars (as
    :func:`make_split`), else one hold-out start time for all (see the module's docstring).
    ``timeframe``: the bars' (default: the first series')."""
    from gaorg.data.times import iso

    cuts = holdout_starts(bars, holdout, timeframe)
    if cuts is None:  # one span for all (the usual basket): by position, as it always was
        return tuple(make_split(len(b), folds, holdout, scheme, min_test_bars, label=f"{b.symbol} {b.timeframe}")
                     for b in bars)
    at = holdout_time(bars, holdout, timeframe)
    return tuple(
        make_split(len(b), folds, holdout, scheme, min_test_bars, cut=cut,
                   label=f"{b.symbol} {b.timeframe} (first bar {iso(int(b.ts[0]))}, hold-out from {iso(at)})"
                   if len(b) else f"{b.symbol} {b.timeframe}")
        for b, cut in zip(bars, cuts, strict=True))
