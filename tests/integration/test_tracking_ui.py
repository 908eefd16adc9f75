"""``gaorg ui``: the MLflow UI starts on 127.0.0.1 against gaorg's store, answers, and stops.

``--port 0`` lets the OS pick the port: the address printed must be the one that answers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest


@pytest.mark.slow
def test_gaorg_ui_on_a_port_the_os_picks_prints_the_address_it_serves_the_store_on_and_stops(
        gaorg_home, tmp_path):
    from gaorg.config import Settings
    from gaorg.tracking.store import experiment_id, make_client

    settings = Settings.from_env({"GAORG_HOME": str(gaorg_home)})
    exp = experiment_id(make_client(settings), settings)  # gaorg's experiment, as an evolution makes it
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "GAORG_HOME": str(gaorg_home)}
    proc = subprocess.Popen([sys.executable, "-m", "gaorg.cli", "ui", "--port", "0"], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the server answers
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert found, proc.stderr.read() if proc.poll() is not None else line
        port = int(found.group(1))
        assert port > 0, line  # the port it serves on, not the 0 it was given
        address = f"http://127.0.0.1:{port}"
        # the page printed opens gaorg's runs in MLflow's classic view, not the GenAI overview
        landing = f"{address}/#/experiments/{exp}/runs?workflowType=machine_learning"
        assert landing in line, line
        _lands_on_runs(landing, tmp_path)
        with urllib.request.urlopen(f"{address}/health", timeout=10) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(
            f"{address}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default", timeout=10
        ) as resp:
            assert resp.status == 200  # the UI's API reads the store under GAORG_HOME
        assert (gaorg_home / "mlflow.db").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("gaorg ui did not stop on SIGTERM")
        proc.stdout.close()
        proc.stderr.close()
    time.sleep(0.5)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)  # the server is gone too
    assert list(cwd.iterdir()) == []  # nothing in the working directory


def _lands_on_runs(url: str, tmp_path) -> None:
    """In headless Chromium (a fresh profile: MLflow's default workflow type, GenAI), the page printed
    shows the experiment's Runs, not the GenAI Overview. Skipped without Chromium (tests/browser)."""
    from tests.browser.chromium import which

    chromium = which()
    if chromium is None:
        return
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,900",
                          "--virtual-time-budget=15000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    assert ">Runs<" in dom and ">Overview<" not in dom, dom[-2000:]
