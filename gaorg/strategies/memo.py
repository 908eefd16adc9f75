"""A batch's shared indicators: each distinct (series, indicator, params) computed once.

Evolution evaluates batches of genomes on one market, and they share most of their work: the
same indicator periods, the same slots after crossover, the same series for every fold. A
:class:`Memo` is made by whoever evaluates a batch (``gaorg.evolve.fitness.evaluate_batch``),
handed to :func:`gaorg.strategies.compose.targets` and dropped with the batch: no global state,
nothing carried from one market or stage to the next. Keys are ``(series, kind, params)``:

- the series is the ``Bars`` object itself (its identity: the memo holds a reference, so the id
  is never reused while it lives); a batch composes every genome over the same objects;
- ``kind`` names the indicator (``"rsi"``, ``"atr_rel"``, ``"realised_vol"``...);
- ``params`` is everything else it depends on (a period, hashable).

The modules that share (``ModuleSpec.memo``) keep their indicators here, by period; their own
thresholds and multiples are applied per genome (cheap, and almost never repeated).

Values are stored read-only, and a hit returns exactly the array a miss computed, so a memo never
changes a result (tests/unit/test_batch_parity.py holds the batch path to ``gaorg backtest`` bit
for bit). The memo is a least-recently-used map bounded in bytes: past the bound an entry is
recomputed, never wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.learned_cache import MB, BoundedCache

DEFAULT_BYTES = 128 * MB
"""A batch's bound: ~160 arrays of 100,000 bars, ~1,000 of 16,000 (a 256-genome generation on 3
assets makes ~1,400 indicator arrays, ~25% of them repeats)."""


def _value_bytes(value: Any) -> int:
    if isinstance(value, tuple):
        return 64 + sum(_value_bytes(v) for v in value)
    return int(getattr(value, "nbytes", 0)) + 128


def _freeze(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray) and value.flags.writeable:
        value.flags.writeable = False
    return value


class Memo:
    """Indicators and module outputs of one batch, keyed by (series, kind, params); bounded LRU."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self._cache = BoundedCache(max_bytes, _value_bytes)
        self._series: dict[int, tuple[int, Bars]] = {}

    def get(self, bars: Bars, kind: Hashable, params: Hashable, compute: Callable[[], Any]) -> Any:
        """The value under ``(bars, kind, params)``, from ``compute()`` on a miss; arrays read-only."""
        token = self._series.get(id(bars))
        if token is None:
            token = (len(self._series), bars)  # bars kept alive: its id stays unique
            self._series[id(bars)] = token
        key = (token[0], kind, params)
        value = self._cache.get(key)
        if value is None:
            value = self._cache.put(key, _freeze(compute()))
        return value

    @property
    def hits(self) -> int:
        return self._cache.hits

    @property
    def misses(self) -> int:
        return self._cache.misses

    @property
    def bytes(self) -> int:
        return self._cache.bytes

    def __len__(self) -> int:
        return len(self._cache)


def shared(memo: Memo | None, bars: Bars, kind: Hashable, params: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()`` through ``memo`` if there is one (a batch), else computed here (one genome).

    With a memo the result is read-only: callers that modify an output copy it first.
    """
    if memo is None:
        return compute()
    return memo.get(bars, kind, params, compute)
