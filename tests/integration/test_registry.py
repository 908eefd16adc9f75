"""The safe loader against tampered versions, and a registry that fails or cannot be reached.

A real MLflow sqlite store in a temp dir; tampering edits the genome.json the store holds on disk.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from gaorg.config import Settings
from gaorg.errors import GenomeError, NotFoundError, TrackingError
from gaorg.strategies.genome import make_genome
from gaorg.tracking.fixtures import hand_made_result
from gaorg.tracking.loader import load_production_genome
from gaorg.tracking.log import evolution_callback, log_evolution
from gaorg.tracking.recorder import MlflowRecorder
from gaorg.tracking.registry import register_versions

NAME = "carry"


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    from gaorg.data.synth import synth_bars

    root = tmp_path_factory.mktemp("registry")
    settings = Settings(home=root / "home", tracking_uri=f"sqlite:///{root / 'home' / 'mlflow.db'}")
    data = {("BTC", "1h"): synth_bars("BTC", "1h", 800, seed=3)}
    gs = [make_genome(("donchian_breakout", {"period": p, "direction": "long"})) for p in (20, 40)]
    result = hand_made_result(data, gs)
    recorder = MlflowRecorder(settings)
    out = log_evolution(result, recorder, register=NAME, data=data)
    client = recorder.client
    client.set_registered_model_alias(NAME, "production", out["versions"][0]["version"])
    return settings, client, out, result, data, recorder


@pytest.fixture
def genome_file(registered):
    """The on-disk genome.json of NAME@production, restored after the test."""
    settings, client, out, *_ = registered
    uri = client.get_model_version_download_uri(NAME, out["versions"][0]["version"])
    path = Path(unquote(urlparse(uri).path)) / "artifacts" / "genome.json"
    original = path.read_text()
    yield path, json.loads(original)
    path.write_text(original)


def test_the_safe_loader_reads_the_genome_of_the_production_version(registered):
    settings, _, out, result, *_ = registered
    genome, info = load_production_genome(NAME, settings=settings)
    assert info.version == out["versions"][0]["version"] and "production" in info.aliases
    assert genome.canonical_hash() == out["versions"][0]["genome_hash"]


@pytest.mark.parametrize("tamper, message", [
    (lambda g: g["entry"].update(module="exec_shell"), "unknown module 'exec_shell'"),
    (lambda g: g["entry"]["params"].update(period=10**9), "period"),
    (lambda g: g.update(payload="__import__('os')"), "unexpected field 'payload'"),
    (lambda g: g["entry"]["params"].update(extra=1), "extra"),
])
def test_a_tampered_genome_is_refused_with_a_clear_error(registered, genome_file, tamper, message):
    settings, *_ = registered
    path, genome = genome_file
    tamper(genome)
    path.write_text(json.dumps(genome))
    with pytest.raises(GenomeError, match=message) as err:
        load_production_genome(NAME, settings=settings)
    assert f"refusing the genome of {NAME} version" in str(err.value)


def test_a_valid_genome_swapped_after_registration_is_refused_by_its_hash(registered, genome_file):
    settings, *_ = registered
    path, genome = genome_file
    genome["entry"]["params"]["period"] += 1
    path.write_text(json.dumps(genome))
    with pytest.raises(GenomeError, match="differs from the .* recorded at registration"):
        load_production_genome(NAME, settings=settings)


def test_the_loader_does_not_execute_the_model_code(registered, genome_file):
    """A booby-trapped model file in the version changes nothing: only genome.json is read."""
    settings, *_ = registered
    path, _ = genome_file
    trap = path.parents[1] / "model.py"
    original = trap.read_text() if trap.exists() else None
    trap.write_text("raise SystemExit('the registry code was executed')\n")
    try:
        genome, _ = load_production_genome(NAME, settings=settings)
    finally:
        trap.write_text(original) if original is not None else trap.unlink()
    assert genome.entry.module == "donchian_breakout"


def test_a_version_registered_by_hand_without_a_genome_is_refused(registered, tmp_path):
    settings, client, *_ , recorder = registered
    run = client.create_run(recorder.experiment_id)
    (tmp_path / "model.pkl").write_bytes(b"not a genome")  # e.g. a pickled model from elsewhere
    client.log_artifacts(run.info.run_id, str(tmp_path), "foreign")
    source = f"{run.info.artifact_uri}/foreign"
    mv = client.create_model_version(NAME, source=source, run_id=run.info.run_id)
    client.set_registered_model_alias(NAME, "foreign", mv.version)
    with pytest.raises(GenomeError, match="has no artifacts/genome.json"):
        load_production_genome(NAME, "foreign", settings)
    client.delete_model_version(NAME, mv.version)


def test_a_missing_alias_or_model_is_not_found(registered):
    settings, *_ = registered
    with pytest.raises(NotFoundError, match="no alias 'staging'"):
        load_production_genome(NAME, "staging", settings)
    with pytest.raises(NotFoundError, match="no registered model 'nothing'"):
        load_production_genome("nothing", settings=settings)


def test_a_version_that_is_not_a_number_is_bad_input_not_a_store_failure(registered):
    """`gaorg promote carry abc` was MLflow's refusal wrapped as a TrackingError (exit 1)."""
    from gaorg.errors import InputError
    from gaorg.tracking.registry import get_version

    settings, client, out, *_ = registered
    with pytest.raises(InputError, match="version 'abc' is not a version number") as refused:
        get_version(client, settings, NAME, "abc")
    assert not isinstance(refused.value, TrackingError) and refused.value.exit_code == 2
    with pytest.raises(InputError, match="is not a version number"):
        get_version(client, settings, NAME, "\u00b2")  # a digit to str.isdigit, not to int()
    assert get_version(client, settings, NAME, out["versions"][0]["version"]).version == out["versions"][0]["version"]
    assert get_version(client, settings, NAME, f" {out['versions'][0]['version']} ").version == out["versions"][0]["version"]


