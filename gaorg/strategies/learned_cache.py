"""Per-process bounded caches for the learned entries: features, fitted models, whole signals.

Evaluation is pure and runs in Dask worker processes, so each process keeps its own caches and a
generation's learned genomes share work within a worker. Every key starts with a digest of the
bar content the learned modules read (close, high, low and the length), never an object's
identity: a ``Bars`` rebuilt with the same values hits, one changed value misses. A hit returns
exactly what a miss would have computed, so no cache can change a result (and the caches are
never pickled: module state, not part of a task). Each cache is an LRU bounded by bytes:

- features: ``(digest, period, columns) -> float64[n, columns]`` (6.4 MB at 100,000 bars and 8
  columns; the SVC needs 5), 64 MB;
- models: ``(digest, module, fit params, bar t) -> fitted model``, a few hundred bytes to a
  few KB each, 32 MB (~50,000 SVC or ~8,000 tree fits: a generation's worth);
- signals: ``(digest, module, params) -> float64[n]`` (0.8 MB at 100,000 bars), 64 MB.

160 MB a worker at most, a small share of a Dask worker's memory limit; an evicted entry is only
recomputed.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from gaorg.data.bars import Bars

MB = 1 << 20


class BoundedCache:
    """A least-recently-used map whose values' sizes (``nbytes(value)``) sum to at most ``max_bytes``."""

    def __init__(self, max_bytes: int, nbytes: Callable[[Any], int]) -> None:
        self.max_bytes = max_bytes
        self.nbytes = nbytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()  # a worker may run tasks in threads

    def get(self, key: Hashable) -> Any:
        """The value under ``key`` (now the most recent), or None."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self.hits += 1
            self._data.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any) -> Any:
        """Store ``value`` (evicting the least recent entries over the bound); returns it."""
        size = self.nbytes(value)
        if size > self.max_bytes:
            return value
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._data[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, evicted) = self._data.popitem(last=False)
                self.bytes -= evicted
        return value

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = self.hits = self.misses = 0


def _array_bytes(value: np.ndarray) -> int:
    return int(value.nbytes) + 128


def model_bytes(value: Any) -> int:
    """An estimate of a cached fit's memory: its arrays, a tree's nodes, a fixed overhead per object.

    Called once per fit, so written as a loop over a stack rather than a recursion of generators
    (~25 us -> ~5 us for a PCA + tree entry of a dozen arrays).
    """
    total, todo = 0, [value]
    while todo:
        v = todo.pop()
        if type(v) is tuple:
            total += 64
            todo.extend(v)
        elif isinstance(v, np.ndarray):
            total += 112 + v.nbytes
        elif isinstance(v, tuple):
            total += 64
            todo.extend(v)
        else:
            nodes = getattr(v, "node_count", None)  # a scikit-learn Tree: ~88 bytes a node with 3 classes
            total += 1024 + 88 * int(nodes) if nodes is not None else 64
    return total


FEATURES = BoundedCache(64 * MB, _array_bytes)
MODELS = BoundedCache(32 * MB, model_bytes)
SIGNALS = BoundedCache(64 * MB, _array_bytes)


_DIGESTS: weakref.WeakKeyDictionary[Bars, bytes] = weakref.WeakKeyDictionary()


def bars_digest(bars: Bars) -> bytes:
    """A 16-byte digest of what the learned modules read: length, close, high and low.

    Hashed once per ``Bars`` object and remembered while it lives (its arrays are read-only, see
    ``Bars``): a batch composes every genome over the same series objects, so the ~3-5 ms of
    hashing 100,000 bars is paid once per series instead of once per learned genome. A new object
    with the same content is hashed again and gets the same digest.
    """
    digest = _DIGESTS.get(bars)
    if digest is None:
        h = hashlib.blake2b(digest_size=16)
        h.update(len(bars).to_bytes(8, "little"))
        for arr in (bars.close, bars.high, bars.low):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).view(np.uint8))
        digest = _DIGESTS[bars] = h.digest()
    return digest


def cached_features(
    digest: bytes, bars: Bars, period: int, count: int, compute: Callable[[Bars, int, int], np.ndarray]
) -> np.ndarray:
    """The first ``count`` columns of ``compute(bars, period)``, computed once per (market, period).

    A cached array with more columns serves a narrower request; a read-only array shared by callers.
    """
    for have in dict.fromkeys((8, count)):
        x = FEATURES.get((digest, period, have))
        if x is not None:
            return x[:, :count]
    x = compute(bars, period, count)
    x.flags.writeable = False
    FEATURES.put((digest, period, count), x)
    return x


def cached_series(digest: bytes, name: str, bars: Bars, compute: Callable[[Bars], np.ndarray]) -> np.ndarray:
    """``compute(bars)`` once per market under ``name`` (in the features' cache), read-only."""
    x = FEATURES.get((digest, name))
    if x is None:
        x = compute(bars)
        x.flags.writeable = False
        FEATURES.put((digest, name), x)
    return x


def clear() -> None:
    """Empty every cache (tests and benchmarks start cold with it)."""
    for cache in (FEATURES, MODELS, SIGNALS):
        cache.clear()
    _DIGESTS.clear()


def stats() -> dict[str, dict[str, int]]:
    """Entries, bytes, hits and misses of each cache."""
    return {
        name: {"entries": len(c), "bytes": c.bytes, "hits": c.hits, "misses": c.misses}
        for name, c in (("features", FEATURES), ("models", MODELS), ("signals", SIGNALS))
    }
