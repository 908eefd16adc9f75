"""The numba kernel of DESIGN.md's backtest contract: one pass from prices and targets to equity.

One function, :func:`run`, serves both callers: ``simulate`` (records equity, units and the trade
list) and the GA's fold statistics (only the sums in ``stats``: the return power sums and the
drawdown are kept as each bar is marked, so nothing is written per bar and flat stretches cost a
comparison a bar). Compiled on first call and cached on disk (``cache=True``), never at import.

Per bar ``i`` of ``[start, end)``, in time order:

1. at the open, if ``target[i-1]`` differs from the last target acted on, trade to the new units
   (``units = equity * target / (fill * (1 + fee))``; buys fill at ``open*(1+slippage)``, sells at
   ``open*(1-slippage)``; fee = ``fee * |traded units| * fill``). Bar ``start`` has no order: the
   account is flat at its open;
2. inside the bar, the stop and take-profit of the open position (levels fixed at its entry fill,
   distances ``stop[i-1]``/``take[i-1]``): an open beyond a level fills at the open, else a touch of
   ``low``/``high`` fills at the level (moved by slippage); if both are touched the stop wins;
   after such an exit the account stays flat until the target changes;
3. at the close, funding: ``cash -= units * close[i] * funding[i]``;
4. equity is marked to market: ``cash + units * close[i]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Layout of the ``stats`` vector the kernel fills (read by metrics and fold_stats).
N_RET, S1, S2, S3, S4, SDOWN2, MDD, EXPOSED, BARS = 0, 1, 2, 3, 4, 5, 6, 7, 8
NOTIONAL, FEES, FUNDING, TRADES, WINS, GROSS_PROFIT, GROSS_LOSS = 9, 10, 11, 12, 13, 14, 15
EQUITY_SUM, FINAL_EQUITY, INIT_CASH = 16, 17, 18
NSTATS = 19

# Columns of the raw trade table (float64[k, TRADE_COLS]); engine turns it into a record array.
T_ENTRY_IDX, T_EXIT_IDX, T_ENTRY_PRICE, T_EXIT_PRICE, T_UNITS = 0, 1, 2, 3, 4
T_PNL, T_FEES, T_FUNDING, T_REASON, T_ENTRY_FEE = 5, 6, 7, 8, 9
TRADE_COLS = 10

# Exit reasons.
SIGNAL, STOP, TAKE, END = 0, 1, 2, 3

# Status codes returned with the offending bar index.
OK, BAD_TARGET, BAD_STOP, BAD_TAKE = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def _close_trade(
    trades,
    k,
    record,
    entry_idx,
    exit_idx,
    entry_price,
    exit_price,
    units,
    entry_fee,
    exit_fee,
    funding,
    reason,
    stats,
):
    """Book one finished trade segment (into ``trades[k]`` if recording) and its win/loss sums."""
    fees = entry_fee + exit_fee
    pnl = units * (exit_price - entry_price) - fees - funding
    if record:
        trades[k, T_ENTRY_IDX] = entry_idx
        trades[k, T_EXIT_IDX] = exit_idx
        trades[k, T_ENTRY_PRICE] = entry_price
        trades[k, T_EXIT_PRICE] = exit_price
        trades[k, T_UNITS] = units
        trades[k, T_PNL] = pnl
        trades[k, T_FEES] = fees
        trades[k, T_FUNDING] = funding
        trades[k, T_REASON] = reason
        trades[k, T_ENTRY_FEE] = entry_fee
    stats[TRADES] += 1.0
    if pnl > 0.0:
        stats[WINS] += 1.0
        stats[GROSS_PROFIT] += pnl
    else:
        stats[GROSS_LOSS] -= pnl


@njit(cache=True, nogil=True)
def run(
    open_, high, low, close, funding, target, stop, take,
    fee, slippage, init_cash, start, end,
    record, equity, trades, stats,
):  # fmt: skip
    """Simulate bars ``[start, end)``; fill ``equity`` and ``stats`` (and, if ``record``, ``trades``;
    the units held after each bar follow from them: :func:`units_from_trades`).

    ``stop``/``take`` may be empty (no stops). ``equity`` has at least ``end - start`` slots (written
    where a position is held; every bar if ``record``);
    ``trades`` at least one row per target change plus one. Returns ``(status, bar)``: ``OK`` or
    the first invalid input (a target outside [-1, 1] or NaN, a negative stop or take distance).
    """
    has_stop = len(stop) > 0
    has_take = len(take) > 0
    buy_mult = 1.0 + slippage
    sell_mult = 1.0 - slippage
    stats[:] = 0.0
    stats[INIT_CASH] = init_cash
    stats[BARS] = end - start
    cash = init_cash
    units = 0.0
    acted = 0.0  # the last target acted on (flat at start)
    k = 0  # trades booked
    # the open trade segment
    e_idx = 0
    e_price = 0.0
    e_fees = 0.0
    e_funding = 0.0
    stop_lvl = np.nan
    take_lvl = np.nan
    exposed = 0.0
    funding_sum = 0.0
    # the statistics of the equity curve, kept as it is marked (no second pass over it)
    prev = np.nan  # equity at the previous close; NaN before the first bar: no return
    s1 = s2 = s3 = s4 = sdown2 = eq_sum = 0.0
    peak = -np.inf
    floor = -np.inf
    mdd = 0.0
    # Targets are validated where they change: one equal to the last (valid) one acted on is valid,
    # and NaN differs from everything. The last target, never an order, is checked here.
    if end > start and not (-1.0 <= target[end - 1] <= 1.0):
        return BAD_TARGET, end - 1
    i = start
    while i < end:
        op = open_[i]
        # 1. the order decided at the previous close
        if i > start:
            tgt = target[i - 1]
            if tgt != acted:
                if not (-1.0 <= tgt <= 1.0):
                    return BAD_TARGET, i - 1
                acted = tgt
                eq_open = cash + units * op
                base = eq_open * tgt / (1.0 + fee) if eq_open > 0.0 else 0.0
                want_buy = base / (op * buy_mult)
                want_sell = base / (op * sell_mult)
                new_units = units
                fill = 0.0
                if want_buy > units:
                    new_units = want_buy
                    fill = op * buy_mult
                elif want_sell < units:
                    new_units = want_sell
                    fill = op * sell_mult
                if new_units != units:
                    delta = new_units - units
                    notional = abs(delta) * fill
                    fee_paid = notional * fee
                    cash = cash - delta * fill - fee_paid
                    stats[NOTIONAL] += notional
                    stats[FEES] += fee_paid
                    exit_fee = 0.0
                    if units != 0.0:
                        if (delta > 0.0) != (units > 0.0):  # the trade reduces or closes the old side
                            exit_fee = fee_paid * min(abs(delta), abs(units)) / abs(delta)
                        _close_trade(trades, k, record, e_idx, i, e_price, fill, units,
                                     e_fees, exit_fee, e_funding, SIGNAL, stats)  # fmt: skip
                        k += 1
                    units = new_units
                    stop_lvl = np.nan
                    take_lvl = np.nan
                    if units != 0.0:
                        e_idx = i
                        e_price = fill
                        e_fees = fee_paid - exit_fee
                        e_funding = 0.0
                        side = 1.0 if units > 0.0 else -1.0
                        if has_stop:
                            d = stop[i - 1]
                            if d < 0.0:
                                return BAD_STOP, i - 1
                            stop_lvl = fill * (1.0 - side * d)  # NaN stays NaN: no stop
                        if has_take:
                            d = take[i - 1]
                            if d < 0.0:
                                return BAD_TAKE, i - 1
                            take_lvl = fill * (1.0 + side * d)
        # 2. stops and take-profits inside the bar
        if units != 0.0 and (stop_lvl == stop_lvl or take_lvl == take_lvl):
            px = np.nan
            reason = STOP
            if units > 0.0:
                if op <= stop_lvl:
                    px = op
                elif op >= take_lvl:
                    px = op
                    reason = TAKE
                elif low[i] <= stop_lvl:
                    px = stop_lvl
                elif high[i] >= take_lvl:
                    px = take_lvl
                    reason = TAKE
                fill = px * sell_mult
            else:
                if op >= stop_lvl:
                    px = op
                elif op <= take_lvl:
                    px = op
                    reason = TAKE
                elif high[i] >= stop_lvl:
                    px = stop_lvl
                elif low[i] <= take_lvl:
                    px = take_lvl
                    reason = TAKE
                fill = px * buy_mult
            if px == px:
                notional = abs(units) * fill
                fee_paid = notional * fee
                cash = cash + units * fill - fee_paid
                stats[NOTIONAL] += notional
                stats[FEES] += fee_paid
                _close_trade(trades, k, record, e_idx, i, e_price, fill, units,
                             e_fees, fee_paid, e_funding, reason, stats)  # fmt: skip
                k += 1
                units = 0.0
                stop_lvl = np.nan
                take_lvl = np.nan
        # 3. funding at the close, 4. mark to market, and the bar's return into the sums
        c = close[i]
        if units != 0.0:
            pay = units * c * funding[i]
            cash -= pay
            funding_sum += pay
            e_funding += pay
            exposed += 1.0
        eq = cash + units * c
        if record:
            equity[i - start] = eq
        s1, s2, s3, s4, sdown2 = _add_return(eq, prev, s1, s2, s3, s4, sdown2)
        peak, floor, mdd = _drawdown(eq, peak, floor, mdd)
        eq_sum += eq
        prev = eq
        i += 1
        # Fast paths: the bars with no order at their open and no stop or take level to watch
        # (most bars). Flat, the equity does not move: its returns are exactly 0 and add nothing to
        # the sums or the drawdown, so the bars are only counted. Holding, funding and the mark.
        if units == 0.0:
            j0 = i
            while i < end and target[i - 1] == acted:
                i += 1
            eq_sum += cash * (i - j0)
            if record:
                equity[j0 - start : i - start] = cash
        elif not (stop_lvl == stop_lvl or take_lvl == take_lvl):
            j0 = i
            while i < end and target[i - 1] == acted:
                c = close[i]
                pay = units * c * funding[i]
                cash -= pay
                funding_sum += pay
                e_funding += pay
                eq = cash + units * c
                equity[i - start] = eq
                peak, floor, mdd = _drawdown(eq, peak, floor, mdd)
                i += 1
            if i > j0:  # the segment's statistics in passes over what was just written (they vectorise)
                exposed += i - j0
                s1, s2, s3, s4, sdown2, eq_sum = _segment_sums(
                    equity, j0 - start, i - start, prev, s1, s2, s3, s4, sdown2, eq_sum)  # fmt: skip
                prev = equity[i - 1 - start]
    if units != 0.0 and end > start:  # the trade still open at the end, marked at the last close
        _close_trade(trades, k, record, e_idx, end - 1, e_price, close[end - 1], units,
                     e_fees, 0.0, e_funding, END, stats)  # fmt: skip
    stats[EXPOSED] = exposed
    stats[FUNDING] = funding_sum
    stats[N_RET] = max(end - start - 1, 0)
    stats[S1] = s1
    stats[S2] = s2
    stats[S3] = s3
    stats[S4] = s4
    stats[SDOWN2] = sdown2
    stats[EQUITY_SUM] = eq_sum
    stats[MDD] = mdd
    stats[FINAL_EQUITY] = prev if end > start else init_cash
    return OK, -1


@njit(cache=True, nogil=True, inline="always")
def _add_return(eq, prev, s1, s2, s3, s4, sdown2):
    """The power sums and the downside sum with the return ``eq / prev - 1`` (0 after a non-positive
    equity, or at the first bar, where ``prev`` is NaN)."""
    r = eq / prev - 1.0 if prev > 0.0 else 0.0
    r2 = r * r
    neg = min(r, 0.0)
    return s1 + r, s2 + r2, s3 + r2 * r, s4 + r2 * r2, sdown2 + neg * neg


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def _segment_sums(equity, a, b, prev, s1, s2, s3, s4, sdown2, eq_sum):
    """``_add_return`` over ``equity[a:b]`` (``prev`` the equity before ``a``), and their sum.

    Reassociation lets the sums vectorise: the last bits round differently, nothing else."""
    seg = equity[a:b]  # a view, so the loop starts at 1: indices provably >= 0, and it vectorises
    r = seg[0] / prev - 1.0 if prev > 0.0 else 0.0  # the first return, from the bar before
    neg = min(r, 0.0)
    t1, t2, t3, t4, td, te = r, r * r, r * r * r, r * r * r * r, neg * neg, seg[0]
    for j in range(1, len(seg)):
        p = seg[j - 1]
        r = seg[j] / p - 1.0 if p > 0.0 else 0.0
        r2 = r * r
        t1 += r
        t2 += r2
        t3 += r2 * r
        t4 += r2 * r2
        neg = min(r, 0.0)
        td += neg * neg
        te += seg[j]
    return s1 + t1, s2 + t2, s3 + t3, s4 + t4, sdown2 + td, eq_sum + te


@njit(cache=True, nogil=True, inline="always")
def _drawdown(eq, peak, floor, mdd):
    """The running peak and max drawdown (a positive fraction) with ``eq``. Below ``floor`` =
    ``peak * (1 - mdd)`` lies a new max drawdown: one division per new max, not per bar."""
    if eq > peak:
        peak = eq
        floor = peak * (1.0 - mdd)
    elif eq < floor and peak > 0.0:
        dd = 1.0 - eq / peak
        if dd > mdd:
            mdd = dd
            floor = peak * (1.0 - mdd)
    return peak, floor, mdd


@njit(cache=True, nogil=True)
def run_folds(
    open_, high, low, close, funding, target, stop, take,
    fee, slippage, init_cash, bounds, periods_per_year, out,
):  # fmt: skip
    """Per fold ``[bounds[f,0], bounds[f,1])``, a fresh account: the GA's statistics into ``out``.

    ``out[f]`` = total_return, annualised Sharpe, max_drawdown, trades, then the power sums of
    the per-bar returns ``n, Σr, Σr², Σr³, Σr⁴`` (if ``out`` has 9 columns). Returns the first
    bad input like :func:`run`.
    """
    stats = np.zeros(NSTATS)
    longest = 0
    for f in range(bounds.shape[0]):
        longest = max(longest, bounds[f, 1] - bounds[f, 0])
    scratch = np.empty(longest)  # the equity of one fold where a position is held
    empty2 = np.empty((0, TRADE_COLS))
    ann = np.sqrt(periods_per_year)
    for f in range(bounds.shape[0]):
        status, bar = run(open_, high, low, close, funding, target, stop, take, fee, slippage,
                          init_cash, bounds[f, 0], bounds[f, 1], False, scratch, empty2, stats)  # fmt: skip
        if status != OK:
            return status, bar
        out[f, 0] = stats[FINAL_EQUITY] / init_cash - 1.0
        out[f, 1] = sharpe_from_sums(stats[N_RET], stats[S1], stats[S2]) * ann
        out[f, 2] = stats[MDD]
        out[f, 3] = stats[TRADES]
        if out.shape[1] >= 9:
            out[f, 4] = stats[N_RET]
            out[f, 5] = stats[S1]
            out[f, 6] = stats[S2]
            out[f, 7] = stats[S3]
            out[f, 8] = stats[S4]
    return OK, -1


@njit(cache=True, nogil=True)
def units_from_trades(trades, start, end):
    """The signed units held after each bar of ``[start, end)``, from the trade table of :func:`run`.

    A trade holds its units from its entry bar up to its exit bar, which fills at its open (a
    signal) or inside it (a stop, a take: flat after it); one still open holds them to the end.
    """
    out = np.zeros(end - start)
    for t in range(trades.shape[0]):
        a = int(trades[t, T_ENTRY_IDX]) - start
        b = end - start if trades[t, T_REASON] == END else int(trades[t, T_EXIT_IDX]) - start
        out[a:b] = trades[t, T_UNITS]
    return out


@njit(cache=True, nogil=True)
def sharpe_from_sums(n, s1, s2):
    """Per-bar Sharpe ratio (sample std, ddof=1) from ``n, Σr, Σr²``; 0 when undefined or flat."""
    if n < 2.0:
        return 0.0
    mean = s1 / n
    var = (s2 - s1 * mean) / (n - 1.0)
    if var <= 1e-14 * (s2 / n):  # flat (or constant) returns: cancellation noise, not risk
        return 0.0
    return mean / np.sqrt(var)
