"""`gaorg evolve` as a real process: run id first, --json front, genome files, kill -9 and resume,
and every bad input a clear error (exit 2, or 1 for an unreachable cluster) with nothing written.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from gaorg.backtest.metrics import METRIC_KEYS
from gaorg.cli import main
from gaorg.config import Settings
from gaorg.data.store import MarketStore
from gaorg.evolve.checkpoint import STATE_FILE
from gaorg.strategies.genome import load_genome
from gaorg.testing.markets import planted_ema_market

QUIET = ("--workers", "0", "--no-progress", "--json")
FAST = (*QUIET, "--modules", "ema_crossover,sma_trend")


def store_bars(home: Path, symbols=("A", "B"), timeframe: str = "1h", n: int = 2000) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with MarketStore(Settings.from_env({"GAORG_HOME": str(home)}).market_db) as store:
        for i, s in enumerate(symbols):
            b = planted_ema_market(s, n, edge=0.0015, seed=i, revert=0.005, timeframe=timeframe)
            store.write_bars("synthetic", s, timeframe, b.columns())


def run_id_of(stderr: str) -> str:
    first = stderr.splitlines()[0]
    assert first.startswith("run "), stderr
    return first.split()[1]


def test_evolve_names_its_run_first_and_prints_the_front_as_json(cli, gaorg_home):
    store_bars(gaorg_home)
    # two stages: 4h is not stored, so it is resampled from the stored 1h bars
    r = cli("evolve", "--symbols", "A,B", "--timeframes", "4h,1h", "--population", "8", "--generations", "2",
            "--folds", "2", "--seed", "1", *FAST)
    assert r.code == 0, r.stderr
    run_id = run_id_of(r.stderr)
    out = r.json
    assert out["run_id"] == run_id
    assert set(out["evaluations_per_stage"]) == {"0:4h", "1:1h"}
    assert out["evaluations"] == sum(out["evaluations_per_stage"].values()) > 8
    assert out["front"] and all(m["timeframe"] == "1h" for m in out["front"])
    assert 0.0 <= out["pbo"] <= 1.0
    # where the time went, per stage: sma_trend is a filter, so its time is its entry's, ema_crossover's
    assert [(s["timeframe"], s["evaluations"], [f["family"] for f in s["families"]])
            for s in out["timing"]["stages"]] == [(k.split(":")[1], v, ["ema_crossover"])
                                                  for k, v in out["evaluations_per_stage"].items()]
    for tf, warm in (("4h", r" after a [\d.]+ s warm-up"), ("1h", "")):  # one line a stage (stderr with --json)
        assert re.search(rf"^time {tf}: [\d,]+ evaluations in [\d.]+ s \([\d.,]+/s\){warm}; time by entry module "
                         r"\(evaluations/s\): ema_crossover 100% \([\d.,]+/s\)$", r.stderr, re.M), r.stderr
    front_dir = gaorg_home / "checkpoints" / run_id / "front"
    for member in out["front"]:
        assert set(member) >= {"genome_hash", "genome", "sharpe", "max_drawdown", "consistency",
                               "deflated_sharpe", "holdout"}
        assert set(member["holdout"]) == set(METRIC_KEYS)  # the keys of `gaorg backtest`
        saved = load_genome(front_dir / f"{member['genome_hash']}.json")
        assert saved.to_dict() == member["genome"]
    assert (gaorg_home / "checkpoints" / run_id / STATE_FILE).exists()


@pytest.mark.parametrize(
    ("stored", "args", "message"),
    [
        ({}, ("--symbols", "A,ZZZ", "--timeframes", "1h", *FAST), "ZZZ"),
        ({"n": 60}, ("--symbols", "A", "--timeframes", "1h", "--folds", "4", *FAST), "too short for 4 walk-forward folds"),
        ({"timeframe": "1d", "n": 400}, ("--symbols", "A", "--timeframes", "1h", *FAST), "can be resampled to 1h"),
        ({}, ("--symbols", "A", "--population", "0", *FAST), "population: 0 is too small"),
        ({}, ("--symbols", "A", "--generations", "0", *FAST), "generations: 0"),
        ({}, ("--resume", "no-such-run", *QUIET), "no checkpoint for run 'no-such-run'"),
        ({}, ("--resume", "no-such-run", "--symbols", "A", *QUIET), "with its own settings; drop --symbols"),
        ({}, ("--resume", "no-such-run", "--initial-factor", "2", *QUIET), "own settings; drop --initial-factor"),
        ({}, ("--symbols", "A", "--reject-below", "nan", *FAST), "--reject-below 'nan' is not a Sharpe ratio"),
        ({}, ("--symbols", "A", "--reject-below", "off", *FAST), "or none to score every genome on every asset"),
        ({}, ("--symbols", "A", "--initial-factor", "two", *FAST), "--initial-factor 'two' is not a number"),
        ({}, ("--symbols", "A", "--initial-factor", "0.5", *FAST), "initial_factor: 0.5 must be in [1, 10]"),
        ({}, ("--symbols", "A", "--parsimony", "half", *FAST), "--parsimony 'half' is not a number"),
        ({}, ("--symbols", "A", "--parsimony", "2", *FAST), "parsimony: 2.0 must be in (0, 1]"),
        ({}, ("--resume", "no-such-run", "--parsimony", "0.5", *QUIET), "own settings; drop --parsimony"),
        ({}, ("--resume", "no-such-run", "--pipelined", *QUIET), "own settings; drop --pipelined"),
        # MLflow refused these only when registering, after the whole run (exit 1)
        ({}, ("--symbols", "A", "--register", "trend/4h", *FAST), "cannot contain '/'; use letters, digits"),
        ({}, ("--symbols", "A", "--register", "", *FAST), "--register needs a model name"),
    ],
)
def test_bad_input_exits_2_with_a_fix_and_writes_nothing(gaorg_home, capsys, stored, args, message):
    # gaorg.cli.main in this process: the same parser and error policy as the console script,
    # without a process start per case (the real process is exercised by the tests around)
    store_bars(gaorg_home, symbols=("A",), timeframe=stored.get("timeframe", "1h"), n=stored.get("n", 800))
    code = main(["evolve", *args])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert message in err
    assert json.loads(out.splitlines()[-1])["exit_code"] == 2
    ckpts = gaorg_home / "checkpoints"
    assert not ckpts.exists() or not any(ckpts.glob(f"*/{STATE_FILE}"))
    assert not (gaorg_home / "mlflow.db").exists()  # no MLflow run was started


def test_search_options_are_recorded_with_the_run_and_kept_on_resume(gaorg_home, capsys):
    """--reject-below, --initial-factor, --parsimony and --pipelined reach the run: its --json config
    (what --register logs as MLflow params: the test below) and its checkpoint; --resume runs with
    the recorded values."""
    from gaorg.evolve.checkpoint import load_state

    store_bars(gaorg_home, n=800)
    code = main(["evolve", "--symbols", "A,B", "--timeframes", "1h", "--population", "4", "--generations", "1",
                 "--folds", "2", "--reject-below", "none", "--initial-factor", "1.5", "--parsimony", "1",
                 "--pipelined", *FAST])
    out, err = capsys.readouterr()
    assert code == 0, err
    first = json.loads(out.splitlines()[-1])
    run_id = first["run_id"]
    assert (first["config"]["reject_below"], first["config"]["initial_factor"], first["config"]["parsimony"]) == (
        None, 1.5, 1.0)
    saved = load_state(gaorg_home / "checkpoints" / run_id)
    assert (saved.config.reject_below, saved.config.initial_factor, saved.config.parsimony) == (None, 1.5, 1.0)
    assert first["config"]["pipelined"] is saved.config.pipelined is True
    assert saved.history[0].evaluations == 6  # the first generation drew 1.5 x the population of 4

    assert main(["evolve", "--resume", run_id, *QUIET]) == 0
    resumed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert resumed["config"] == first["config"] and resumed["front"] == first["front"]


def _stopping_at_generation_0(real):
    """``gaorg.evolve.run.evolve`` whose generation report raises Ctrl-C (after generation 0's checkpoint)."""
    def evolve(config, store, client, callback, ckpt, **kwargs):
        def interrupt(stats):
            raise KeyboardInterrupt
        return real(config, store, client, interrupt, ckpt, **kwargs)
    return evolve


def test_an_interrupted_run_says_how_to_continue_it(gaorg_home, capsys, monkeypatch):
    """Ctrl-C after a generation's checkpoint: exit 130 and the command that continues the run,
    which then finishes it."""
    import gaorg.evolve.run as run_module

    real = run_module.evolve
    store_bars(gaorg_home, n=800)
    args = ["evolve", "--symbols", "A,B", "--timeframes", "1h", "--population", "4", "--generations", "2",
            "--folds", "2", *FAST]
    monkeypatch.setattr(run_module, "evolve", _stopping_at_generation_0(real))
    assert main(args) == 130
    err = capsys.readouterr().err
    run_id = err.split()[1]
    assert f"continue it with `gaorg evolve --resume {run_id}`" in err and "interrupted" in err
    monkeypatch.setattr(run_module, "evolve", real)
    assert main(["evolve", "--resume", run_id, *QUIET]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["run_id"] == run_id


def test_a_run_interrupted_before_its_first_checkpoint_says_to_start_it_again(gaorg_home, capsys, monkeypatch):
    """Ctrl-C while the Dask cluster starts or generation 0 runs: no checkpoint, so no --resume to
    offer; it said only 'interrupted'."""
    import gaorg.evolve.run as run_module

    def interrupted_at_once(*args, **kwargs):
        raise KeyboardInterrupt

    store_bars(gaorg_home, n=800)
    monkeypatch.setattr(run_module, "evolve", interrupted_at_once)
    assert main(["evolve", "--symbols", "A,B", "--timeframes", "1h", "--register", "x", *FAST]) == 130
    err = capsys.readouterr().err
    assert "stopped before its first generation was checkpointed: nothing to resume" in err
    assert "run the same command again" in err and "--resume" not in err
    assert not (gaorg_home / "checkpoints").exists() or not any((gaorg_home / "checkpoints").glob(f"*/{STATE_FILE}"))


def test_an_interrupted_registered_run_says_to_register_it_on_resume(gaorg_home, capsys, monkeypatch):
    """A run started with --register NAME, stopped by Ctrl-C: the command it prints to continue it
    says --register NAME again (a resume without it logs and registers nothing)."""
    import gaorg.evolve.run as run_module

    store_bars(gaorg_home, n=800)
    monkeypatch.setattr(run_module, "evolve", _stopping_at_generation_0(run_module.evolve))
    assert main(["evolve", "--symbols", "A,B", "--timeframes", "1h", "--population", "4", "--generations", "2",
                 "--folds", "2", "--register", "my-model", *FAST]) == 130
    err = capsys.readouterr().err
    run_id = err.split()[1]
    assert f"continue it with `gaorg evolve --resume {run_id} --register my-model`" in err


def test_a_ctrl_c_swallowed_on_the_way_still_stops_the_run_at_its_next_report(gaorg_home, capsys, monkeypatch):
    """A SIGINT whose KeyboardInterrupt something swallows (a weakref callback prints and drops
    it) is remembered: the run stops at the next generation's report, exit 130, resumable."""
    import os
    import signal

    import gaorg.evolve.run as run_module

    real = run_module.evolve
    reports = []

    def swallowed_at_generation_0(config, store, client, callback, ckpt, **kwargs):
        def report(stats):
            reports.append(stats.generation)
            if len(reports) == 1:
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    for _ in range(1000):  # the handler runs between two bytecodes
                        pass
                except KeyboardInterrupt:
                    pass  # what a weakref callback does with it
            callback(stats)
        return real(config, store, client, report, ckpt, **kwargs)

    store_bars(gaorg_home, n=800)
    args = ["evolve", "--symbols", "A,B", "--timeframes", "1h", "--population", "4", "--generations", "3",
            "--folds", "2", *FAST]
    monkeypatch.setattr(run_module, "evolve", swallowed_at_generation_0)
    assert main(args) == 130
    assert reports == [0]  # stopped at the report the signal came in, not at the run's end
    err = capsys.readouterr().err
    run_id = err.split()[1]
    assert f"continue it with `gaorg evolve --resume {run_id}`" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
    monkeypatch.setattr(run_module, "evolve", real)
    assert main(["evolve", "--resume", run_id, *QUIET]) == 0


def _sigint() -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):  # the handler runs between two bytecodes
        pass


def _versions(home: Path, name: str) -> list[int]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    return sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_while_registering_finishes_it_once_and_abandons_it_whole_twice(gaorg_home, capsys, monkeypatch,
                                                                               presses):
    """Registration is the run's last step, all or nothing. A first Ctrl-C there says so and lets it
    finish (exit 0, every version registered); a second abandons it mid-way (after one version was
    made): exit 130, nothing registered, and the command that registers the finished run."""
    import gaorg.tracking.registry as registry

    real = registry.register_versions

    def interrupted(client, settings, name, entries, **kwargs):
        _sigint()
        create = client.create_model_version

        def create_then_interrupt(*a, **k):
            version = create(*a, **k)
            if presses == 2:
                _sigint()
            return version

        client.create_model_version = create_then_interrupt
        return real(client, settings, name, entries, **kwargs)

    store_bars(gaorg_home, n=800)
    monkeypatch.setattr(registry, "register_versions", interrupted)
    code = main(["evolve", "--symbols", "A,B", "--timeframes", "1h", "--population", "4", "--generations", "1",
                 "--folds", "2", "--register", "my-model", *FAST])
    err = capsys.readouterr().err
    run_id = err.split()[1]
    assert "Ctrl-C: registering run" in err and "Ctrl-C again abandons it" in err
    if presses == 1:
        assert code == 0 and _versions(gaorg_home, "my-model")  # finished whole
        return
    assert code == 130 and _versions(gaorg_home, "my-model") == []  # the version made first was undone
    assert f"run {run_id} finished but nothing is registered; register its front with " \
           f"`gaorg evolve --resume {run_id} --register my-model`" in err
    monkeypatch.setattr(registry, "register_versions", real)
    assert main(["evolve", "--resume", run_id, "--register", "my-model", *QUIET]) == 0
    assert _versions(gaorg_home, "my-model")


def test_resume_of_a_corrupted_checkpoint_exits_2(cli, gaorg_home):
    store_bars(gaorg_home, symbols=("A",))
    bad = gaorg_home / "checkpoints" / "broken"
    bad.mkdir(parents=True)
    (bad / STATE_FILE).write_bytes(b"gaorg.checkpoint/2\n0123\ntruncated")
    r = cli("evolve", "--resume", "broken", "--workers", "0", "--json")
    assert r.code == 2
    assert "corrupted" in r.stderr
    assert r.stderr.splitlines()[0] == "run broken"


@pytest.mark.parametrize("run_id", ["../../../x", "a/b", "/tmp/x", "..", "run\nid"])
def test_resume_takes_a_run_id_not_a_path_and_reads_nothing_outside_checkpoints(cli, gaorg_home, run_id):
    planted = gaorg_home.parent / "x"
    planted.mkdir(exist_ok=True)
    (planted / STATE_FILE).write_bytes(b"gaorg.checkpoint/1\n0\nnot read")
    r = cli("evolve", "--resume", run_id, "--workers", "0", "--json")
    assert r.code == 2, r.stderr
    assert "is not a run id" in r.stderr and "not a path" in r.stderr
    assert "old format" not in r.stderr  # the planted file was never opened


def test_unreachable_scheduler_fails_within_seconds(cli, gaorg_home):
    store_bars(gaorg_home, symbols=("A",))
    start = time.monotonic()
    r = cli("evolve", "--symbols", "A", "--timeframes", "1h", "--scheduler", "tcp://127.0.0.1:9", "--json")
    assert r.code == 1
    assert "cannot reach the Dask scheduler" in r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["kind"] == "ClusterError"
    assert time.monotonic() - start < 30  # process start and imports included; the connect gives up after 5 s


@pytest.mark.slow
def test_evolve_models_and_promote_print_one_figure_for_one_quantity_of_a_registered_version(cli, gaorg_home):
    """The same version's hold-out Sharpe, max drawdown and trades read the same in all three views;
    --register logs and registers the front and names the run and its versions (and logs the run's
    options as params, the search options given on the command line among them)."""
    import re
    import sqlite3

    store_bars(gaorg_home)
    r = cli("evolve", "--symbols", "A,B", "--timeframes", "1h", "--population", "8", "--generations", "1",
            "--folds", "2", "--register", "trend", "--reject-below", "-0.5", "--initial-factor", "1.5",
            "--parsimony", "1", *FAST)
    assert r.code == 0, r.stderr
    registered = r.json["registered"]  # --register logs the run and registers the front through tracking
    assert registered["model"] == "trend" and registered["mlflow_run_id"]
    with sqlite3.connect(gaorg_home / "mlflow.db") as db:
        params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ? AND key LIKE 'config.%'",
                                 (registered["mlflow_run_id"],)))
    assert params == {f"config.{k}": "" if v is None else str(v) for k, v in r.json["config"].items()}
    assert (params["config.reject_below"], params["config.initial_factor"], params["config.parsimony"]) == (
        "-0.5", "1.5", "1.0")
    hashes = {m["genome_hash"] for m in r.json["front"]}
    assert registered["versions"] and {v["genome_hash"] for v in registered["versions"]} <= hashes
    assert (gaorg_home / "mlflow.db").exists()
    text = r.stderr  # with --json the text goes to stderr
    versions = ", ".join(v["version"] for v in registered["versions"])
    assert f"MLflow run {registered['mlflow_run_id']} (experiment gaorg" in text
    assert f"registered trend versions {versions}:" in text, text
    first = next(line for line in text.splitlines() if "hold-out: sharpe" in line)
    evolved = re.search(r"hold-out: sharpe\s+(\S+)\s+maxdd\s+(\S+)\s+trades\s+(\S+)", first).groups()

    forced = cli("promote", "trend", "1", "--force", "--reason", "one figure")
    assert forced.code == 0, forced.stderr
    gates = {name: value for name, value in re.findall(r"(?:PASS|FAIL)  (hold-out [a-z ]+?|hold-out Sharpe)\s+(\S+)"
                                                      r"\s+\(needs", forced.stdout)}
    promoted = (gates["hold-out Sharpe"], gates["hold-out max drawdown"], gates["hold-out trades"])

    listed = cli("models", "trend")
    assert listed.code == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if re.match(r"\s+\d+\s+[0-9a-f]{16}", line)}
    cells = rows["1"].split()
    assert (cells[5], cells[6], cells[7]) == promoted == evolved, (rows["1"], forced.stdout, first)
    assert re.search(r"\d+%$", evolved[1]) and re.fullmatch(r"\d+", evolved[2])  # a percent, a whole total
    assert "why rejected" in listed.stdout  # its rows: tests/integration/test_tracking.py
    assert "versions;" in listed.stdout.splitlines()[0]
