"""Where the runner learns which strategy is in force: ``NAME@alias`` in the MLflow registry.

:class:`RegistryReader` is the runner's interface (``resolve(name, alias) -> Resolved``). The default,
:class:`MlflowRegistryReader`, goes through ``gaorg.tracking.loader.load_production_genome`` and
nothing else (the one loader: only ``genome.json``, at most 1 MB, validated, its hash required to be
one the source run recorded, never unpickled). A genome file (``FileRegistry``) serves paper runs of
a local strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gaorg.config import Settings
from gaorg.strategies.genome import Genome, load_genome


@dataclass(frozen=True)
class Resolved:
    """The strategy an alias names: its genome and version."""

    name: str
    version: str
    genome: Genome
    info: Any = None  # the registry's VersionInfo (None for a genome file): where its hold-out starts


class RegistryReader(Protocol):
    def resolve(self, name: str, alias: str) -> Resolved: ...


class FileRegistry:
    """A genome file standing in for a registry (version ``file:<hash>``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def resolve(self, name: str, alias: str) -> Resolved:
        genome = load_genome(self.path)
        return Resolved(name or self.path.stem, f"file:{genome.canonical_hash()[:12]}", genome)


class MlflowRegistryReader:
    """``NAME@alias`` from the MLflow registry of ``settings`` (read-only; genome.json only)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def resolve(self, name: str, alias: str) -> Resolved:
        from gaorg.tracking.loader import load_production_genome

        genome, info = load_production_genome(name, alias, self.settings)
        version = getattr(info, "version", None)
        if version is None and isinstance(info, dict):
            version = info.get("version")
        return Resolved(name, str(version), genome, info)
