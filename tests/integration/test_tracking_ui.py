"""``gaorg ui``: the MLflow UI starts on 127.0.0.1 against gaorg's store, answers, and stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gaorg_ui_prints_its_address_serves_the_store_and_stops(gaorg_home, tmp_path):
    port = free_port()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "GAORG_HOME": str(gaorg_home)}
    proc = subprocess.Popen([sys.executable, "-m", "gaorg.cli", "ui", "--port", str(port)], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the server answers
        assert f"http://127.0.0.1:{port}" in line, proc.stderr.read() if proc.poll() is not None else line
        address = f"http://127.0.0.1:{port}"
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
