"""The engine's public face: costs, ``simulate`` (equity and trades) and ``fold_stats`` (the GA's path).

Both run :mod:`gaorg.backtest.kernel`, the one numba implementation of DESIGN.md's contract (see
its docstring, and docs/backtest.md for where it differs from vectorbt). Inputs are checked at the
door; an invalid target or stop distance is an ``InputError`` naming the bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from gaorg.backtest import kernel as K
from gaorg.data.bars import Bars
from gaorg.errors import InputError

HYPERLIQUID_TAKER_FEE = 0.00045
"""Hyperliquid's base taker fee (0.045% of notional), the default fee."""

TRADE_DTYPE = np.dtype(
    [
        ("entry_idx", np.int64),  # bar of the entry fill (its open), index into the bars
        ("exit_idx", np.int64),  # bar of the exit fill (the last bar for a trade still open)
        ("entry_price", np.float64),  # fill price, slippage included
        ("exit_price", np.float64),  # fill price, or the last close for a trade still open
        ("units", np.float64),  # signed: > 0 long, < 0 short
        ("pnl", np.float64),  # units * (exit - entry) - fees - funding
        ("fees", np.float64),  # entry_fee + the fee of the exit fill
        ("entry_fee", np.float64),  # the part paid on entry (of a flip's fee, the opening part)
        ("funding", np.float64),  # funding paid while open (negative: received)
        ("reason", "U6"),  # how it ended: signal, stop, take, end (still open at the last bar)
    ]
)
REASONS = ("signal", "stop", "take", "end")

FOLD_COLUMNS = ("total_return", "sharpe", "max_drawdown", "trades")
FOLD_SUM_COLUMNS = ("n", "sum_r", "sum_r2", "sum_r3", "sum_r4")


@dataclass(frozen=True)
class Costs:
    """Trading costs, as fractions: ``fee`` of traded notional, ``slippage`` of the price moved
    against the trader on every fill; ``init_cash`` the starting equity (quote currency)."""

    fee: float = HYPERLIQUID_TAKER_FEE
    slippage: float = 0.0
    init_cash: float = 10_000.0

    def __post_init__(self) -> None:
        for name, value, high in (("fee", self.fee, 0.1), ("slippage", self.slippage, 0.1)):
            if not (0.0 <= value <= high):
                raise InputError(
                    f"{name}={value!r} is not a fraction in [0, {high}]; give e.g. 0.00045 for 0.045%"
                )
        if not (np.isfinite(self.init_cash) and self.init_cash > 0):
            raise InputError(f"init_cash={self.init_cash!r} must be a positive amount")


DEFAULT_COSTS = Costs()


@dataclass(frozen=True, eq=False)
class SimResult:
    """One simulated run over bars ``[start, end)``: per-bar ``equity`` (marked at each close) and
    ``units`` (signed position after the bar), the ``trades`` record array (TRADE_DTYPE, built on
    first access from the kernel's ``raw_trades``) and the kernel's sums ``stats`` (what the
    metrics are computed from)."""

    start: int
    end: int
    costs: Costs
    equity: np.ndarray
    raw_trades: np.ndarray
    stats: np.ndarray

    @cached_property
    def trades(self) -> np.ndarray:
        return _trade_records(self.raw_trades)

    @cached_property
    def units(self) -> np.ndarray:
        """Units held after each bar, rebuilt from the trades on first access (not written per bar)."""
        units = K.units_from_trades(self.raw_trades, self.start, self.end)
        units.flags.writeable = False
        return units

    @property
    def fees_paid(self) -> float:
        return float(self.stats[K.FEES])

    @property
    def funding_paid(self) -> float:
        return float(self.stats[K.FUNDING])

    @property
    def final_equity(self) -> float:
        return float(self.stats[K.FINAL_EQUITY])


def _frozen(a: np.ndarray) -> np.ndarray:
    """``a``, or a read-only view of it (no copy).

    numba compiles a kernel once per argument type, and an array's read-only flag is part of its
    type: a plan's arrays arrive writable or read-only (memoised), and each mix would cost the
    backtest kernel another compilation (~2-4 s on a cold cache, in every fresh process). Passing
    them read-only always keeps it to one.
    """
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view


