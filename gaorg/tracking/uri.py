"""The tracking URI checked before MLflow touches it: secrets redacted, drivers present, server up.

MLflow turns a database URI whose driver is not installed into a traceback, and retries an
unreachable server for minutes (7 retries with exponential backoff, for rate limits). gaorg checks
first, without importing MLflow: a database URI's driver must import (else ConfigError, exit 2,
naming the package to install), and a server's host and port must accept a TCP connection within
``PROBE_SECONDS`` (else TrackingError, exit 1: the environment failed, not the input). The default
sqlite store is not probed. A reachable server keeps MLflow's retries for the requests after.
"""

from __future__ import annotations

import socket
import urllib.parse
import urllib.request

from gaorg.errors import ConfigError, TrackingError, masked

PROBE_SECONDS = 5.0
"""How long a tracking server or database gets to accept a TCP connection."""

DRIVERS = {
    "psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL", "pyodbc": "pyodbc", "pymssql": "pymssql", "pg8000": "pg8000",
    "asyncpg": "asyncpg", "mysql": "mysql-connector-python", "oracledb": "oracledb",
}
"""Python module a database URI needs -> the package that provides it."""

DEFAULT_PORTS = {"http": 80, "https": 443, "postgresql": 5432, "postgres": 5432, "mysql": 3306,
                 "mariadb": 3306, "mssql": 1433}
_DATABASES = ("postgresql", "postgres", "mysql", "mariadb", "mssql")
_ok: set[tuple[str, int]] = set()  # reachable once in this process: not probed again


def redact(uri: str) -> str:
    """The text without any ``user:password@`` after a ``scheme://`` or ``password=`` value."""
    return masked(uri)


def scheme(uri: str) -> str:
    """The URI's scheme without a driver suffix (``postgresql+psycopg2`` -> ``postgresql``)."""
    return uri.split(":", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


def check_store(uri: str) -> None:
    """ConfigError for a database URI whose driver is missing; TrackingError for a store that is down."""
    kind = scheme(uri)
    if kind in _DATABASES:
        check_driver(uri)
    if kind in ("http", "https") or kind in _DATABASES:
        probe(uri)


def check_driver(uri: str) -> None:
    """ConfigError naming the package to install when the URI's database driver does not import."""
    from sqlalchemy.engine.url import make_url

    try:
        make_url(uri).get_dialect().import_dbapi()
    except ImportError as exc:
        raise missing_driver(uri, exc) from None
    except Exception as exc:  # noqa: BLE001 - a URI SQLAlchemy cannot parse or has no dialect for
        raise ConfigError(f"MLFLOW_TRACKING_URI={redact(uri)} is not a database URI MLflow can use "
                          f"({redact(str(exc))[:200]}); {FIX}") from None


FIX = ("fix MLFLOW_TRACKING_URI, or unset it to use the default sqlite store under GAORG_HOME "
       "($GAORG_HOME/mlflow.db)")


def missing_driver(uri: str, exc: ImportError) -> ConfigError:
    """The ConfigError for a database driver that is not installed (``exc`` from its import)."""
    module = (exc.name or str(exc)).split(".")[0]
    package = DRIVERS.get(module, module)
    return ConfigError(
        f"MLFLOW_TRACKING_URI={redact(uri)} needs the Python module {module!r}, which is not installed: "
        f"install it (`.venv/bin/pip install '{package}'`; to keep it past `make`, "
        "add it to pyproject.toml and `make lock`), or unset "
        "MLFLOW_TRACKING_URI to use the default sqlite store under GAORG_HOME ($GAORG_HOME/mlflow.db)"
    )


def probe(uri: str, seconds: float = PROBE_SECONDS) -> None:
    """TrackingError unless the URI's host (or the proxy in front of it) accepts a TCP connection."""
    parts = urllib.parse.urlsplit(uri)
    kind = scheme(uri)
    try:
        host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(kind)
    except ValueError:  # a port that is not a number, or out of range
        raise ConfigError(f"MLFLOW_TRACKING_URI={redact(uri)} has no valid port; {FIX}") from None
    if not host or port is None:
        return  # a unix socket or a local path: nothing to probe
    proxy = _proxy_for(kind, host)
    target = (proxy.hostname, proxy.port or DEFAULT_PORTS.get(proxy.scheme, 80)) if proxy else (host, port)
    if target in _ok or target[0] is None:
        return
    what = f"{target[0]} port {target[1]}" + (f" (the proxy for {host})" if proxy else "")
    try:
        with socket.create_connection(target, timeout=seconds):
            pass
    except TimeoutError:
        raise unreachable(uri, what, f"no answer within {seconds:g} s") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise unreachable(uri, what, reason.lower()) from None
    _ok.add(target)


def unreachable(uri: str, what: str, reason: str) -> TrackingError:
    """The TrackingError for a tracking store that cannot be reached."""
    kind = "tracking server" if scheme(uri) in ("http", "https") else "database"
    return TrackingError(
        f"the MLflow {kind} at {redact(uri)} cannot be reached ({what}: {reason}); start it, fix "
        "MLFLOW_TRACKING_URI, or unset it to use the local store under GAORG_HOME"
    )


def _proxy_for(kind: str, host: str) -> urllib.parse.SplitResult | None:
    """The proxy requests would connect through for ``host`` (HTTP(S)_PROXY, NO_PROXY), if any."""
    if kind not in ("http", "https"):
        return None
    proxy = urllib.request.getproxies().get(kind)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
