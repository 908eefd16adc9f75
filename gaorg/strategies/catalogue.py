"""The catalogue: every module a genome may use, by name. Immutable; built once at import.

Adding a family means adding its module to ``_FAMILIES``; nothing registers itself at run time.
``describe()`` (plain data) and ``format_catalogue()`` (text) list every module with its genes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

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
from gaorg.strategies.genes import ChoiceGene, Gene, IntGene
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


def gene_info(gene: Gene) -> dict[str, Any]:
    """One gene as plain data: name, type, bounds or choices, whether it is a period, its doc."""
    if isinstance(gene, ChoiceGene):
        return {"name": gene.name, "type": "choice", "choices": list(gene.choices), "doc": gene.doc}
    kind = "int" if isinstance(gene, IntGene) else "float"
    info = {"name": gene.name, "type": kind, "low": gene.low, "high": gene.high, "doc": gene.doc}
    info["period"] = bool(getattr(gene, "period", False))
    return info


def describe(catalogue: Mapping[str, ModuleSpec] = CATALOGUE) -> list[dict[str, Any]]:
    """The catalogue as plain data, one row per module in role order (for widgets and docs)."""
    order = {role: k for k, role in enumerate(Role)}
    specs = sorted(catalogue.values(), key=lambda s: (order[s.role], s.name))
    return [
        {
            "module": s.name,
            "family": s.family,
            "role": s.role.value,
            "learned": s.learned,
            "doc": s.doc,
            "genes": [gene_info(g) for g in s.genes],
        }
        for s in specs
    ]


def format_catalogue(catalogue: Mapping[str, ModuleSpec] = CATALOGUE) -> str:
    """A human-readable listing: each module with its family, role and genes (bounds and docs)."""
    lines: list[str] = []
    for row in describe(catalogue):
        learned = ", learned" if row["learned"] else ""
        lines.append(f"{row['module']}  [{row['role']}{learned}]  {row['doc']}")
        for g in row["genes"]:
            if g["type"] == "choice":
                domain = " | ".join(g["choices"])
            else:
                domain = f"{g['type']} in [{g['low']}, {g['high']}]" + (", bars (rescaled)" if g.get("period") else "")
            lines.append(f"    {g['name']:<16} {domain:<40} {g['doc']}")
    return "\n".join(lines)