def _plan_arrays(n: int, target, stop, take) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous float64 (target, stop, take), read-only views; an absent stop/take is an empty array."""
    if hasattr(target, "target"):  # a TargetPlan
        target, stop, take = target.target, target.stop, target.take

    def arr(x, name: str) -> np.ndarray:
        if x is None:
            return np.empty(0)
        a = np.ascontiguousarray(x, dtype=np.float64)
        if a.ndim != 1 or len(a) != n:
            raise InputError(f"{name} has shape {a.shape}, the bars have {n}: give one value per bar")
        return a

    t = arr(target, "target")
    if t.size == 0 and n:
        raise InputError("no target given: pass one target position per bar")
    return _frozen(t), _frozen(arr(stop, "stop")), _frozen(arr(take, "take"))


def _window(n: int, start: int, end: int | None) -> tuple[int, int]:
    end = n if end is None else int(end)
    start = int(start)
    if not (0 <= start < end <= n):
        raise InputError(f"window [{start}, {end}) is not inside the {n} bars; need 0 <= start < end <= {n}")
    return start, end


def _raise_bad(
    status: int, bar: int, bars: Bars, target: np.ndarray, stop: np.ndarray, take: np.ndarray
) -> None:
    when = str(np.datetime64(int(bars.ts[bar]), "ms")) if len(bars.ts) > bar else f"bar {bar}"
    if status == K.BAD_TARGET:
        raise InputError(
            f"target at bar {bar} ({when}) is {target[bar]!r}: a target is a fraction of equity in [-1, 1] "
            "(negative: short); replace NaN with 0 and clip to [-1, 1]"
        )
    name, arr = ("stop", stop) if status == K.BAD_STOP else ("take", take)
    raise InputError(
        f"{name} distance at bar {bar} ({when}) is {arr[bar]!r}: distances are positive fractions of "
        "the entry price (NaN for none)"
    )


def simulate(
    bars: Bars,
    target,
    stop: np.ndarray | None = None,
    take: np.ndarray | None = None,
    costs: Costs = DEFAULT_COSTS,
    start: int = 0,
    end: int | None = None,
) -> SimResult:
    """Run the contract over bars ``[start, end)`` from a flat account holding ``costs.init_cash``.

    ``target`` is one position per bar (fraction of equity in [-1, 1], decided at that bar's close)
    or a ``TargetPlan`` (then ``stop``/``take`` come from it). ``stop``/``take`` are distances as
    fractions of the entry fill, NaN for none. Bars before ``start`` serve only as history.
    """
    n = len(bars)
    start, end = _window(n, start, end)
    t, s, k = _plan_arrays(n, target, stop, take)
    m = end - start
    capacity = m + 1  # at most one new trade per bar; untouched rows of np.empty cost no memory
    equity = np.empty(m)
    raw = np.empty((capacity, K.TRADE_COLS))
    stats = np.zeros(K.NSTATS)
    status, bar = K.run(
        np.asarray(bars.open), np.asarray(bars.high), np.asarray(bars.low), np.asarray(bars.close),
        np.asarray(bars.funding), t, s, k, float(costs.fee), float(costs.slippage), float(costs.init_cash),
        start, end, True, equity, raw, stats,
    )  # fmt: skip
    if status != K.OK:
        _raise_bad(status, bar, bars, t, s, k)
    return SimResult(start, end, costs, equity, raw[: int(stats[K.TRADES])].copy(), stats)


def _trade_records(raw: np.ndarray) -> np.ndarray:
    out = np.empty(len(raw), dtype=TRADE_DTYPE)
    out["entry_idx"] = raw[:, K.T_ENTRY_IDX]
    out["exit_idx"] = raw[:, K.T_EXIT_IDX]
    out["entry_price"] = raw[:, K.T_ENTRY_PRICE]
    out["exit_price"] = raw[:, K.T_EXIT_PRICE]
    out["units"] = raw[:, K.T_UNITS]
    out["pnl"] = raw[:, K.T_PNL]
    out["fees"] = raw[:, K.T_FEES]
    out["entry_fee"] = raw[:, K.T_ENTRY_FEE]
    out["funding"] = raw[:, K.T_FUNDING]
    out["reason"] = np.asarray(REASONS)[raw[:, K.T_REASON].astype(np.int64)]
    return out


def fold_stats(
    bars: Bars,
    plan,
    costs: Costs = DEFAULT_COSTS,
    bounds: np.ndarray | None = None,
    *,
    with_sums: bool = False,
) -> np.ndarray:
    """The GA's fast path: per fold ``[start, end)`` of ``bounds`` (int64[k, 2]), a fresh flat
    account, and float64[k, 4] of FOLD_COLUMNS (total_return, annualised sharpe, max_drawdown,
    trades) — the same numbers ``compute_metrics`` gives for ``simulate(start=, end=)``.

    ``with_sums=True`` appends FOLD_SUM_COLUMNS, the power sums of the per-bar returns
    (``n, Σr, Σr², Σr³, Σr⁴``) that merge across folds (deflated Sharpe, PBO). ``plan`` is a
    ``TargetPlan`` or a target array. No dicts, no per-bar outputs: one numba call.
    """
    n = len(bars)
    bounds = (
        np.array([[0, n]], dtype=np.int64) if bounds is None else np.ascontiguousarray(bounds, dtype=np.int64)
    )
    if bounds.ndim != 2 or bounds.shape[1] != 2:
        raise InputError(f"bounds has shape {bounds.shape}; give int64[k, 2] rows of [start, end)")
    for a, b in bounds:
        _window(n, a, b)
    t, s, k = _plan_arrays(n, plan, None, None)
    out = np.zeros((len(bounds), 9 if with_sums else 4))
    status, bar = K.run_folds(
        np.asarray(bars.open), np.asarray(bars.high), np.asarray(bars.low), np.asarray(bars.close),
        np.asarray(bars.funding), t, s, k, float(costs.fee), float(costs.slippage), float(costs.init_cash),
        bounds, float(bars.periods_per_year), out,
    )  # fmt: skip
    if status != K.OK:
        _raise_bad(status, bar, bars, t, s, k)
    return out
