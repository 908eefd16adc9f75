"""Listening sockets of the live run's servers, bound before anything trades.

A server that cannot listen (the port is taken, needs privileges) stops ``gaorg live`` with exit 2
before any order or state: an operator who believes the API is up must never find that ``POST /halt``
reached whatever else held the port (issue #20).
"""

from __future__ import annotations

import errno
import socket

from gaorg.errors import ConfigError

HOST = "127.0.0.1"


def port_error(exc: OSError, port: int, what: str, flag: str, host: str = HOST) -> ConfigError:
    """The exit-2 error of a port ``what`` could not listen on: what is wrong and the fix."""
    if exc.errno == errno.EADDRINUSE:
        why = "is already in use by another process"
    elif exc.errno == errno.EACCES:
        why = "needs privileges (ports below 1024)"
    else:
        why = f"cannot be bound ({exc.strerror or exc})"
    return ConfigError(f"the {what} cannot listen on {host}:{port}: the port {why}; nothing was started or "
                       f"traded. Pick another {flag}, or {flag} 0 for a free one")


def listen(port: int, what: str, flag: str) -> socket.socket:
    """A TCP socket listening on 127.0.0.1:``port`` (0: a free port); ConfigError when it cannot be."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart reuses its port
        sock.bind((HOST, port))
        sock.listen(128)
    except OverflowError:
        sock.close()
        raise ConfigError(f"{flag} {port} is not a TCP port: give 1..65535, or 0 for a free one") from None
    except OSError as exc:
        sock.close()
        raise port_error(exc, port, what, flag) from None
    return sock
