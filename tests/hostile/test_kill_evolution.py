"""kill -9 of an evolution mid-run: --resume ends where the uninterrupted run ends (the battery's kill group)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from gaorg.evolve.checkpoint import STATE_FILE, load_state
from tests.hostile.conftest import record
from tests.integration.test_evolve_cli import FAST, run_id_of, store_bars


def test_kill_9_then_resume_gives_the_uninterrupted_result(cli, gaorg_home):
    store_bars(gaorg_home)
    args = ("evolve", "--symbols", "A,B", "--timeframes", "1h", "--population", "16", "--generations", "30",
            "--folds", "2", "--seed", "4", *FAST)
    whole = cli(*args)
    assert whole.code == 0, whole.stderr

    env = {**os.environ, "GAORG_HOME": str(gaorg_home)}
    proc = subprocess.Popen([sys.executable, "-m", "gaorg.cli", *args], env=env, cwd=gaorg_home.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run_id = proc.stderr.readline().split()[1]  # the first line, before any work
    ckpt = gaorg_home / "checkpoints" / run_id
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (ckpt / STATE_FILE).exists() and load_state(ckpt).generation >= 2:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL  # it was killed mid-run, not finished
    proc.stderr.close()
    assert load_state(ckpt).generation < 30

    resumed = cli("evolve", "--resume", run_id, "--workers", "0", "--no-progress", "--json")
    assert resumed.code == 0, resumed.stderr
    assert run_id_of(resumed.stderr) == run_id
    a, b = whole.json, resumed.json
    assert b["run_id"] == run_id
    for key in ("evaluations", "pbo", "trials", "evaluations_per_stage"):
        assert a[key] == b[key]
    strip = lambda front: [{k: v for k, v in m.items()} for m in front]  # noqa: E731
    same = strip(a["front"]) == strip(b["front"])
    record("kill", "kill -9 of an evolution, then --resume", refused=same, code=resumed.code)
    assert same  # genome for genome, figure for figure
