"""What the learned modules share: normalised features and a walk-forward refit loop.

Features are scale-free (returns over volatility, RSI, range position, volatility ratio), so a
model means the same on any asset. The loop fits a model at bar t on the samples j whose label
is known at t (``j + horizon <= t``) within a trailing ``window``, standardised with that window's
statistics only, and predicts bars ``t .. t + refit - 1`` with it: nothing after bar i reaches
the prediction at bar i. scikit-learn is imported by the modules' fit functions, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies import learned_cache
from gaorg.strategies.genes import IntGene
from gaorg.strategies.indicators import log_returns, rolling_std, rsi, shift, sma, stochastic_k

N_FEATURES = 8

# fit(X_train, y_forward_returns, X_predict) -> predictions in [-1, 1] for X_predict
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def feature_lookback(period: int) -> int:
    """The first bar at which every feature of ``features(bars, period)`` is defined."""
    return 4 * period


def series_bases(bars: Bars) -> np.ndarray:
    """float64[3, n]: the period-free parts of :func:`features`, ``log_returns(close)``,
    ``np.log(close)`` and ``np.log(high / low)``, the same arrays features computes itself."""
    close = np.asarray(bars.close)
    out = np.empty((3, len(close)))
    out[0] = log_returns(close)
    out[1] = np.log(close)
    out[2] = np.log(np.asarray(bars.high) / np.asarray(bars.low))
    return out


def features(
    bars: Bars, period: int, count: int = N_FEATURES, order: str = "C", bases: np.ndarray | None = None
) -> np.ndarray:
    """float64[n, count] of scale-free features at ``period`` (and ``4 * period``) bars; NaN in warm-up.

    Columns: 1-bar return, momentum over period and 4*period, distance from the SMA (all in units
    of the 4*period volatility), RSI and %K centred at 0, log ratio of short to long volatility,
    and the bar's range over the long volatility. ``count`` < 8 computes only the first columns
    (each column is computed on its own: the same values as the full array's). ``order="F"``
    (the cached fast path) writes each column into place, column-major, instead of
    ``np.column_stack``'s row-major copy, and the walk-forward's row-wise finite mask then runs
    along contiguous columns: the same values; with that mask, 9.1 -> 7.4 ms for 5 columns and
    13.0 -> 9.6 ms for 8 at 100,000 bars. ``bases``: :func:`series_bases` of these bars, computed
    once per series by the cached path (~0.15 ms of ~0.6-1 ms at 20,000 bars), the same values.
    """
    close = np.asarray(bars.close)
    high, low = np.asarray(bars.high), np.asarray(bars.low)
    if bases is None:
        r, logc, log_hl = log_returns(close), np.log(close), None
    else:
        r, logc, log_hl = bases
        if order == "F":  # the cached path: the rolling parts in one pass, the arithmetic in one kernel
            return _feature_columns(bars, period, count, r, logc, log_hl)
    vol_long = rolling_std(r, 4 * period)
    columns = (
        lambda: r / unit,
        lambda: (logc - shift(logc, period)) / (unit * np.sqrt(period)),
        lambda: (logc - shift(logc, 4 * period)) / (unit * np.sqrt(4 * period)),
        lambda: (logc - np.log(sma(close, period))) / (unit * np.sqrt(period)),
        lambda: rsi(close, period) / 100.0 - 0.5,
        lambda: stochastic_k(high, low, close, period) / 100.0 - 0.5,
        lambda: np.log(rolling_std(r, period) / unit),
        lambda: (np.log(high / low) if log_hl is None else log_hl) / unit,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(vol_long > 0.0, vol_long, np.nan)
        if order == "F":
            x = np.empty((len(close), count), order="F")
            for j, column in enumerate(columns[:count]):
                x[:, j] = column()
        else:  # the reference's row-major array, as first written
            x = np.column_stack([column() for column in columns[:count]])
    x[~np.isfinite(x)] = np.nan
    return x


def _feature_columns(bars: Bars, period: int, count: int, r, logc, log_hl) -> np.ndarray:
    """:func:`features`' columns: the rolling parts in one pass (``learned_features.feature_parts``,
    the indicators' values bit for bit), numpy's logs, then ``learned_window.feature_columns``."""
    from gaorg.strategies.learned_features import feature_parts
    from gaorg.strategies.learned_window import feature_columns

    close = np.asarray(bars.close)
    unit, sma_v, rsi_v, stoch_v, ratio = feature_parts(close, np.asarray(bars.high), np.asarray(bars.low), r,
                                                       period, count)  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        log_sma = np.log(sma_v)  # empty where not asked for
        log_ratio = np.log(ratio)
    return feature_columns(count, period, r, logc, log_hl, unit, log_sma, rsi_v, stoch_v, log_ratio)


def forward_returns(bars: Bars, horizon: int, logc: np.ndarray | None = None) -> np.ndarray:
    """``log(close[j + horizon] / close[j])``: the label of sample j, known from bar j + horizon on.
    ``logc``: ``np.log(close)`` if the caller has it (``series_bases``)."""
    if logc is None:
        logc = np.log(np.asarray(bars.close))
    out = np.full(len(logc), np.nan)
    out[: len(logc) - horizon] = logc[horizon:] - logc[:-horizon]
    return out


def first_fit_bar(period: int, horizon: int, window: int) -> int:
    """The first bar with a full window of labelled samples (the module's lookback)."""
    return feature_lookback(period) + horizon + window - 1


def walk_forward(
    x: np.ndarray, fwd: np.ndarray, horizon: int, window: int, refit: int, start: int, fit_predict: FitPredict
) -> np.ndarray:
    """Predictions per bar from models refitted every ``refit`` bars from bar ``start`` on (0 before).

    At fit bar t the training samples are j in ``[t - horizon - window + 1, t - horizon]``: their
    labels ``fwd[j]`` use closes up to ``j + horizon <= t``. Features are standardised with the
    training window's mean and deviation. Rows with a NaN feature are left out of training and
    predicted 0.
    """
    n = len(fwd)
    out = np.zeros(n)
    for t in range(start, n, refit):
        lo = max(0, t - horizon - window + 1)
        train_x = x[lo : t - horizon + 1]
        train_y = fwd[lo : t - horizon + 1]
        keep = np.isfinite(train_x).all(axis=1) & np.isfinite(train_y)
        train_x, train_y = train_x[keep], train_y[keep]
        stop = min(n, t + refit)
        pred_x = x[t:stop]
        ok = np.isfinite(pred_x).all(axis=1)
        if len(train_y) < 2 * x.shape[1] or not ok.any():
            continue
        mean = train_x.mean(axis=0)
        std = train_x.std(axis=0)
        std[std == 0.0] = 1.0
        block = np.zeros(stop - t)
        block[ok] = fit_predict((train_x - mean) / std, train_y, (pred_x[ok] - mean) / std)
        out[t:stop] = block
    return out


def window_genes(horizon_doc: str) -> tuple[IntGene, ...]:
    """The genes every learned module has: the features' period, the label's horizon (``horizon_doc``
    says what the label is), the training window and the refit interval."""
    return (
        IntGene("feature_period", 3, 200, period=True, doc="bars of the features' indicators (and 4x)"),
        IntGene("horizon", 1, 200, period=True, doc=horizon_doc),
        IntGene("window", 100, 2000, period=True, doc="training samples (bars) per fit"),
        IntGene("refit", 250, 2000, doc="bars between refits (cost: one fit per refit bars)"),
    )


def lookback(params) -> int:
    """A learned module's lookback: its first fit bar."""
    return first_fit_bar(params["feature_period"], params["horizon"], params["window"])


def predict(bars: Bars, params, x: np.ndarray, fit_predict: FitPredict) -> np.ndarray:
    """:func:`walk_forward` over the feature rows ``x`` with the module's horizon, window and refit.

    Inputs are finite (walk_forward drops NaN rows) and the params validated by the genome, so
    scikit-learn's per-call checks are skipped: a third of the cost of a small fit.
    """
    from sklearn import config_context

    h, w, f = params["horizon"], params["window"], params["feature_period"]
    with config_context(assume_finite=True, skip_parameter_validation=True):
        return walk_forward(
            x, forward_returns(bars, h), h, w, params["refit"], first_fit_bar(f, h, w), fit_predict
        )


_SKIP = ()  # a fit bar whose training window is too small: predicted 0

# (fit_block(x, fwd, keep, lo, min_rows, ok, t, out) -> (state, mean, std, model),
#  predict_block(x, ok, t, mean, std, model, out)[,
#  fit_blocks(x, fwd, finite_xy, finite_x, ts, horizon, window, refit, min_rows, out)
#      -> (states, means, stds, models)]): see walk_forward_models
Blocks = tuple[Callable[..., Any], ...]


def walk_forward_models(
    x: np.ndarray, fwd: np.ndarray, horizon: int, window: int, refit: int, start: int,
    fit: Callable[[np.ndarray, np.ndarray], object], apply: Callable[[object, np.ndarray], np.ndarray],
    key: tuple, blocks: Blocks | None = None, finite_x: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """:func:`walk_forward` with the fit and the prediction apart, each fit cached under ``(*key, t)``.

    ``key`` names everything a fit at bar t depends on besides t (market, module, feature period,
    horizon, window, model parameters), so genomes that differ only in ``refit`` or ``direction``
    share the fits at the bars they have in common. The rows, their standardisation and the skips
    are :func:`walk_forward`'s (``learned_window`` computes them in one kernel): the same predictions.
    ``blocks`` (fit_block, predict_block[, fit_blocks]), where a module has them, do a fit with its
    block's predictions and a cached fit's predictions in one call each, writing into the output (the
    same values as ``fit`` and ``apply``; a fit with no model predicts 0, as ``apply`` does); with
    ``fit_blocks``, every fit the cache lacks in one call (:func:`_walk_forward_blocks`).
    ``finite_x``: ``np.isfinite(x).all(axis=1)`` if the caller keeps it.
    """
    from gaorg.strategies.learned_window import standardised_rows, standardised_window

    n = len(fwd)
    out = np.zeros(n)
    if finite_x is None:
        finite_x = np.isfinite(x).all(axis=1)  # once, not per fit: the same masks
    finite_xy = finite_x & np.isfinite(fwd)
    min_rows = 2 * x.shape[1]
    models = learned_cache.MODELS
    if blocks is not None and len(blocks) > 2:
        _walk_forward_blocks(x, fwd, horizon, window, refit, start, key, blocks, finite_x, finite_xy, out)
        return out
    for t in range(start, n, refit):
        stop = min(n, t + refit)
        ok = finite_x[t:stop]
        if not ok.any():
            continue
        fit_key = (*key, t)
        entry = models.get(fit_key)
        if entry is None and blocks is not None:
            lo = max(0, t - horizon - window + 1)
            keep = finite_xy[lo : t - horizon + 1]
            state, mean, std, model = blocks[0](x, fwd, keep, lo, min_rows, ok, t, out)
            models.put(fit_key, _SKIP if state == 0 else (mean, std, model if state == 2 else None))
            continue
        if entry is None:
            lo = max(0, t - horizon - window + 1)
            keep = finite_xy[lo : t - horizon + 1]
            train_x, train_y, mean, std, rows = standardised_window(x, fwd, keep, lo, min_rows)
            entry = _SKIP if rows < min_rows else (mean, std, fit(train_x, train_y))
            models.put(fit_key, entry)
        if entry is _SKIP:
            continue
        mean, std, model = entry
        if blocks is not None:
            if model is not None:
                blocks[1](x, ok, t, mean, std, model, out)
            continue
        out[t:stop][ok] = apply(model, standardised_rows(x, ok, t, mean, std))  # a view: 0 where not ok
    return out


def _walk_forward_blocks(
    x, fwd, horizon, window, refit, start, key, blocks, finite_x, finite_xy, out
) -> None:
    """:func:`walk_forward_models`' loop with the fits the cache lacks done in one call (``blocks[2]``):
    the Python between the kernels, their dispatch and boxing once per series instead of once per
    fit. The cached fits predict first, then the missing ones are fitted (each block of ``out`` is
    written by its own fit only, so the order does not matter) and cached as the loop caches them."""
    n = len(fwd)
    if start >= n:
        return
    fit_bars = range(start, n, refit)
    any_ok = np.logical_or.reduceat(finite_x[start:], np.arange(0, n - start, refit))
    models = learned_cache.MODELS
    missing = []
    for t, ok_any in zip(fit_bars, any_ok, strict=True):
        if not ok_any:
            continue
        entry = models.get((*key, t))
        if entry is None:
            missing.append(t)
        elif entry is not _SKIP and entry[2] is not None:
            blocks[1](x, finite_x[t : min(n, t + refit)], t, entry[0], entry[1], entry[2], out)
    if not missing:
        return
    ts = np.array(missing, dtype=np.int64)
    states, means, stds, fitted = blocks[2](
        x, fwd, finite_xy, finite_x, ts, horizon, window, refit, 2 * x.shape[1], out
    )
    for i, t in enumerate(missing):
        state = states[i]
        models.put((*key, t), _SKIP if state == 0 else (means[i], stds[i], fitted[i] if state == 2 else None))


def _features_f(bars: Bars, period: int, count: int) -> np.ndarray:
    bases = learned_cache.cached_series(learned_cache.bars_digest(bars), "bases", bars, series_bases)
    return features(bars, period, count, order="F", bases=bases)


def scored_block_start(params, scored_from: int) -> tuple[int, bool]:
    """(the first fit bar :func:`predict_cached` computes for ``scored_from``, whether fits before it
    are skipped): the start of the refit block holding ``scored_from``, or the module's first fit bar."""
    start = first_fit_bar(params["feature_period"], params["horizon"], params["window"])
    begin = start + max(0, scored_from - start) // params["refit"] * params["refit"]
    return begin, begin > start


def predict_cached(
    bars: Bars, params, name: str, columns: slice, model_params: tuple,
    fit: Callable[[np.ndarray, np.ndarray], object], apply: Callable[[object, np.ndarray], np.ndarray],
    scored_from: int = 0, blocks: Blocks | None = None,
) -> np.ndarray:  # fmt: skip
    """A learned entry's signal from the per-process caches (``learned_cache``), computed on a miss.

    ``apply`` predicts in [-1, 1] with shorts; the long-only signal is its positive part (which is
    what each module's reference gives). The features are computed once per market and period,
    the fits once per market, fit bar and parameters, the short-allowed signal once per market and
    parameters; the caller gets a fresh array. ``scored_from``: only the signal from that bar on
    will be read (``compose.targets``), so the fits whose whole block of predictions ends before it
    are skipped (their bars left 0; ~12% of an evolution's fits at 4 anchored folds); the signal
    from ``scored_from`` on is the full one's, and a full signal cached earlier serves it too.
    """
    h, w, f, refit = params["horizon"], params["window"], params["feature_period"], params["refit"]
    start = first_fit_bar(f, h, w)
    begin, _ = scored_block_start(params, scored_from)
    digest = learned_cache.bars_digest(bars)
    signal_key = (digest, name, f, h, w, refit, model_params)
    raw = learned_cache.SIGNALS.get(signal_key)
    if raw is None and begin > start:
        signal_key = (*signal_key, begin)
        raw = learned_cache.SIGNALS.get(signal_key)
    if raw is None:
        from gaorg.strategies.learned_features import finite_rows

        count = columns.stop or N_FEATURES
        x = learned_cache.cached_features(digest, bars, f, count, _features_f)[:, columns]
        finite_x = learned_cache.cached_series(
            digest, ("finite", f, columns.start, columns.stop), bars, lambda _: finite_rows(x)
        )
        fwd = forward_returns(bars, h, learned_cache.cached_series(digest, "bases", bars, series_bases)[1])
        fit_key = (digest, name, f, h, w, model_params)
        raw = walk_forward_models(x, fwd, h, w, refit, begin, fit, apply, fit_key, blocks, finite_x)
        raw.flags.writeable = False
        learned_cache.SIGNALS.put(signal_key, raw)
    return raw.copy() if params["direction"] == "both" else np.maximum(raw, 0.0)
