"""``gaorg ui``: the MLflow UI on 127.0.0.1 against gaorg's store, slim (one worker, no job runners).

The server runs as a child process (``python -m mlflow server``) on the same tracking URI and
artifact root as gaorg; it is stopped when gaorg is interrupted or terminated.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from gaorg.config import Settings
from gaorg.errors import InputError, TrackingError
from gaorg.tracking.store import EXPERIMENT, UI_VIEW, is_remote, redact


def server_command(settings: Settings, host: str, port: int) -> list[str]:
    """The ``mlflow server`` command line for the settings' store (nothing lands in the cwd)."""
    if is_remote(settings.tracking_uri):
        raise InputError(
            f"MLFLOW_TRACKING_URI points at a server ({redact(settings.tracking_uri)}); open that "
            "address in a browser instead of starting a UI here"
        )
    settings.ensure_home()
    settings.artifacts.mkdir(parents=True, exist_ok=True)
    return [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", settings.tracking_uri,
            "--default-artifact-root", settings.artifacts.as_uri(),
            "--artifacts-destination", settings.artifacts.as_uri(),
            "--host", host, "--port", str(port), "--workers", "1"]


def start_ui(settings: Settings, port: int = 5000, host: str = "127.0.0.1",
             wait: float = 180.0) -> tuple[subprocess.Popen, str]:
    """Start the server and wait until it answers; returns (process, address).

    ``port`` 0 picks a free port; the address returned is the one the server answers on.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InputError(f"--port {port}: a port is a whole number from 1 to 65535 (0 picks a free one)")
    if port == 0:
        port = _pick_free(host)
    elif not _free(host, port):
        raise InputError(f"port {port} on {host} is in use; pick another with --port (0 picks a free one)")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    proc = subprocess.Popen(server_command(settings, host, port), env=env, cwd=settings.home,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    address = f"http://{host}:{port}"
    try:
        _wait_until_up(proc, address, wait)
    except BaseException:  # not up, interrupted, terminated: never leave the server behind
        stop_ui(proc)
        raise
    return proc, address


def _wait_until_up(proc: subprocess.Popen, address: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TrackingError(f"the MLflow UI exited at start: {(proc.stderr.read() or '').strip()[-800:]}")
        try:
            with urllib.request.urlopen(f"{address}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TrackingError(f"the MLflow UI did not answer on {address} within {wait:.0f} s")


def stop_ui(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop the server and its workers (its whole process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    except ProcessLookupError:
        pass


def serve(settings: Settings, port: int, host: str = "127.0.0.1") -> str:
    """Run the UI until interrupted (Ctrl-C or SIGTERM); prints the address as soon as it answers."""

    def _terminate(signum, frame):  # noqa: ANN001 - signal handler
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _terminate)
    proc = None
    address = f"http://{host}:{port}"
    try:
        proc, address = start_ui(settings, port, host)
        print(f"MLflow UI at {address} (store {redact(settings.tracking_uri)}); evolutions: "
              f"{landing_page(address)}; Ctrl-C stops it", flush=True)
        while proc.poll() is None:
            time.sleep(0.5)
        raise TrackingError(f"the MLflow UI stopped (exit status {proc.returncode})")
    except KeyboardInterrupt:
        return address
    finally:
        signal.signal(signal.SIGTERM, old)
        if proc is not None:
            stop_ui(proc)


def landing_page(address: str, experiment: str = EXPERIMENT) -> str:
    """The page of the server at ``address`` that shows gaorg's evolution runs in the classic view.

    MLflow 3.17's UI opens an experiment on the view of the browser's workflow type (GenAI by
    default: traces, token usage) and takes ``?workflowType=`` from the URL; the experiment's
    ``mlflow.experimentKind`` tag (set by gaorg) says the same to UIs that read it.
    """
    import json

    try:
        url = f"{address}/api/2.0/mlflow/experiments/get-by-name?experiment_name={experiment}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            found = json.loads(resp.read())["experiment"]["experiment_id"]
    except (OSError, ValueError, KeyError):  # no evolution logged yet
        return f"{address}/#/experiments?{UI_VIEW}"
    return f"{address}/#/experiments/{found}/runs?{UI_VIEW}"


def _pick_free(host: str) -> int:
    """A port no one listens on now (the OS picks it; the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0
