"""``ModuleSpec``: what a seed-family module declares, and what its compute function returns.

A module plays one role in a genome:

- ``entry``  -> ``signal``: float64[n] in [-1, 1] (sign is direction, 0 flat); NaN is read as 0.
- ``filter`` -> ``(allow_long, allow_short)``: two bool[n]; a signal against the filter is zeroed.
- ``exit``   -> ``(stop, take)``: two float64[n] of distances as fractions of the entry price
  (NaN where none), fixed at the entry bar by the engine.
- ``sizing`` -> ``scale``: float64[n] in [0, 1]; the composer holds it from the entry bar while the
  signal keeps its sign (units are held until the target changes, as the engine does).

A compute function returns fresh arrays (the composer may modify them in place). A module that
declares ``indicators`` also takes ``memo=`` (a batch's :class:`~gaorg.strategies.memo.Memo`, or
None) and computes those indicators through it, so the genomes of a batch share them.
Every output at bar i may depend only on bars ``<= i`` (tests/unit/test_lookahead.py proves it).
``lookback(params)`` is the number of bars before the first meaningful output.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gaorg.strategies.genes import Gene


class Role(StrEnum):
    ENTRY = "entry"
    FILTER = "filter"
    EXIT = "exit"
    SIZING = "sizing"


Params = Mapping[str, Any]


@dataclass(frozen=True)
class ModuleSpec:
    """A module of one of the 12 seed families: its name, role, genes and compute function."""

    name: str
    family: str
    role: Role
    genes: tuple[Gene, ...]
    compute: Callable[..., Any]  # (bars: Bars, params: Params) -> output of the role
    lookback: Callable[[Params], int]
    doc: str
    check: Callable[[Params], str | None] | None = None  # cross-gene rule: message or None
    # fits a model (only ever on bars before the one it predicts); compute also takes ``scored_from=``
    # (int): only the signal from that bar on is read, earlier bars may be left 0 (fits skipped)
    learned: bool = False
    exact: bool = False  # an entry whose signal is already in {-1, 0, 1}, never NaN: not cleaned again
    # the (kind, params) keys compute asks a batch's memo for; None: compute takes no ``memo=``
    indicators: Callable[[Params], tuple[tuple[Hashable, Hashable], ...]] | None = None
    # fused fast paths the composer takes instead of ``compute`` (the same plan bit for bit):
    # a filter's ``apply(bars, params, signal, memo)`` zeroes in place what it does not allow;
    # a sizing module's ``hold(bars, params, signal, memo)`` returns the held, scaled signal
    apply: Callable[..., None] | None = None
    hold: Callable[..., Any] | None = None

    def gene(self, name: str) -> Gene:
        for gene in self.genes:
            if gene.name == name:
                return gene
        raise KeyError(name)
