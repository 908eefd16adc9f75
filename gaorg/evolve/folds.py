"""Walk-forward folds and the hold-out split, by bar position within one series.

The newest ``holdout`` fraction of a series is cut off first and never seen by evolution. The
rest is split into ``folds + 1`` equal parts: fold i trains on the parts before part i+1
(``anchored``: from the start; ``rolling``: only the part just before) and is tested on part
i+1. Strategies without learned modules use the training span only as indicator warm-up;
learned modules fit on it (and never on the test window).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from gaorg.errors import DataTooShortError


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
) -> Split:
    """Folds over the first ``1 - holdout`` of ``n`` bars; DataTooShortError if a window is too short."""
    if scheme not in ("anchored", "rolling"):
        raise ValueError(f"unknown fold scheme {scheme!r}")
    cut = holdout_start(n, holdout)
    part = cut // (folds + 1)
    if part < min_test_bars or (holdout > 0 and n - cut < min_test_bars):
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
