"""The catalogue: every module a genome may use, by name. Immutable; built once at import.

Adding a family means adding its module to ``_FAMILIES``; nothing registers itself at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gaorg.strategies.families import (
    atr_stop,
    donchian_breakout,
    ema_crossover,
    funding_carry,
    ichimoku,
    linear_svc,
    pca_tree,
    rsi_filter,
    sma_trend,
    stochastic,
    vol_scaling,
    vwap_reversion,
)
from gaorg.strategies.spec import ModuleSpec, Role

_FAMILIES = (
    ema_crossover,
    donchian_breakout,
    rsi_filter,
    stochastic,
    sma_trend,
    atr_stop,
    ichimoku,
    vwap_reversion,
    vol_scaling,
    funding_carry,
    linear_svc,
    pca_tree,
)


def _build() -> Mapping[str, ModuleSpec]:
    specs: dict[str, ModuleSpec] = {}
    for family in _FAMILIES:
        for spec in getattr(family, "SPECS", (family.SPEC,)):
            if spec.name in specs:
                raise RuntimeError(f"two modules are named {spec.name!r}")
            specs[spec.name] = spec
    return MappingProxyType(specs)


CATALOGUE: Mapping[str, ModuleSpec] = _build()


def modules_for(role: Role, catalogue: Mapping[str, ModuleSpec] = CATALOGUE) -> tuple[str, ...]:
    """Names of the modules that play ``role``, sorted."""
    return tuple(sorted(name for name, spec in catalogue.items() if spec.role is role))
