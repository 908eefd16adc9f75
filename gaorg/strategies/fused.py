"""Kernels that fuse a module's indicator with its use in composing: one pass instead of several.

A 4-module genome (entry, SMA filter, ATR stop, volatility scaling) spent as much time in the
passes between its indicators as in the indicators: the filter's two comparisons and their
temporaries, ``atr / close`` then two products, the scale of every bar then its hold. Each kernel
here does the same arithmetic in the same order as the unfused path (``indicators.sma`` / ``atr``
/ ``realised_vol`` / ``scale_from_realised``, numpy's elementwise operations, ``compose``'s filter
and hold), so the plan is the same bit for bit (tests/unit/test_fused.py), and skips what is never
read: a filter's verdict on a flat bar, the scale on a bar where the held value is not sampled or
multiplies a flat signal. Recurrences (running sums, Wilder's average) keep their exact order.

numba's disk cache keys a compiled function on its own file only: after editing a kernel that
this file copies from ``indicators.py``, keep the two in step (the tests compare them).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _band_verdict(signal: np.ndarray, i: int, c: float, avg: float, up: float, down: float) -> None:
    """Zero ``signal[i]`` if it is long and not ``c > avg * up``, or short and not ``c < avg * down``."""
    v = signal[i]
    if v > 0.0:
        if not (c > avg * up):
            signal[i] = 0.0
    elif v < 0.0:
        if not (c < avg * down):
            signal[i] = 0.0


@njit(cache=True, nogil=True)
def band_filter(signal: np.ndarray, close: np.ndarray, avg: np.ndarray, up: float, down: float) -> None:
    """In place: the SMA trend filter over a computed average (``close > avg * up`` allows longs,
    ``close < avg * down`` shorts; NaN allows neither), without its two boolean arrays."""
    for i in range(len(signal)):
        _band_verdict(signal, i, close[i], avg[i], up, down)


@njit(cache=True, nogil=True)
def sma_band_filter(signal: np.ndarray, close: np.ndarray, period: int, up: float, down: float) -> None:
    """``band_filter`` over ``indicators.sma(close, period)`` computed in the same pass (its running
    sum, the same operations in the same order), so no average array is written."""
    n = len(close)
    if period < 1:
        for i in range(n):
            _band_verdict(signal, i, close[i], np.nan, up, down)
        return
    acc = 0.0
    count = 0
    for i in range(n):
        v = close[i]
        avg = np.nan
        if np.isnan(v):
            acc = 0.0
            count = 0
        else:
            acc += v
            count += 1
            if count > period:
                acc -= close[i - period]
                count = period
            if count == period:
                avg = acc / period
        _band_verdict(signal, i, v, avg, up, down)


@njit(cache=True, nogil=True)
def scaled_pair(rel: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """``(a * rel, b * rel)`` in one pass."""
    n = len(rel)
    x = np.empty(n)
    y = np.empty(n)
    for i in range(n):
        r = rel[i]
        x[i] = a * r
        y[i] = b * r
    return x, y


@njit(cache=True, nogil=True)
def atr_exit(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, stop_mult: float, take_mult: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(stop_mult * rel, take_mult * rel)`` with ``rel = indicators.atr(high, low, close, period) /
    close``, in the ATR's own pass: the products ride beside Wilder's recurrence, whose division
    on every bar's dependency chain is what the pass waits for. NaN in warm-up."""
    n = len(close)
    stop = np.empty(n)
    take = np.empty(n)
    if period < 1 or n <= period:
        first = n
    else:
        first = period
    for i in range(first):
        rel = np.nan / close[i]
        stop[i] = stop_mult * rel
        take[i] = take_mult * rel
    if first == n:
        return stop, take
    acc = 0.0
    for i in range(1, period + 1):
        acc += max(high[i], close[i - 1]) - min(low[i], close[i - 1])
    value = acc / period
    rel = value / close[period]
    stop[period] = stop_mult * rel
    take[period] = take_mult * rel
    for i in range(period + 1, n):
        tr = max(high[i], close[i - 1]) - min(low[i], close[i - 1])
        value = (value * (period - 1) + tr) / period
        rel = value / close[i]
        stop[i] = stop_mult * rel
        take[i] = take_mult * rel
    return stop, take


@njit(cache=True, nogil=True, inline="always")
def _held_scale(rv: float, target: float) -> float:
    """``scale_from_realised``'s value at one bar, cleaned as ``compose`` holds it (NaN or < 0: 0,
    > 1: 1)."""
    if np.isnan(rv):
        return 0.0
    held = 1.0 if rv <= target else target / rv
    if np.isnan(held) or held < 0.0:
        return 0.0
    if held > 1.0:
        return 1.0
    return held


