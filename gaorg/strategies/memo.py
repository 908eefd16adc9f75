"""A batch's shared indicators: each distinct (series, indicator, params) computed once.

Evolution evaluates batches of genomes on one market, and they share some of their work: the
same indicator periods (a mutated threshold keeps its period; short periods recur), the same
series for every fold. A :class:`Memo` is made by whoever evaluates a batch
(``gaorg.evolve.fitness.evaluate_batch``), handed to :func:`gaorg.strategies.compose.targets`
and dropped with the batch: no global state, nothing carried from one market or stage to the
next. Keys are ``(series, kind, params)``:

- the series is the ``Bars`` object itself (its identity: the memo holds a reference, so the id
  is never reused while it lives); a batch composes every genome over the same objects;
- ``kind`` names the indicator (``"rsi"``, ``"atr_rel"``, ``"realised_vol"``...);
- ``params`` is everything else it depends on (a period, hashable).

The modules that share declare the keys they ask for (``ModuleSpec.indicators``), so a batch
knows before it starts how often each is needed (:meth:`Memo.plan`): an indicator needed once is
computed and not kept, a shared one is kept until its last use and then dropped. Keeping every
array costs more than it saves (fresh memory is paid in page faults: measured, a 256-genome
generation without a plan ran ~10% slower than with no memo at all). Values are stored read-only
and a hit returns exactly the array a miss computed, so a memo never changes a result
(tests/unit/test_batch_parity.py holds the batch path to ``gaorg backtest`` bit for bit). A
least-recently-used bound in bytes caps what is kept: past it an entry is recomputed, never wrong.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np

from gaorg.data.bars import Bars

MB = 1 << 20
DEFAULT_BYTES = 128 * MB
"""A batch's bound: ~160 arrays of 100,000 bars, ~1,000 of 16,000."""


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
    """Indicators of one batch, keyed by (series, kind, params); planned uses, an LRU byte bound."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._series: dict[int, tuple[int, Bars]] = {}
        self._tokens = 0
        self._plan: Counter | None = None
        self._left: dict[Hashable, int] = {}

    def plan(self, keys: Iterable[tuple[Hashable, Hashable]]) -> Memo:
        """Declare the batch's uses: one ``(kind, params)`` per use on each series (repeats count).

        From then on an indicator used once per series is not kept, and a shared one is dropped
        after its last use. Without a plan every value is kept (within the bound).
        """
        self._plan = Counter(keys)
        return self

    def get(self, bars: Bars, kind: Hashable, params: Hashable, compute: Callable[[], Any]) -> Any:
        """The value under ``(bars, kind, params)``, from ``compute()`` on a miss; arrays read-only."""
        token = self._series.get(id(bars))
        if token is None:
            token = (self._tokens, bars)  # bars kept alive: its id stays unique
            self._tokens += 1
            self._series[id(bars)] = token
        key = (token[0], kind, params)
        left = None
        if self._plan is not None:
            left = self._left.get(key)
            if left is None:
                left = self._plan.get((kind, params), 0)
            if left <= 1 and key not in self._data:  # needed once (or unplanned): not kept
                self.misses += 1
                return _freeze(compute())
        item = self._data.get(key)
        if item is None:
            self.misses += 1
            value = _freeze(compute())
            self._put(key, value)
        else:
            self.hits += 1
            self._data.move_to_end(key)
            value = item[0]
        if left is not None:
            if left <= 1:
                self._drop(key)
                self._left.pop(key, None)
            else:
                self._left[key] = left - 1
        return value

    def _put(self, key: Hashable, value: Any) -> None:
        size = _value_bytes(value)
        if size > self.max_bytes:
            return
        self._data[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, evicted) = self._data.popitem(last=False)
            self.bytes -= evicted

    def _drop(self, key: Hashable) -> None:
        item = self._data.pop(key, None)
        if item is not None:
            self.bytes -= item[1]

    def forget(self, bars: Bars) -> None:
        """Drop every value of ``bars``: the batch is done with that series (planned uses a
        genome rejected early never spent would otherwise keep them to the batch's end)."""
        token = self._series.pop(id(bars), None)
        if token is None:
            return
        for key in [key for key in self._data if key[0] == token[0]]:
            self._drop(key)
            self._left.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


def shared(memo: Memo | None, bars: Bars, kind: Hashable, params: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()`` through ``memo`` if there is one (a batch), else computed here (one genome).

    With a memo the result is read-only: callers that modify an output copy it first.
    """
    if memo is None:
        return compute()
    return memo.get(bars, kind, params, compute)
