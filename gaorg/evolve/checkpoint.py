"""Checkpoints: the whole loop state after every generation, written atomically, verified on read.

``$GAORG_HOME/checkpoints/RUN_ID/state.ckpt`` holds the config, the stage and generation reached,
the population, the RNG state, every trial so far (the archive), the per-generation figures and
a fingerprint of the market data. It is written to a temporary file, flushed to disk and renamed
over the old one, so a ``kill -9`` leaves either the previous or the new checkpoint, never half
of one. A header with a SHA-256 of the body catches corruption before the body is parsed.

The body is JSON read back field by field into the loop's own types: genomes through
``parse_genome`` (checked against the catalogue), numbers as numbers. Nothing in a checkpoint is
unpickled or executed, so a file planted in ``checkpoints/`` can at worst be refused. (Version 1
checkpoints were pickles; they are refused with a message, not read.) A field added since a
checkpoint was written is read as what the run did without it: a trial without ``rejected`` was
not rejected, a config without ``reject_below`` / ``initial_factor`` ran with neither, one without
``parsimony`` drew its counts uniformly, one without ``pipelined`` was generational
(:data:`BEFORE_FIELDS`), so a resumed old run goes on as it began.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gaorg.errors import CheckpointError
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.result import GenerationStats
from gaorg.evolve.timing import StageClock
from gaorg.evolve.types import Fitness, Individual, Trial

MAGIC = b"gaorg.checkpoint/2\n"
OLD_MAGIC = b"gaorg.checkpoint/1\n"
STATE_FILE = "state.ckpt"
BEFORE_FIELDS: dict[str, Any] = {"reject_below": None, "initial_factor": 1.0, "parsimony": 1.0, "pipelined": False}
"""Config fields a checkpoint may predate, with the value its run had without them (not today's default)."""


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
    clocks: list[StageClock] = field(default_factory=list)  # per stage: where the time went
    in_flight: list[Individual] = field(default_factory=list)  # pipelined: the half generation sent, not yet back
    done: bool = False


def save_state(directory: Path, state: LoopState) -> Path:
    """Write ``state`` atomically (temp file, fsync, rename) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    body = json.dumps(encode_state(state), separators=(",", ":")).encode()
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
    if head + b"\n" == OLD_MAGIC:
        raise CheckpointError(
            f"checkpoint {path} is in gaorg's old format (a pickle, which could run code when read); "
            "this gaorg does not read it: start a new run"
        )
    digest, _, body = rest.partition(b"\n")
    if head + b"\n" != MAGIC or hashlib.sha256(body).hexdigest().encode() != digest:
        raise CheckpointError(
            f"checkpoint {path} is corrupted (its checksum does not match); "
            "start a new run, or resume another run id"
        )
    try:
        return decode_state(json.loads(body))
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - a checksummed body that still does not decode
        raise CheckpointError(f"checkpoint {path} cannot be read by this gaorg: {exc}") from None


def encode_state(state: LoopState) -> dict[str, Any]:
    """The state as plain JSON data (what :func:`decode_state` reads back exactly)."""
    return {
        "run_id": state.run_id,
        "config": dataclasses.asdict(state.config),
        "stage": state.stage,
        "generation": state.generation,
        "population": [_individual(i) for i in state.population],
        "rng_state": None if state.rng_state is None else [state.rng_state[0], list(state.rng_state[1]),
                                                          state.rng_state[2]],
        "archives": [[_trial(t) for t in a.values()] for a in state.archives],
        "evaluations": list(state.evaluations),
        "history": [dataclasses.asdict(h) for h in state.history],
        "fingerprints": dict(state.fingerprints),
        "clocks": [c.to_dict() for c in state.clocks],
        "in_flight": [_individual(i) for i in state.in_flight],
        "done": state.done,
    }


def decode_state(data: dict[str, Any]) -> LoopState:
    """A :class:`LoopState` from :func:`encode_state`'s data; CheckpointError if anything is off."""
    from gaorg.config import parse_config

    if not isinstance(data, dict):
        raise CheckpointError("the checkpoint does not hold an evolution state")
    rng = data["rng_state"]
    state = LoopState(
        run_id=str(data["run_id"]),
        config=parse_config(EvolveConfig, {**BEFORE_FIELDS, **data["config"]}, "checkpoint config"),
        stage=int(data["stage"]),
        generation=int(data["generation"]),
        population=[_individual_of(d) for d in data["population"]],
        rng_state=None if rng is None else (int(rng[0]), tuple(int(x) for x in rng[1]),
                                            None if rng[2] is None else float(rng[2])),
        archives=[{t.key: t for t in (_trial_of(d) for d in a)} for a in data["archives"]],
        evaluations=[int(x) for x in data["evaluations"]],
        history=[GenerationStats(**h) for h in data["history"]],
        fingerprints={str(k): str(v) for k, v in data["fingerprints"].items()},
        clocks=[StageClock.from_dict(c) for c in data.get("clocks", [])],  # none before timing was kept
        in_flight=[_individual_of(d) for d in data.get("in_flight", [])],  # none before pipelining
        done=bool(data["done"]),
    )
    return state


def _individual(ind: Individual) -> dict[str, Any]:
    return {"genome": ind.genome.to_dict(), "fitness": None if ind.fitness is None else list(ind.fitness.values),
            "parents": list(ind.parents), "stage": ind.stage, "generation": ind.generation, "rank": ind.rank,
            "crowding": ind.crowding, "key": ind.key}


def _individual_of(d: dict[str, Any]) -> Individual:
    from gaorg.strategies.genome import parse_genome

    genome = parse_genome(d["genome"])
    if genome.canonical_hash() != d["key"]:
        raise CheckpointError(f"a genome of the checkpoint does not hash to its key {d['key']!r}")
    fitness = None if d["fitness"] is None else Fitness(tuple(float(v) for v in d["fitness"]))
    return Individual(genome, fitness, tuple(str(p) for p in d["parents"]), int(d["stage"]), int(d["generation"]),
                      int(d["rank"]), float(d["crowding"]), genome.canonical_hash())


def _trial(t: Trial) -> dict[str, Any]:
    cells = np.ascontiguousarray(t.cells, dtype="<f8")
    return {"key": t.key, "objectives": list(t.objectives), "shape": list(cells.shape),
            "cells": base64.b64encode(cells.tobytes()).decode(), "feasible": bool(t.feasible),
            "rejected": bool(t.rejected)}


def _trial_of(d: dict[str, Any]) -> Trial:
    rows, cols = (int(x) for x in d["shape"])
    cells = np.frombuffer(base64.b64decode(d["cells"]), dtype="<f8").reshape(rows, cols).astype(np.float64)
    return Trial(str(d["key"]), tuple(float(v) for v in d["objectives"]), cells, bool(d["feasible"]),
                 bool(d.get("rejected", False)))  # none before early rejection was kept

