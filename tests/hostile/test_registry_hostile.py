"""Hostile registries, checkpoints and tracking URIs: refused with a message, never a traceback.

One model of three versions is registered once for the module (a hand-made front on a seeded
market, logged through gaorg.tracking) and its store is copied aside; a test that tampers with it
starts from a fresh copy. The tampering is what someone with write access to the registry's tags
or the artifact folder can do (MLflow's own API, the files on disk); the gates must not be moved
by it, and a tag edited into junk is refused naming the version and the tag.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from gaorg.config import Settings
from gaorg.evolve.checkpoint import OLD_MAGIC, STATE_FILE
from gaorg.evolve.stats import deflated_sharpe_of
from gaorg.strategies.genome import make_genome, parse_genome
from tests.hostile.conftest import record

NAME = "hostile"
RUN_ID = "20260101-000000-abcdef"
LENIENT = ("--min-dsr", "0", "--min-holdout-dsr", "0", "--min-trades", "0", "--max-drawdown", "1",
           "--min-holdout-sharpe", "-1000", "--no-rescore", "--json")
"""Every gate waived but the one a case is about (each case puts that one back)."""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Three registered versions (run-recorded deflated Sharpe 0.5), the store saved as a pristine copy."""
    from gaorg.tracking.fixtures import hand_made_result, store_synthetic
    from gaorg.tracking.log import log_evolution
    from gaorg.tracking.recorder import MlflowRecorder

    root = tmp_path_factory.mktemp("registry-hostile")
    home = root / "home"
    settings = Settings(home=home, tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    data = store_synthetic(settings, ("BTC", "ETH"), "1h", 1200, seed=7)
    gs = [make_genome(("ema_crossover", {"fast": f, "slow": s, "direction": "both"}))
          for f, s in ((5, 40), (12, 60), (20, 120))]
    log_evolution(hand_made_result(data, gs, deflated_sharpe=0.5), MlflowRecorder(settings), register=NAME)
    shutil.copytree(home, root / "pristine")
    return settings, root / "pristine"


@pytest.fixture
def reg(built):
    """The registry as registered (restored from the pristine copy in place) and an MlflowClient on it."""
    from mlflow import MlflowClient

    settings, pristine = built
    home = settings.home
    for name in ("mlflow.db", "market.duckdb"):  # in place: pooled sqlite connections keep their file
        shutil.copyfile(pristine / name, home / name)
    shutil.rmtree(home / "mlartifacts")
    shutil.copytree(pristine / "mlartifacts", home / "mlartifacts")
    return settings, MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def stores(settings: Settings, db: bool = True) -> list[Path]:
    return [settings.artifacts, settings.market_db, *([settings.home / "mlflow.db"] if db else [])]


def env(settings: Settings) -> dict[str, str]:
    return {"GAORG_HOME": str(settings.home)}


def genome_path(client, version: str) -> Path:
    uri = client.get_model_version_download_uri(NAME, version)
    return Path(unquote(urlparse(uri).path)) / "artifacts" / "genome.json"


def edit_genome(client, version: str) -> dict:
    """Change a parameter of the version's genome.json on disk (a valid genome, a different one)."""
    path = genome_path(client, version)
    genome = json.loads(path.read_text())
    genome["entry"]["params"]["fast"] += 1
    path.write_text(json.dumps(genome))
    return genome


# --- registry: the genome check and the gates cannot be moved by tags or artifacts ---------------

def tamper(client, how: str) -> None:
    """Tamper with version 1: its genome_hash tag, its genome.json on disk, or both."""
    if how == "delete":
        client.delete_model_version_tag(NAME, "1", "genome_hash")
    if how == "blank":
        client.set_model_version_tag(NAME, "1", "genome_hash", "")
    if how in ("genome", "both"):
        genome = edit_genome(client, "1")
    if how == "both":
        client.set_model_version_tag(NAME, "1", "genome_hash", parse_genome(genome).canonical_hash())


TAMPERED = [("genome_hash tag deleted", "delete", "records no genome_hash"),
            ("genome_hash tag blank", "blank", "records no genome_hash"),
            ("genome.json edited", "genome", "differs from the"),
            ("genome.json and its genome_hash tag edited to match", "both", "is not a genome its run")]


@pytest.mark.parametrize("name, how, message", [TAMPERED[0], TAMPERED[3]])
def test_a_version_whose_genome_or_hash_was_tampered_with_is_not_promoted(hostile, reg, name, how, message):
    settings, client = reg
    tamper(client, how)
    res = hostile("registry", name, "promote", NAME, "1", *LENIENT, stores=stores(settings), env=env(settings))
    assert message in res.stderr and f"{NAME} version 1" in res.stderr
    assert client.get_registered_model(NAME).aliases == {}


@pytest.mark.parametrize("name, content, message", [
    ("registered genome.json not UTF-8", b"\xff\xfe{}", "not UTF-8"),
    ("registered genome.json nested 10,000 deep", ("[" * 10_000 + "]" * 10_000).encode(), "nested too deep"),
])
def test_a_registered_genome_file_that_cannot_be_read_is_refused_with_a_message(reg, name, content, message):
    """What the command line refuses in a --genome file is refused inside the registry too (exit 2)."""
    from gaorg.errors import InputError
    from gaorg.tracking.loader import load_production_genome
    from gaorg.tracking.promote import promote

    settings, client = reg
    genome_path(client, "1").write_bytes(content)
    with pytest.raises(InputError, match=message):
        promote(NAME, "1", settings)
    client.set_registered_model_alias(NAME, "production", "1")  # as if promoted before the edit
    with pytest.raises(InputError, match=message):
        load_production_genome(NAME, "production", settings)  # what gaorg live reads
    record("registry", f"{name} (in process)", refused=True)


@pytest.mark.parametrize("name, how, message", [TAMPERED[1], TAMPERED[2]])
def test_the_other_tamperings_are_refused_by_the_same_check_in_process(reg, name, how, message):
    """The same refusal as on the command line, without a process each (the battery stays fast)."""
    from gaorg.errors import GenomeError
    from gaorg.tracking.promote import promote

    settings, client = reg
    tamper(client, how)
    with pytest.raises(GenomeError, match=message):
        promote(NAME, "1", settings)
    record("registry", f"{name} (in process)", refused=True)
    assert client.get_registered_model(NAME).aliases == {}


def test_a_deflated_sharpe_tag_of_999_does_not_pass_the_gate(hostile, reg):
    settings, client = reg
    client.set_model_version_tag(NAME, "2", "deflated_sharpe", "999")
    res = hostile("registry", "deflated_sharpe tag 999", "promote", NAME, "2", *LENIENT, "--min-dsr", "0.95",
                  expect=1, stores=stores(settings, db=False), env=env(settings))  # the rejection is logged
    (gate,) = [g for g in res.json["gates"] if g["name"] == "deflated Sharpe"]
    assert gate["figure"] == pytest.approx(0.5) and not gate["passed"]
    assert [g["name"] for g in res.json["gates"] if not g["passed"]] == ["deflated Sharpe"]
    assert client.get_registered_model(NAME).aliases == {}


def test_a_holdout_candidates_tag_edited_to_1_does_not_change_the_hold_out_gate(hostile, reg):
    """The run registered 3: its record deflates for 3 whatever the tag says (a tag of 1 would pass)."""
    settings, client = reg
    best = max(("1", "2", "3"), key=lambda v: float(client.get_model_version(NAME, v).tags["holdout.sharpe"]))
    sums = json.loads(client.get_model_version(NAME, best).tags["holdout.sums"])
    one, three = deflated_sharpe_of(sums, 1), deflated_sharpe_of(sums, 3)
    assert one - three > 0.01, (one, three)  # the count matters to the verdict on this version
    client.set_model_version_tag(NAME, best, "holdout.candidates", "1")
    bar = (one + three) / 2
    res = hostile("registry", "holdout.candidates tag 1 (run registered 3)", "promote", NAME, best, *LENIENT,
                  "--min-holdout-dsr", f"{bar:.6f}", expect=1, stores=stores(settings, db=False),
                  env=env(settings))
    (gate,) = [g for g in res.json["gates"] if g["name"] == "hold-out deflated Sharpe"]
    assert gate["figure"] == pytest.approx(three) and not gate["passed"]
    assert "among 3 candidates (recorded by run" in gate["detail"]
    assert client.get_registered_model(NAME).aliases == {}


def test_a_rescore_series_tag_edited_into_junk_is_refused_naming_the_version_and_tag(hostile, reg):
    settings, client = reg
    client.set_model_version_tag(NAME, "3", "rescore.series", "[[not json")
    res = hostile("registry", "rescore.series not JSON", "promote", NAME, "3", stores=stores(settings),
                  env=env(settings))
    assert f"{NAME} version 3: its tag 'rescore.series' is not JSON" in res.stderr


JUNK = {
    "rescore.series": ['[["synthetic", "BTC", "1h"]]', "{}", "null", '"[]"', "[1, 2]", '[["synthetic", "BTC", "1h", "soon"]]',
                       '[["synthetic", "BTC", "1h", true]]', '[["synthetic", ["BTC"], "1h", 0]]',
                       '[["synthetic", "BTC", "1h", -5]]', "[" * 4000 + "]" * 4000],
    "rescore.costs": ["{{", "[0.1]", '{"fee": "free"}', '{"fee": -1}', '{"slippage": 5}'],
}


def test_every_junk_rescore_tag_is_refused_in_promotion_re_scoring_and_the_comparison(reg):
    """In process (a command line each would be slow): the gates' re-scoring and the notebook's
    comparison both refuse each value with a TagError naming the version and the tag."""
    from gaorg.research.compare import holdout_runs, load_candidates
    from gaorg.tracking.loader import read_genome
    from gaorg.tracking.registry import TagError, get_version
    from gaorg.tracking.rescore import holdout_figures

    settings, client = reg
    (candidate,) = load_candidates(settings, NAME, (3,))
    genome = read_genome(client, settings, candidate.info)
    for tag, values in JUNK.items():
        for value in values:
            client.set_model_version_tag(NAME, "3", tag, value)
            info = get_version(client, settings, NAME, "3")
            for where in ("promotion", "comparison"):
                case = f"{where}: {tag} = {value[:30]}"
                try:
                    if where == "promotion":
                        holdout_figures(genome, info, info, settings, candidates=3)
                    else:
                        holdout_runs(settings, [type(candidate)(info, candidate.genome)])
                except TagError as exc:
                    record("registry", case, refused=True)
                    assert f"{NAME} version 3: its tag {tag!r}" in str(exc), case
                except Exception:
                    record("registry", case, refused=False, crashed=True)
                    raise
                else:
                    record("registry", case, refused=False)
                    pytest.fail(f"{case}: accepted")
        client.set_model_version_tag(NAME, "3", tag, candidate.info.tags[tag])


@pytest.mark.parametrize("name, edit", [
    ("rescore.costs edited to zero fees", {"rescore.costs": '{"fee": 0.0, "slippage": 0.0}'}),
    ("rescore.series edited to a later hold-out start", "later"),
    ("rescore.series deleted and holdout.sharpe set to 99", {"rescore.series": None, "holdout.sharpe": "99"}),
])
def test_rescore_tags_edited_to_other_valid_values_do_not_move_the_gates(reg, name, edit):
    """The series, hold-out starts and costs re-scored on are the run's record; the tags are not read."""
    from gaorg.tracking.loader import read_genome
    from gaorg.tracking.registry import get_version
    from gaorg.tracking.rescore import holdout_figures

    settings, client = reg
    info = get_version(client, settings, NAME, "3")
    genome = read_genome(client, settings, info)
    before, how = holdout_figures(genome, info, info, settings, candidates=3)
    if edit == "later":
        series = json.loads(info.tags["rescore.series"])
        edit = {"rescore.series": json.dumps([[*s[:3], s[3] + 200 * 3_600_000] for s in series])}
    for tag, value in edit.items():
        if value is None:
            client.delete_model_version_tag(NAME, "3", tag)
        else:
            client.set_model_version_tag(NAME, "3", tag, value)
    info = get_version(client, settings, NAME, "3")
    after, how_after = holdout_figures(genome, info, info, settings, candidates=3)
    moved = after != before
    record("registry", name, refused=not moved)
    assert not moved and how_after == how and "series and costs recorded by run" in how


def test_a_run_recorded_before_the_count_and_the_rescore_record_is_read_as_it_was(reg):
    """Old stores stay readable: a record without holdout_candidates had one entry per candidate, and
    a run without gaorg.rescore is re-scored on its versions' tags (checked for shape)."""
    from gaorg.tracking.registry import REGISTERED_PARAM, get_version, run_record
    from gaorg.tracking.rescore import rescore_basis, series_of

    settings, client = reg
    info = get_version(client, settings, NAME, "1")
    params = client.get_run(info.run_id).data.params
    entries = json.loads(params[REGISTERED_PARAM])
    assert {e["holdout_candidates"] for e in entries.values()} == {3}  # what registration writes now
    run = client.create_run(client.get_experiment_by_name("gaorg").experiment_id)
    old = {h: {"deflated_sharpe": e["deflated_sharpe"]} for h, e in list(entries.items())[:2]}
    client.log_param(run.info.run_id, REGISTERED_PARAM, json.dumps(old))
    moved = type(info)(**{**info.__dict__, "run_id": run.info.run_id,
                          "tags": {**info.tags, "genome_hash": next(iter(old))}})
    assert run_record(client, settings, moved)["holdout_candidates"] == 2
    series, _, source = rescore_basis(moved, settings)
    assert series == series_of(info) and "from the version's tags" in source


# --- checkpoints: a planted file is refused unread ------------------------------------------------

class _Planted:
    """Unpickling this would create a marker file: what a crafted checkpoint could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def plant(folder: Path, marker: Path, magic: bytes) -> None:
    body = pickle.dumps(_Planted(marker))
    folder.mkdir(parents=True)
    (folder / STATE_FILE).write_bytes(magic + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)


@pytest.mark.parametrize("name, magic, message", [
    ("pickled checkpoint (old format)", OLD_MAGIC, "old format"),
    ("pickle under the new format's header", b"gaorg.checkpoint/2\n", "cannot be read"),
])
def test_a_pickled_checkpoint_is_refused_and_never_unpickled(hostile, gaorg_home, tmp_path, name, magic, message):
    marker = tmp_path / "ran"
    plant(gaorg_home / "checkpoints" / RUN_ID, marker, magic)
    res = hostile("checkpoints", name, "evolve", "--resume", RUN_ID, "--no-progress",
                  stores=[gaorg_home])
    assert message in res.stderr and not marker.exists()


def test_resume_from_a_path_is_refused_before_anything_is_opened(hostile, gaorg_home, tmp_path):
    marker = tmp_path / "ran"
    plant(tmp_path / "x", marker, OLD_MAGIC)  # where checkpoints/../../x leads from GAORG_HOME
    res = hostile("checkpoints", "--resume ../../x", "evolve", "--resume", "../../x", "--no-progress",
                  stores=[gaorg_home, tmp_path / "x"])
    assert "not a run id" in res.stderr and not marker.exists()


# --- tracking URIs: a driver that is missing, a server that is down, credentials never shown ----

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("name, uri, message", [
    ("postgresql without its driver", "postgresql://ops:hunter2pw@127.0.0.1/mlflow", "'psycopg'"),
    ("mysql without its driver", "mysql://ops:hunter2pw@127.0.0.1/mlflow", "mysqlclient"),
    ("a scheme MLflow has no store for", "nosuch://ops:hunter2pw@127.0.0.1/mlflow", "cannot be used"),
    ("a port out of range", "http://ops:hunter2pw@127.0.0.1:99999", "no valid port"),
])
def test_a_tracking_uri_that_cannot_work_is_refused_without_its_password(hostile, gaorg_home, name, uri, message):
    res = hostile("tracking-uri", name, "models", "--json", env={"MLFLOW_TRACKING_URI": uri},
                  stores=[gaorg_home])
    assert message in res.stderr and "MLFLOW_TRACKING_URI" in res.stderr
    assert "hunter2pw" not in res.stderr + res.stdout and "***@127.0.0.1" in res.stderr
    assert res.json["kind"] == "ConfigError"


def test_an_unreachable_tracking_server_is_reported_within_seconds(hostile, gaorg_home):
    """Exit 1: the input is well formed, the environment failed (MLflow alone retried for 4 minutes)."""
    uri = f"http://ops:hunter2pw@127.0.0.1:{closed_port()}"
    started = time.monotonic()
    res = hostile("tracking-uri", "an unreachable tracking server", "models", "--json", expect=1,
                  env={"MLFLOW_TRACKING_URI": uri}, stores=[gaorg_home], timeout=60)
    assert time.monotonic() - started < 10
    assert "cannot be reached" in res.stderr and "connection refused" in res.stderr
    assert "hunter2pw" not in res.stderr + res.stdout and res.json["kind"] == "TrackingError"


def test_a_database_that_is_down_is_reported_before_mlflow_retries_it():
    """With its driver installed (not here: the check is called past it), MLflow would retry the
    engine for minutes; the probe answers at once, exit 1, without the password."""
    from gaorg.errors import TrackingError
    from gaorg.tracking.uri import probe

    started = time.monotonic()
    with pytest.raises(TrackingError, match="database at postgresql://\\*\\*\\*@127.0.0.1:.* cannot be reached") as err:
        probe(f"postgresql://ops:hunter2pw@127.0.0.1:{closed_port()}/mlflow")
    assert time.monotonic() - started < 10 and "hunter2pw" not in str(err.value)
    record("tracking-uri", "a database that is down (in process)", refused=True, code=1)


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_a_ui_port_out_of_range_is_refused(hostile, gaorg_home, port):
    res = hostile("tracking-uri", f"ui --port {port}", "ui", "--port", port, stores=[gaorg_home], timeout=60)
    assert f"--port {port}" in res.stderr and "65535" in res.stderr
