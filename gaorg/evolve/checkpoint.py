"""Checkpoints: the whole loop state after every generation, written atomically, verified on read.

``$GAORG_HOME/checkpoints/RUN_ID/state.ckpt`` holds the config, the stage and generation reached,
the population, the RNG state, every trial so far (the archive), the per-generation figures and
a fingerprint of the market data. It is written to a temporary file, flushed to disk and renamed
over the old one, so a ``kill -9`` leaves either the previous or the new checkpoint, never half
of one. A header with a SHA-256 of the body catches corruption before anything is unpickled.

The file is this run's own state, written by this process; it is not an exchange format (genomes
leave a run as JSON files under ``front/``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaorg.errors import CheckpointError
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.result import GenerationStats
from gaorg.evolve.types import Individual, Trial

MAGIC = b"gaorg.checkpoint/1\n"
STATE_FILE = "state.ckpt"


@dataclass
class LoopState:
    """Everything needed to continue a run exactly where it stopped."""

    run_id: str
    config: EvolveConfig
    stage: int = 0
    generation: int = -1  # last completed generation of ``stage`` (-1: stage not started)
    population: list[Individual] = field(default_factory=list)
    rng_state: Any = None
    archives: list[dict[str, Trial]] = field(default_factory=list)  # one per stage: key -> Trial
    evaluations: list[int] = field(default_factory=list)  # per stage
    history: list[GenerationStats] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)  # stage timeframe -> data hash
    done: bool = False


def save_state(directory: Path, state: LoopState) -> Path:
    """Write ``state`` atomically (temp file, fsync, rename) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    body = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    path = directory / STATE_FILE
    tmp = directory / (STATE_FILE + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def load_state(directory: Path) -> LoopState:
    """Read a checkpoint; CheckpointError if it does not exist or is corrupted."""
    path = directory / STATE_FILE
    run_id = directory.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        known = sorted(p.name for p in directory.parent.glob("*") if (p / STATE_FILE).exists())
        hint = f"; known runs: {', '.join(known[-5:])}" if known else ""
        raise CheckpointError(
            f"no checkpoint for run {run_id!r} under {directory.parent}{hint}; "
            "pass a run id that `gaorg evolve` printed"
        ) from None
    head, _, rest = raw.partition(b"\n")
    digest, _, body = rest.partition(b"\n")
    if head + b"\n" != MAGIC or hashlib.sha256(body).hexdigest().encode() != digest:
        raise CheckpointError(
            f"checkpoint {path} is corrupted (its checksum does not match); "
            "start a new run, or resume another run id"
        )
    try:
        state = pickle.loads(body)
    except Exception as exc:  # a checksummed body that still does not load: another gaorg version
        raise CheckpointError(f"checkpoint {path} cannot be read by this gaorg: {exc}") from None
    if not isinstance(state, LoopState):
        raise CheckpointError(f"checkpoint {path} does not hold an evolution state")
    return state
