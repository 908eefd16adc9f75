"""Where the runner learns which strategy is in force: ``NAME@alias`` in the MLflow registry.

:class:`RegistryReader` is the runner's interface (``resolve(name, alias) -> Resolved``). The default,
:class:`MlflowRegistryReader`, goes through ``gaorg.tracking.loader.load_production_genome`` (the safe
loader: only ``genome.json``, validated, never unpickled) and, while that loader is absent, reads
``genome.json`` of the aliased version itself, with the same rule. A genome file (``FileRegistry``)
serves paper runs of a local strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gaorg.config import Settings
from gaorg.errors import NotFoundError, TrackingError
from gaorg.strategies.genome import Genome, load_genome, parse_genome

GENOME_FILE = "genome.json"


@dataclass(frozen=True)
class Resolved:
    """The strategy an alias names: its genome and version."""

    name: str
    version: str
    genome: Genome


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
        self._client: Any = None

    def resolve(self, name: str, alias: str) -> Resolved:
        try:
            from gaorg.tracking.loader import load_production_genome
        except ImportError:
            return self._resolve_direct(name, alias)
        genome, info = load_production_genome(name, alias, self.settings)
        version = getattr(info, "version", None)
        if version is None and isinstance(info, dict):
            version = info.get("version")
        return Resolved(name, str(version), genome)

    def _resolve_direct(self, name: str, alias: str) -> Resolved:
        from mlflow import MlflowClient

        if self._client is None:
            self._client = MlflowClient(tracking_uri=self.settings.tracking_uri,
                                        registry_uri=self.settings.tracking_uri)
        try:
            mv = self._client.get_model_version_by_alias(name, alias)
        except Exception as exc:  # noqa: BLE001 - MLflow raises MlflowException or connection errors
            if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")) or "not found" in str(exc).lower():
                raise NotFoundError(f"no model version {name}@{alias} in the registry; promote one first "
                                    f"(gaorg promote {name} VERSION)") from None
            raise TrackingError(f"cannot read {name}@{alias} from the registry: {type(exc).__name__}") from None
        return Resolved(name, str(mv.version), parse_genome(_read_genome_json(mv.source)))


def _read_genome_json(source: str) -> str:
    """The text of genome.json under a version's artifact location (local or any MLflow store)."""
    from urllib.parse import urlparse

    parsed = urlparse(source)
    if parsed.scheme in ("", "file"):
        root = Path(parsed.path if parsed.scheme else source)
        for candidate in (root / "artifacts" / GENOME_FILE, root / GENOME_FILE):
            if candidate.is_file():
                return candidate.read_text()
        raise NotFoundError(f"the model version at {source} has no {GENOME_FILE}")
    import mlflow.artifacts

    for rel in (f"artifacts/{GENOME_FILE}", GENOME_FILE):
        try:
            return Path(mlflow.artifacts.download_artifacts(artifact_uri=f"{source.rstrip('/')}/{rel}")).read_text()
        except Exception:  # noqa: BLE001 - try the next layout
            continue
    raise NotFoundError(f"the model version at {source} has no {GENOME_FILE}")
