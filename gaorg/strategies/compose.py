"""From a genome and bars to the engine's inputs: target positions, stop and take-profit distances.

One function, used by backtest, evolution and live alike, so a strategy means the same thing
everywhere. ``target[i]`` is decided with bars ``<= i`` and is the position wanted after bar i.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numba import njit

from gaorg.data.bars import Bars
from gaorg.errors import DataTooShortError
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.fused import filter_exit_hold
from gaorg.strategies.genome import Genome, Slot
from gaorg.strategies.memo import Memo
from gaorg.strategies.spec import ModuleSpec


@dataclass(frozen=True, eq=False)
class TargetPlan:
    """The engine's inputs: ``target`` in [-1, 1]; ``stop``/``take`` fractions of entry (NaN: none).

    Without exit modules ``stop`` and ``take`` are one read-only all-NaN array, shared across plans.
    """

    target: np.ndarray
    stop: np.ndarray
    take: np.ndarray


def targets(
    genome: Genome, bars: Bars, catalogue: Mapping[str, ModuleSpec] = CATALOGUE, memo: Memo | None = None,
    scored_from: int = 0,
) -> TargetPlan:  # fmt: skip
    """Compose the genome's modules over ``bars``; raises DataTooShortError if bars < lookback.

    ``scored_from``: the caller reads the targets from that bar on only (the engine's first
    bar of a fold reads ``target[start]`` first: evolution's folds). A learned entry then skips
    the fits whose predictions all fall before it (``ModuleSpec.learned``), unless the genome
    has a sizing module whose hold would read the signal back to where it last changed before the
    computed bars (``_hold_within``: then the whole signal is computed); the targets from
    ``scored_from`` on are the same bit for bit, earlier ones may differ.
    ``memo`` (a batch's, see :mod:`gaorg.strategies.memo`) shares the indicators inside the
    modules (by period) among the genomes composed over the same ``bars`` object; the plan is the
    same array for array, bit for bit, with or without it. Whole slot outputs are not kept: in a
    generation's batch they almost never repeat (0 of ~1,700 filter, exit and sizing outputs and
    ~2% of entries in bench_generation.py's), and keeping them costs memory that the indicators,
    ~25% of which repeat, put to better use.
    """
    n = len(bars)
    need = genome.lookback(catalogue)
    if n <= need:
        longest = max(genome.slots, key=lambda s: catalogue[s.module].lookback(s.as_dict())).module
        raise DataTooShortError(
            f"{bars.symbol} {bars.timeframe}: {n} bars, but the genome's longest period ({longest}) "
            f"needs more than {need}; load a longer range or use shorter periods"
        )

    def output(slot: Slot, role: str):
        return _OUTPUT[role](catalogue, bars, slot, memo)

    def filtered(signal: np.ndarray) -> np.ndarray:
        if not signal.flags.writeable:
            signal = signal.copy()
        for slot in genome.filters if tail is None else tail[0]:
            apply = catalogue[slot.module].apply
            if apply is not None:  # a fused pass (spec.py), no boolean arrays
                apply(bars, slot.as_dict(), signal, memo)
            else:
                allow_long, allow_short = output(slot, "filter")
                apply_filter(signal, allow_long, allow_short)
        return signal

    tail = None if memo is not None else _fusable_tail(genome, catalogue)
    # a learned entry skips the fits before the scored bars; with a sizing module only where its hold
    # (not fused into the tail) can be checked not to read the signal before them
    skip = (
        scored_from > 0 and catalogue[genome.entry.module].learned and (genome.sizing is None or tail is None)
    )
    if skip:
        signal = filtered(_entry(catalogue, bars, genome.entry, memo, scored_from))
        if genome.sizing is not None and not _hold_within(signal, genome.entry.as_dict(), scored_from):
            signal = filtered(output(genome.entry, "entry"))
    else:
        signal = filtered(output(genome.entry, "entry"))
    if tail is not None:  # the SMA filter, the ATR stop and the held scale in one pass
        stop, take = _fused_tail(bars, signal, *tail[1:])
        if not genome.exits:
            stop = take = _nans(n)
        return TargetPlan(signal, stop, take)
    if genome.exits:
        stop, take = None, None
        for slot in genome.exits:
            s, t = output(slot, "exit")
            stop = s if stop is None else np.fmin(stop, s)  # the tightest exit wins
            take = t if take is None else np.fmin(take, t)
    else:  # no exits: one shared read-only NaN array serves as both (an allocation saved per evaluation)
        stop = take = _nans(n)
    if genome.sizing is not None:
        hold = catalogue[genome.sizing.module].hold
        if hold is not None:  # a fused pass (spec.py): the scale computed where it is sampled
            signal = hold(bars, genome.sizing.as_dict(), signal, memo)
        else:
            signal = hold_unit_scale_from_entry(signal, output(genome.sizing, "sizing"))
    return TargetPlan(signal, stop, take)


Catalogue = Mapping[str, ModuleSpec]


def indicator_uses(genomes: Iterable[Genome], catalogue: Catalogue = CATALOGUE) -> list[tuple]:
    """The ``(kind, params)`` of every indicator ``genomes`` ask a memo for when each composes once
    over a series (repeats count): the plan of a batch's memo (``Memo.plan``)."""
    return [
        key
        for genome in genomes
        for slot in genome.slots
        if (declared := catalogue[slot.module].indicators) is not None
        for key in declared(slot.as_dict())
    ]


def _compute(catalogue: Catalogue, bars: Bars, slot: Slot, memo: Memo | None):
    """The slot's module output; a module that shares its indicators (``spec.indicators``) gets the memo."""
    spec = catalogue[slot.module]
    if memo is not None and spec.indicators is not None:
        return spec.compute(bars, slot.as_dict(), memo=memo)
    return spec.compute(bars, slot.as_dict())


def _entry(
    catalogue: Catalogue, bars: Bars, slot: Slot, memo: Memo | None, scored_from: int = 0
) -> np.ndarray:
    if scored_from:  # a learned entry (see targets)
        computed = catalogue[slot.module].compute(bars, slot.as_dict(), scored_from=scored_from)
    else:
        computed = _compute(catalogue, bars, slot, memo)
    signal = np.array(computed, dtype=np.float64, copy=None)
    if not signal.flags.writeable:
        signal = signal.copy()
    if not catalogue[slot.module].exact:
        clean_signal(signal)  # in place: a compute function returns a fresh array (spec.py)
    return signal


def _filter(catalogue: Catalogue, bars: Bars, slot: Slot, memo: Memo | None):
    allow_long, allow_short = _compute(catalogue, bars, slot, memo)
    return np.asarray(allow_long, dtype=np.bool_), np.asarray(allow_short, dtype=np.bool_)


def _exit(catalogue: Catalogue, bars: Bars, slot: Slot, memo: Memo | None):
    return tuple(np.asarray(a, dtype=np.float64) for a in _compute(catalogue, bars, slot, memo))


def _sizing(catalogue: Catalogue, bars: Bars, slot: Slot, memo: Memo | None) -> np.ndarray:
    return np.asarray(_compute(catalogue, bars, slot, memo), dtype=np.float64)  # cleaned where sampled


_OUTPUT = {"entry": _entry, "filter": _filter, "exit": _exit, "sizing": _sizing}


def _hold_within(signal: np.ndarray, params, scored_from: int) -> bool:
    """Whether a sizing hold reads the same from ``scored_from`` on whether or not the learned entry's
    fits before the scored bars were computed (``learned.scored_block_start``: the signal, filtered,
    is the full one's from that block on).

    The hold samples the scale where the signal last changed and multiplies the signal by it: from
    ``scored_from`` on it reads only the computed bars if the signal there is 0 (0 times any held
    scale; the next change lies after it) or changes within the computed block up to ``scored_from``.
    Otherwise (a non-zero run from the block's first bar) the change may lie before: the caller
    computes the whole signal."""
    from gaorg.strategies.learned import scored_block_start

    begin, skipped = scored_block_start(params, scored_from)
    if not skipped or signal[scored_from] == 0.0:
        return True
    return bool(np.any(signal[begin + 1 : scored_from + 1] != signal[begin:scored_from]))


def _fusable_tail(genome: Genome, catalogue: Catalogue):
    """``(other filters, sma slot, atr slot, vol slot)`` when at least two of the catalogue's own SMA
    filter (one of them), ATR stop (the only exit) and volatility scaling (the sizing) can run as
    one pass (``fused.filter_exit_hold``); None otherwise. Filters commute (each zeroes what it
    does not allow), so the other filters run first."""
    sma = atr = vol = None
    others = []
    for slot in genome.filters:
        if sma is None and catalogue[slot.module] is CATALOGUE["sma_trend"]:
            sma = slot
        else:
            others.append(slot)
    if genome.exits:
        if len(genome.exits) > 1 or catalogue[genome.exits[0].module] is not CATALOGUE["atr_stop"]:
            return None
        atr = genome.exits[0]
    if genome.sizing is not None:
        if catalogue[genome.sizing.module] is not CATALOGUE["vol_scaling"]:
            return None
        vol = genome.sizing
    if (sma is not None) + (atr is not None) + (vol is not None) < 2:
        return None
    return others, sma, atr, vol


def _fused_tail(bars: Bars, signal: np.ndarray, sma: Slot | None, atr: Slot | None, vol: Slot | None):
    """Run ``fused.filter_exit_hold`` for the slots of ``_fusable_tail`` (in place on ``signal``)."""
    f = sma.as_dict() if sma is not None else {"period": 0, "band": 0.0}
    a = atr.as_dict() if atr is not None else {"period": 0, "stop_mult": 0.0, "take_mult": 0.0}
    v = vol.as_dict() if vol is not None else {"period": 0, "target_vol": 0.0}
    return filter_exit_hold(
        signal, np.asarray(bars.close), np.asarray(bars.high), np.asarray(bars.low),
        int(f["period"]), 1.0 + f["band"], 1.0 - f["band"],
        int(a["period"]), float(a["stop_mult"]), float(a["take_mult"]),
        int(v["period"]), float(np.sqrt(bars.periods_per_year)), float(v["target_vol"]),
    )  # fmt: skip


_NANS: dict[int, np.ndarray] = {}


def _nans(n: int) -> np.ndarray:
    """A read-only all-NaN float64[n], shared by every plan of that length (a few lengths kept)."""
    arr = _NANS.get(n)
    if arr is None:
        if len(_NANS) >= 8:
            _NANS.clear()
        arr = np.full(n, np.nan)
        arr.flags.writeable = False
        _NANS[n] = arr
    return arr


@njit(cache=True, nogil=True)
def clean_signal(signal: np.ndarray) -> None:
    """NaN read as 0 and values clipped to [-1, 1], in place."""
    for i in range(len(signal)):
        v = signal[i]
        if np.isnan(v):
            signal[i] = 0.0
        elif v > 1.0:
            signal[i] = 1.0
        elif v < -1.0:
            signal[i] = -1.0


@njit(cache=True, nogil=True)
def apply_filter(signal: np.ndarray, allow_long: np.ndarray, allow_short: np.ndarray) -> None:
    """Zero (in place) the longs a filter does not allow, and the shorts."""
    for i in range(len(signal)):
        v = signal[i]
        if (v > 0.0 and not allow_long[i]) or (v < 0.0 and not allow_short[i]):
            signal[i] = 0.0


@njit(cache=True, nogil=True)
def hold_unit_scale_from_entry(signal: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Multiply the signal by ``clip(nan_to_num(scale), 0, 1)`` sampled when the signal last
    changed, held after; only the sampled values are cleaned (one pass instead of five over the
    scale; numpy's values, -0.0 included).

    Without the hold, a sizing module would change the target on every bar and the engine, which
    holds units until the target changes, would trade on every bar.
    """
    n = len(signal)
    out = np.zeros(n)
    held = 0.0
    for i in range(n):
        if i == 0 or signal[i] != signal[i - 1]:
            held = scale[i]
            if np.isnan(held) or held < 0.0:
                held = 0.0
            elif held > 1.0:
                held = 1.0
        out[i] = signal[i] * held
    return out
