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


class _Planted:
    """Unpickling this would create a marker file: what a crafted checkpoint could do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickled_checkpoint_is_refused_and_never_unpickled(tmp_path):
    import hashlib
    import pickle

    marker = tmp_path / "ran"
    body = pickle.dumps(_Planted(marker))
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / STATE_FILE).write_bytes(b"gaorg.checkpoint/1\n" + hashlib.sha256(body).hexdigest().encode()
                                               + b"\n" + body)
    with pytest.raises(CheckpointError, match="old format"):
        load_state(tmp_path / "r1")
    assert not marker.exists()


def test_the_checkpoint_is_json_and_round_trips_archives_history_and_infinite_crowding(tmp_path):
    import dataclasses
    import json

    import numpy as np

    from gaorg.evolve.result import GenerationStats
    from gaorg.evolve.types import Trial

    state = a_state()
    cells = np.random.default_rng(0).normal(size=(6, 9))
    cells[0, 0] = np.nan
    state.archives = [{"k1": Trial("k1", (1.0, 0.2, 0.5), cells), "k2": Trial("k2", (-10.0, 1.0, 0.0),
                                                                               np.zeros((6, 9)), False)}]
    state.population = [dataclasses.replace(state.population[0], crowding=float("inf"), rank=2)]
    state.history = [GenerationStats(0, "1h", 0, 0, {"sharpe": 1.0}, {"sharpe": 0.5}, 2.5, 12, 12, 3)]
    path = save_state(tmp_path / "r1", state)
    body = path.read_bytes().split(b"\n", 2)[2]
    assert json.loads(body)["run_id"] == "r1"  # plain JSON, no pickle
    back = load_state(tmp_path / "r1")
    assert back.population == state.population and back.population[0].crowding == float("inf")
    assert np.array_equal(back.archives[0]["k1"].cells, cells, equal_nan=True)
    assert back.archives[0]["k2"].feasible is False and back.history == state.history
    assert back.config == state.config and back.evaluations == [12]


def test_a_checkpoint_whose_genome_is_not_valid_is_refused(tmp_path):
    import hashlib
    import json

    path = save_state(tmp_path / "r1", a_state())
    data = json.loads(path.read_bytes().split(b"\n", 2)[2])
    data["population"][0]["genome"]["entry"]["module"] = "os.system"
    body = json.dumps(data).encode()
    path.write_bytes(b"gaorg.checkpoint/2\n" + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_state(tmp_path / "r1")


def test_a_rejected_trial_stays_rejected_and_an_older_checkpoint_reads_as_the_run_it_was(tmp_path):
    """Early rejection is kept through a checkpoint; a checkpoint written before it existed has
    no flag (its trials were not rejected) and no search options (its run had neither)."""
    import hashlib
    import json

    import numpy as np

    from gaorg.evolve.types import WORST, Trial

    state = a_state()
    state.config = EvolveConfig(symbols=("A", "B"), reject_below=0.5, initial_factor=1.5, parsimony=0.5)
    state.archives = [{"ok": Trial("ok", (1.0, 0.2, 0.5), np.ones((4, 9))),
                       "out": Trial("out", WORST, np.zeros((4, 9)), feasible=False, rejected=True),
                       "dead": Trial("dead", WORST, np.zeros((4, 9)), feasible=False)}]
    path = save_state(tmp_path / "r1", state)
    back = load_state(tmp_path / "r1")
    assert {k: (t.feasible, t.rejected) for k, t in back.archives[0].items()} == {
        "ok": (True, False), "out": (False, True), "dead": (False, False)}
    assert (back.config.reject_below, back.config.initial_factor, back.config.parsimony) == (0.5, 1.5, 0.5)

    data = json.loads(path.read_bytes().split(b"\n", 2)[2])  # as gaorg wrote it before these fields
    for trial in data["archives"][0]:
        del trial["rejected"]
    del data["config"]["reject_below"], data["config"]["initial_factor"], data["config"]["parsimony"]
    body = json.dumps(data).encode()
    path.write_bytes(b"gaorg.checkpoint/2\n" + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    old = load_state(tmp_path / "r1")
    assert not any(t.rejected for t in old.archives[0].values())
    assert [t.feasible for t in old.archives[0].values()] == [True, False, False]
    assert (old.config.reject_below, old.config.initial_factor) == (None, 1.0)  # not today's 0 and 2
    assert old.config.parsimony == 1.0  # uniform counts, as the run drew them; not today's 0.5