def test_a_registration_failing_midway_leaves_nothing_half_registered(registered, tmp_path):
    from gaorg.tracking.strategy_models import log_strategy_models

    settings, client, out, result, _, recorder = registered
    run = client.create_run(recorder.experiment_id)
    logged = log_strategy_models(client, settings, recorder.experiment_id, run.info.run_id,
                                 list(result.front), tmp_path)
    entries = [(logged[0], {"genome_hash": logged[0].genome_hash}),
               (logged[1], {"bad tag key!?": "the store refuses this tag"})]
    with pytest.raises(TrackingError, match="registering model 'halfway'"):
        register_versions(client, settings, "halfway", entries)
    assert client.search_registered_models("name = 'halfway'") == []
    before = len(client.search_model_versions(f"name = '{NAME}'"))
    with pytest.raises(TrackingError):
        register_versions(client, settings, NAME, entries)
    assert len(client.search_model_versions(f"name = '{NAME}'")) == before  # the existing model keeps its versions


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


UNREACHABLE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "3"}


def test_an_unreachable_registry_is_a_clear_tracking_error(registered, monkeypatch):
    _, _, _, result, data, _ = registered
    for key, value in UNREACHABLE_ENV.items():
        monkeypatch.setenv(key, value)
    settings = Settings(home=registered[0].home, tracking_uri=f"http://user:secret@127.0.0.1:{closed_port()}")
    with pytest.raises(TrackingError, match="cannot be reached") as err:
        evolution_callback(MlflowRecorder(settings))  # before any evolving is done
    assert "secret" not in str(err.value)
    with pytest.raises(TrackingError, match="cannot be reached"):
        log_evolution(result, MlflowRecorder(settings), register="offline", data=data)


def test_cli_exits_1_with_the_reason_when_the_registry_is_unreachable(registered, cli):
    settings, *_ = registered
    uri = f"http://127.0.0.1:{closed_port()}"
    res = cli("promote", NAME, "1", "--json", env={**UNREACHABLE_ENV, "MLFLOW_TRACKING_URI": uri,
                                                   "GAORG_HOME": str(settings.home)})
    assert res.code == 1
    assert "cannot be reached" in res.stderr and res.json["kind"] == "TrackingError"


@pytest.fixture
def hash_tag(registered):
    """The production version's genome_hash tag, restored after the test."""
    settings, client, out, *_ = registered
    version = out["versions"][0]["version"]
    original = out["versions"][0]["genome_hash"]
    yield client, version, original
    client.set_model_version_tag(NAME, version, "genome_hash", original)


@pytest.mark.parametrize("tag", ["", "(deleted)"])
def test_a_version_without_its_genome_hash_is_refused_not_trusted(registered, hash_tag, tag):
    settings, *_ = registered
    client, version, _ = hash_tag
    if tag == "(deleted)":
        client.delete_model_version_tag(NAME, version, "genome_hash")
    else:
        client.set_model_version_tag(NAME, version, "genome_hash", tag)
    with pytest.raises(GenomeError, match="records no genome_hash"):
        load_production_genome(NAME, settings=settings)


def test_an_edited_genome_with_its_tag_edited_to_match_is_refused_by_the_runs_record(
        registered, genome_file, hash_tag):
    from gaorg.strategies.genome import parse_genome

    settings, *_ = registered
    client, version, _ = hash_tag
    path, genome = genome_file
    genome["entry"]["params"]["period"] += 1
    path.write_text(json.dumps(genome))
    client.set_model_version_tag(NAME, version, "genome_hash", parse_genome(genome).canonical_hash())
    with pytest.raises(GenomeError, match="is not a genome its run .* registered"):
        load_production_genome(NAME, settings=settings)


def test_the_deflated_sharpe_gate_reads_the_runs_record_not_the_editable_tag(registered, tmp_path):
    from gaorg.errors import GateFailedError
    from gaorg.tracking.promote import Gates, promote

    settings, client, out, result, *_ = registered
    version = out["versions"][1]["version"]
    client.set_model_version_tag(NAME, version, "deflated_sharpe", "999")
    recorded = next(m.deflated_sharpe for m in result.front if m.genome_hash == out["versions"][1]["genome_hash"])
    with pytest.raises(GateFailedError) as err:
        promote(NAME, version, settings, Gates(min_deflated_sharpe=min(1.0, recorded + 0.001)), rescore=False)
    gate = next(g for g in err.value.decision.gates if g.name == "deflated Sharpe")
    assert gate.figure == pytest.approx(recorded) and not gate.passed
