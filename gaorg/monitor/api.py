"""The operator API of a live run (FastAPI, served by uvicorn on 127.0.0.1 only).

``GET /health`` and ``GET /status`` are open (read-only); ``POST /halt`` and ``POST /resume`` need
``Authorization: Bearer <token>`` with the token from ``GAORG_OPERATOR_TOKEN`` (never from a file or
a flag; without it set, halt and resume are refused). A halt moves the risk gate to HALTED: the
executor flattens at the next bar and sends nothing else until a resume. In a run of several
symbols, halt and resume act on every symbol and ``/status`` lists each (``symbols``) with totals.
"""

from __future__ import annotations

import hmac
import os
import socket
import threading
import time
from typing import Any

from gaorg.errors import GaorgError
from gaorg.monitor.ports import HOST, listen

TOKEN_ENV = "GAORG_OPERATOR_TOKEN"


def bearer(authorization: str | None) -> bytes:
    """The token of ``Authorization: Bearer <token>`` (the scheme in any case, RFC 6750); b"" for anything
    else, a bare token included, so it can never match."""
    parts = (authorization or "").split(maxsplit=1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return b""
    return parts[1].strip().encode("utf-8", "surrogateescape")


def make_app(target: Any, token: str | None = None) -> Any:
    """The FastAPI app over ``target`` (a Runner: ``.executor`` and ``.lock``; ``status``/``halt``/``resume``
    for all of its symbols when it has them)."""
    from fastapi import FastAPI, Header, HTTPException

    app = FastAPI(title="gaorg live operator API", docs_url=None, redoc_url=None, openapi_url=None)
    secret = token if token is not None else os.environ.get(TOKEN_ENV, "")

    def executor() -> Any:
        ex = getattr(target, "executor", None)
        if ex is None:
            raise HTTPException(503, "the executor has not started yet")
        return ex

    def authorize(authorization: str | None) -> None:
        if not secret:
            raise HTTPException(503, f"operator actions are disabled: set {TOKEN_ENV} in the executor's environment")
        if not hmac.compare_digest(bearer(authorization), secret.encode("utf-8", "surrogateescape")):
            raise HTTPException(401, "missing or wrong operator token (Authorization: Bearer <token>)")

    @app.get("/health")
    def health() -> dict[str, Any]:
        ex = getattr(target, "executor", None)
        if ex is None:
            return {"status": "starting"}
        every = all_executors(ex)
        bars = [e.last_bar.ts for e in every if e.last_bar is not None]
        age = time.time() - (max(bars) / 1000.0) if bars else None
        return {"status": "ok", "risk_state": worst(every), "last_bar_age_seconds": age,
                "symbols": [e.symbol for e in every]}

    def all_executors(ex: Any) -> list[Any]:
        return list((getattr(target, "executors", None) or {}).values()) or [ex]

    def worst(every: list[Any]) -> str:
        order = ("ACTIVE", "REDUCING", "HALTED")
        return max((e.risk.state.value for e in every), key=order.index)

    def act(name: str, *args: Any) -> dict[str, Any]:
        ex = executor()
        with target.lock:
            if callable(getattr(target, name, None)):
                changed = getattr(target, name)(*args)
            else:
                changed = getattr(ex, name)(*args)
        return {"risk_state": worst(all_executors(ex)), "changed": changed}

    @app.get("/status")
    def status() -> dict[str, Any]:
        ex = executor()
        if callable(getattr(target, "status", None)):
            return target.status()
        return ex.status()

    @app.post("/halt")
    def halt(reason: str = "operator halt", authorization: str | None = Header(default=None)) -> dict[str, Any]:
        authorize(authorization)
        return act("halt", reason)

    @app.post("/resume")
    def resume(authorization: str | None = Header(default=None)) -> dict[str, Any]:
        authorize(authorization)
        return act("resume")

    return app


class OperatorServer:
    """uvicorn serving :func:`make_app` on 127.0.0.1 in a daemon thread; ``start()`` returns the port.

    The socket is bound here, before uvicorn runs (uvicorn logs a failed bind and returns quietly):
    a port that cannot be listened on raises ConfigError, a server that does not come up GaorgError.
    """

    def __init__(self, target: Any, port: int = 0, token: str | None = None) -> None:
        self.target, self.port, self.token = target, int(port), token
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self, timeout: float = 10.0) -> int:
        import uvicorn

        self._socket = listen(self.port, "operator API", "--api-port")
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(make_app(self.target, self.token), host=HOST, port=self.port,
                                log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # the executor owns the signals
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True,
                                        name="gaorg-operator-api")
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            self.stop()
            raise GaorgError(f"the operator API on {HOST}:{self.port} did not start within {timeout:g}s; "
                             "nothing was traded (see the log above)")
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