@njit(cache=True, nogil=True)
def hold_from_realised(signal: np.ndarray, realised: np.ndarray, target: float) -> np.ndarray:
    """``compose.hold_unit_scale_from_entry(signal, scale_from_realised(realised, target))``, the
    scale computed only where it is sampled (the signal changed) and multiplies a non-zero signal:
    ``signal * held`` is the signal's own zero whatever ``held`` (finite, in [0, 1]) is there."""
    n = len(signal)
    out = np.empty(n)
    held = 0.0
    for i in range(n):
        v = signal[i]
        if (i == 0 or v != signal[i - 1]) and v != 0.0:
            held = _held_scale(realised[i], target)
        out[i] = v * held
    return out


@njit(cache=True, nogil=True)
def vol_hold(
    signal: np.ndarray, close: np.ndarray, period: int, annualise: float, target: float
) -> np.ndarray:
    """``hold_from_realised`` over ``indicators.realised_vol(close, period, annualise)`` computed in
    the same pass (its running sums, the same operations in the same order; the window's log
    returns in a ring of ``period`` slots instead of an n-sized buffer), no realised array."""
    n = len(signal)
    out = np.empty(n)
    ring = np.empty(max(period, 1))
    slot = 0
    s = 0.0
    s2 = 0.0
    held = 0.0
    for i in range(n):
        if i >= 1:
            r = np.log(close[i] / close[i - 1])
            if i > period:
                old = ring[slot]  # the return of bar i - period
                ring[slot] = r
                s += r
                s2 += r * r
                s -= old
                s2 -= old * old
            else:
                ring[slot] = r
                s += r
                s2 += r * r
            slot += 1
            if slot == period:
                slot = 0
        v = signal[i]
        if (i == 0 or v != signal[i - 1]) and v != 0.0:
            rv = np.nan
            if i >= period and i >= 1:
                mean = s / period
                var = s2 / period - mean * mean
                rv = np.sqrt(var) * annualise if var > 0.0 else 0.0
            held = _held_scale(rv, target)
        out[i] = v * held
    return out


@njit(cache=True, nogil=True)
def filter_exit_hold(
    signal: np.ndarray, close: np.ndarray, high: np.ndarray, low: np.ndarray,
    f_period: int, up: float, down: float,
    a_period: int, stop_mult: float, take_mult: float,
    v_period: int, annualise: float, target: float,
):  # fmt: skip
    """``sma_band_filter``, ``atr_exit`` and ``vol_hold`` in one pass (a period < 1: that module is
    absent): the SMA filter, then the hold, in place on ``signal``; returns ``(stop, take)``
    (empty arrays without the ATR stop). Their recurrences are independent chains (the running
    sums, Wilder's division, the log returns), so in one loop the CPU overlaps them; each keeps
    its own operations in their order, the values are the three kernels' bit for bit. The steps
    are written out again here, not shared with those kernels through helpers: inlined helpers
    returning their running state as tuples made this loop ~1.5x slower (a one-off timing at
    100,000 bars, 2026-12-04)."""
    n = len(signal)
    has_f, has_a, has_v = f_period >= 1, a_period >= 1, v_period >= 1
    stop = np.empty(n if has_a else 0)
    take = np.empty(n if has_a else 0)
    f_acc = 0.0
    f_count = 0
    a_acc = 0.0
    value = np.nan
    a_prev = float(a_period - 1)
    ring = np.empty(max(v_period, 1))
    slot = 0
    s = 0.0
    s2 = 0.0
    held = 0.0
    prev = 0.0  # the filtered signal at i - 1
    for i in range(n):
        c = close[i]
        v = signal[i]
        if has_f:
            avg = np.nan
            if np.isnan(c):
                f_acc = 0.0
                f_count = 0
            else:
                f_acc += c
                f_count += 1
                if f_count > f_period:
                    f_acc -= close[i - f_period]
                    f_count = f_period
                if f_count == f_period:
                    avg = f_acc / f_period
            if v > 0.0:
                if not (c > avg * up):
                    v = 0.0
            elif v < 0.0:
                if not (c < avg * down):
                    v = 0.0
        if has_a:
            if i >= 1 and i <= a_period:
                a_acc += max(high[i], close[i - 1]) - min(low[i], close[i - 1])
                if i == a_period:
                    value = a_acc / a_period
            elif i > a_period:
                tr = max(high[i], close[i - 1]) - min(low[i], close[i - 1])
                value = (value * a_prev + tr) / a_period
            rel = value / c
            stop[i] = stop_mult * rel
            take[i] = take_mult * rel
        if has_v:
            if i >= 1:
                r = np.log(c / close[i - 1])
                if i > v_period:
                    old = ring[slot]
                    ring[slot] = r
                    s += r
                    s2 += r * r
                    s -= old
                    s2 -= old * old
                else:
                    ring[slot] = r
                    s += r
                    s2 += r * r
                slot += 1
                if slot == v_period:
                    slot = 0
            if (i == 0 or v != prev) and v != 0.0:
                rv = np.nan
                if i >= v_period and i >= 1:
                    mean = s / v_period
                    var = s2 / v_period - mean * mean
                    rv = np.sqrt(var) * annualise if var > 0.0 else 0.0
                held = _held_scale(rv, target)
            prev = v
            signal[i] = v * held
        else:
            signal[i] = v
    return stop, take
