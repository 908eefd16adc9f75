"""Checkpoints: a round trip keeps the state; unknown or corrupted ones are clear errors."""

from __future__ import annotations

import random

import pytest

from gaorg.errors import CheckpointError
from gaorg.evolve.checkpoint import STATE_FILE, LoopState, load_state, save_state
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.types import Fitness, Individual
from gaorg.strategies.genome import make_genome


def a_state() -> LoopState:
    rng = random.Random(9)
    rng.random()
    genome = make_genome(("ema_crossover", {"fast": 5, "slow": 30, "direction": "both"}))
    return LoopState(
        run_id="r1", config=EvolveConfig(symbols=("A",)), stage=0, generation=3,
        population=[Individual(genome, Fitness((1.0, 0.2, 0.5)))], rng_state=rng.getstate(),
        archives=[{}], evaluations=[12],
    )


def test_round_trip_restores_population_and_rng(tmp_path):
    state = a_state()
    save_state(tmp_path / "r1", state)
    back = load_state(tmp_path / "r1")
    assert back.population == state.population and back.generation == 3
    r1, r2 = random.Random(), random.Random()
    r1.setstate(state.rng_state)
    r2.setstate(back.rng_state)
    assert [r1.random() for _ in range(5)] == [r2.random() for _ in range(5)]
    assert not (tmp_path / "r1" / (STATE_FILE + ".tmp")).exists()


def test_unknown_run_is_a_checkpoint_error_naming_known_runs(tmp_path):
    save_state(tmp_path / "known", a_state())
    with pytest.raises(CheckpointError, match=r"no checkpoint for run 'nope'.*known runs: known"):
        load_state(tmp_path / "nope")


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_corrupted_checkpoint_is_refused_before_unpickling(tmp_path, damage):
    path = save_state(tmp_path / "r1", a_state())
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-10] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw = bytearray(b"not a checkpoint at all")
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_state(tmp_path / "r1")
