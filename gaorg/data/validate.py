"""Validation of OHLCV bars before they reach the store: a few vectorised passes, clear messages, repair.

Every write goes through :func:`validate_bars`. A bar is valid when its timestamp is on the
timeframe's grid, timestamps are sorted and unique, prices are positive and finite,
``low <= min(open, close)``, ``high >= max(open, close)`` and volume is finite and >= 0.
Without ``repair`` the first failing check raises :class:`~gaorg.errors.ValidationError` naming
the first offending rows and the fix; with ``repair`` bad rows are dropped, the rest sorted and
deduplicated (the last occurrence of a timestamp wins) and a :class:`RepairReport` says what was done.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaorg.data.timeframes import timeframe_ms
from gaorg.data.times import iso_exact
from gaorg.errors import ValidationError

COLUMNS = ("ts", "open", "high", "low", "close", "volume")
PRICES = ("open", "high", "low", "close")
SHOW = 3  # offending rows named in a message


@dataclass(frozen=True)
class RepairReport:
    """What validation did: rows in, rows kept, and rows dropped per reason."""

    rows_in: int
    rows_out: int
    dropped: dict[str, int] = field(default_factory=dict)
    sorted: bool = False

    @property
    def changed(self) -> bool:
        return self.rows_in != self.rows_out or self.sorted

    def describe(self) -> str:
        if not self.changed:
            return f"{self.rows_in} rows, all valid"
        parts = [f"{n} {reason}" for reason, n in self.dropped.items() if n]
        if self.sorted:
            parts.append("rows sorted by time")
        return f"repaired {self.rows_in} rows -> {self.rows_out}: " + "; ".join(parts)


def as_columns(frame) -> dict[str, np.ndarray]:
    """Columns ``ts open high low close volume`` of a DataFrame or mapping as int64/float64 arrays."""
    try:
        names = list(frame.columns) if hasattr(frame, "columns") else list(frame)
    except TypeError:
        raise ValidationError("bars must be a DataFrame or a mapping of columns") from None
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise ValidationError(
            f"bars lack the column(s) {', '.join(missing)}; "
            f"give columns {', '.join(COLUMNS)} (ts in UTC epoch milliseconds)"
        )
    out: dict[str, np.ndarray] = {}
    ts = frame["ts"]
    if getattr(getattr(ts, "dtype", None), "tz", None) is not None:  # tz-aware pandas times -> naive UTC
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    ts = np.asarray(ts)
    if ts.dtype.kind == "M":
        ts = ts.astype("datetime64[ms]").astype(np.int64)
    elif ts.dtype.kind == "f":
        if not np.all(np.isfinite(ts)):
            bad = np.flatnonzero(~np.isfinite(ts))
            raise ValidationError(
                f"{len(bad)} rows have no timestamp ({_rows(bad)}); drop them or fill the timestamps",
                tuple(int(i) for i in bad[:SHOW]),
            )
        if np.any(ts != np.floor(ts)):
            raise ValidationError("timestamps must be whole epoch milliseconds")
    elif ts.dtype.kind not in "iu":
        raise ValidationError(f"ts must be epoch milliseconds (int64), got dtype {ts.dtype}")
    out["ts"] = np.ascontiguousarray(ts, dtype=np.int64)
    for name in COLUMNS[1:]:
        try:
            out[name] = np.ascontiguousarray(frame[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError(f"column {name!r} is not numeric; fix the values or the column mapping") from None
    return out


def _rows(index: np.ndarray, origin: np.ndarray | None = None, label: str = "row") -> str:
    shown = index[:SHOW] if origin is None else origin[index[:SHOW]]
    more = f" and {len(index) - SHOW} more" if len(index) > SHOW else ""
    return f"{label}s " + ", ".join(str(int(i)) for i in shown) + more if len(index) > 1 else f"{label} {int(shown[0])}"


CHECKS = (  # (reason, fix), in the order they are reported; bit k of a row's flags is check k
    ("missing (NaN) or infinite values", "fill or remove those rows"),
    ("non-positive prices", "remove those rows or fix the prices"),
    ("negative volume", "volume must be >= 0"),
    ("high below low", "check the column mapping (high/low swapped?) or remove those rows"),
    ("open or close outside [low, high]", "check the column mapping or remove those rows"),
    ("timestamps off the timeframe grid", "use the right --timeframe or bar open times"),
)


def _all_valid(o, h, lo, c, v, ts, tf_ms: int) -> bool:
    """The common case, every row valid, in a few vectorised passes (~12 ms per million rows).

    NaN fails every comparison; ``lo <= open, close <= high`` with ``min(low) > 0`` and
    ``max(high) < inf`` bound every price in a finite positive range. numpy rather than numba: a
    ``gaorg data`` command would otherwise spend ~0.5 s starting numba for a few milliseconds of checks.
    """
    if not ((lo <= o).all() and (lo <= c).all() and (o <= h).all() and (c <= h).all()):
        return False
    if not (0 < lo.min() and h.max() < np.inf and 0 <= v.min() and v.max() < np.inf):
        return False
    return not (ts // tf_ms * tf_ms != ts).any()


def _row_flags(o, h, lo, c, v, ts, tf_ms: int) -> np.ndarray:
    """Bit k set where check k of CHECKS fails (0 for a valid row).

    A row with NaN is not also reported for its prices, one with a non-positive price not for its
    high/low, one with high < low not for its body: each row under its first, clearest reason.
    """
    finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & np.isfinite(v)
    nonpos = finite & ((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0))
    inverted = finite & ~nonpos & (h < lo)
    body = finite & ~nonpos & ~inverted & ((lo > np.minimum(o, c)) | (h < np.maximum(o, c)))
    bits = (~finite, nonpos, finite & (v < 0), inverted, body, ts % tf_ms != 0)
    flags = np.zeros(len(ts), dtype=np.uint8)
    for k, bad in enumerate(bits):
        flags |= bad.astype(np.uint8) << k
    return flags


def _value_checks(cols: dict[str, np.ndarray], tf_ms: int) -> list[tuple[str, np.ndarray, str]]:
    """(reason, boolean mask of bad rows, fix) per failing row-wise check, in the order they are reported."""
    args = [cols[k] for k in ("open", "high", "low", "close", "volume", "ts")]
    if _all_valid(*args, tf_ms):  # the common case: no masks
        return []
    flags = _row_flags(*args, tf_ms)
    if not flags.any():
        return []
    return [(reason, (flags & (1 << k)) != 0, fix) for k, (reason, fix) in enumerate(CHECKS)]


def validate_bars(
    frame,
    timeframe: str,
    *,
    repair: bool = False,
    origin: np.ndarray | None = None,
    label: str = "row",
) -> tuple[dict[str, np.ndarray], RepairReport]:
    """Check ``frame`` (columns ts, open, high, low, close, volume) for ``timeframe``.

    Returns the (possibly repaired) columns and a report. ``origin[i]`` is the number shown for
    row ``i`` in messages (e.g. the file's line numbers, with ``label="line"``); by default the
    0-based position. Raises ValidationError when a check fails and ``repair`` is False.
    """
    tf_ms = timeframe_ms(timeframe)
    cols = as_columns(frame)
    n = len(cols["ts"])
    if n == 0:
        raise ValidationError("no bars to write (the input has no rows)")
    dropped: dict[str, int] = {}
    keep = np.ones(n, dtype=bool)
    for reason, bad, fix in _value_checks(cols, tf_ms):
        if not bad.any():
            continue
        idx = np.flatnonzero(bad)
        if not repair:
            example = _example(cols, int(idx[0]))
            raise ValidationError(
                f"{len(idx)} bar(s) with {reason} ({_rows(idx, origin, label)}; first: {example}); "
                f"{fix}, or pass --repair to drop them",
                tuple(int(i) for i in idx[:SHOW]),
            )
        dropped[reason] = int((bad & keep).sum())
        keep &= ~bad
    if repair and not keep.all():
        cols = {k: a[keep] for k, a in cols.items()}
        origin = None if origin is None else np.asarray(origin)[keep]
    if len(cols["ts"]) == 0:
        raise ValidationError(f"no valid bars left after --repair (all {n} rows were dropped)")
    cols, was_sorted = _order(cols, origin, label, repair, dropped)
    report = RepairReport(n, len(cols["ts"]), dropped, was_sorted)
    return cols, report


def _order(cols, origin, label, repair, dropped):
    ts = cols["ts"]
    if len(ts) < 2 or bool((ts[1:] > ts[:-1]).all()):  # in order: no n-sized difference array
        return cols, False
    d = np.diff(ts)
    back = np.flatnonzero(d < 0) + 1
    dup = np.flatnonzero(d == 0) + 1
    if not repair:
        if back.size:
            raise ValidationError(
                f"{back.size} row(s) out of time order ({_rows(back, origin, label)} come before an earlier "
                f"row's time); sort the rows by time, or pass --repair to sort and deduplicate",
                tuple(int(i) for i in back[:SHOW]),
            )
        raise ValidationError(
            f"{dup.size} duplicate timestamp(s) ({_rows(dup, origin, label)}; first: "
            f"{iso_exact(int(ts[dup[0]]))}); remove the duplicates, or pass --repair to keep the last of each",
            tuple(int(i) for i in dup[:SHOW]),
        )
    was_sorted = bool(back.size)
    order = np.argsort(ts, kind="stable")
    sts = ts[order]
    last = np.ones(len(sts), dtype=bool)
    last[:-1] = sts[1:] != sts[:-1]  # keep the last occurrence of each timestamp
    dropped["duplicate timestamps"] = int((~last).sum())
    sel = order[last]
    return {k: a[sel] for k, a in cols.items()}, was_sorted


def _example(cols: dict[str, np.ndarray], i: int) -> str:
    vals = ", ".join(f"{k}={cols[k][i]:g}" for k in COLUMNS[1:])
    return f"time {iso_exact(int(cols['ts'][i]))}, {vals}"
