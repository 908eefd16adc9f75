"""Hostile registries, checkpoints and tracking URIs: refused with a message, never a traceback."""

from __future__ import annotations

import socket
import time

import pytest

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


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_a_ui_port_out_of_range_is_refused(hostile, gaorg_home, port):
    res = hostile("tracking-uri", f"ui --port {port}", "ui", "--port", port, stores=[gaorg_home], timeout=60)
    assert f"--port {port}" in res.stderr and "65535" in res.stderr
