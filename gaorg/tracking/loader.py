"""The safe loader of the live path: the genome of ``NAME@alias``, and nothing else.

It resolves the alias in the registry, downloads exactly one file of that version,
``artifacts/genome.json`` (at most 1 MB), and validates it with ``parse_genome``: an unknown
module, a value out of bounds or an extra field is refused with a GenomeError naming the
version. It never loads the pyfunc model, never unpickles and never imports anything the
registry holds. The genome's hash must equal the version's ``genome_hash`` tag, and that tag must
be a hash the source run recorded in its (unchangeable) params: editing genome.json, or the tag
too, is refused.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gaorg.config import Settings
from gaorg.errors import GenomeError, NotFoundError
from gaorg.strategies.genome import Genome, parse_genome
from gaorg.tracking.registry import PRODUCTION, VersionInfo, get_version, run_record, version_by_alias
from gaorg.tracking.store import make_client, tracking_errors

GENOME_PATH = "artifacts/genome.json"
"""Where ``genome.json`` sits inside a registered version's model directory."""
MAX_BYTES = 1_000_000


def load_production_genome(name: str, alias: str = PRODUCTION,
                           settings: Settings | None = None) -> tuple[Genome, VersionInfo]:
    """The validated genome of ``NAME@alias`` and the version it came from.

    NotFoundError when the model or alias does not exist; GenomeError when genome.json is missing,
    too large, invalid or does not match the recorded hash; TrackingError when the store fails.
    """
    settings = settings or Settings.from_env()
    client = make_client(settings)
    info = version_by_alias(client, settings, name, alias)
    if info is None:
        raise NotFoundError(
            f"model {name!r} has no alias {alias!r}; promote a version first "
            f"(`gaorg promote {name} VERSION`) or set the alias in the MLflow UI"
        )
    return read_genome(client, settings, info), info


def load_version_genome(name: str, version: str | int, settings: Settings | None = None) -> tuple[Genome, VersionInfo]:
    """The validated genome of version ``version`` of ``name`` (promotion re-scores with it)."""
    settings = settings or Settings.from_env()
    client = make_client(settings)
    info = get_version(client, settings, name, version)
    return read_genome(client, settings, info), info


def read_genome(client, settings: Settings, info: VersionInfo) -> Genome:  # noqa: ANN001 - MlflowClient
    """Download and validate ``genome.json`` of ``info`` (one file, size-capped, JSON only)."""
    from mlflow.artifacts import download_artifacts

    where = f"{info.name} version {info.version}"
    with tracking_errors(settings, f"locating {where}"):
        location = client.get_model_version_download_uri(info.name, info.version)
    with tempfile.TemporaryDirectory(prefix="gaorg-genome-") as tmp:
        try:
            with tracking_errors(settings, f"downloading genome.json of {where}"):
                path = Path(download_artifacts(artifact_uri=f"{location.rstrip('/')}/{GENOME_PATH}",
                                               dst_path=tmp, tracking_uri=settings.tracking_uri))
        except NotFoundError:
            raise GenomeError(f"{where} has no {GENOME_PATH}; it was not registered by gaorg") from None
        if not path.is_file():
            raise GenomeError(f"{where}: {GENOME_PATH} is not a file")
        if path.stat().st_size > MAX_BYTES:
            raise GenomeError(f"{where}: {GENOME_PATH} is {path.stat().st_size} bytes; a genome is far smaller")
        try:
            text = path.read_text(encoding="utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise GenomeError(f"refusing the genome of {where}: {GENOME_PATH} is not UTF-8 text "
                              f"(byte {exc.start})") from None
    try:
        genome = parse_genome(text)
    except GenomeError as exc:
        raise GenomeError(f"refusing the genome of {where}: {exc}") from None
    recorded = info.genome_hash
    if not recorded:
        raise GenomeError(f"refusing the genome of {where}: the version records no genome_hash (gaorg tags "
                          "every version it registers), so genome.json cannot be checked")
    if genome.canonical_hash() != recorded:
        raise GenomeError(
            f"refusing the genome of {where}: its hash {genome.canonical_hash()} differs from the "
            f"{recorded} recorded at registration (genome.json was changed after registering)"
        )
    run_record(client, settings, info)  # the tag itself must be what the source run registered
    return genome
