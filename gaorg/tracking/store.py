"""Where MLflow keeps runs and models: the default store under GAORG_HOME, and its errors.

By default runs and the registry live in ``sqlite:///$GAORG_HOME/mlflow.db`` and artifacts under
``$GAORG_HOME/mlartifacts`` (the experiment is created with that artifact location, so nothing
lands in the working directory); ``MLFLOW_TRACKING_URI`` (read by ``Settings``) points elsewhere,
e.g. at an MLflow server. MLflow is imported inside functions: ``import gaorg`` stays light.

Every MLflow call goes through :func:`tracking_errors`, which turns MLflow's and the network's
failures into one :class:`~gaorg.errors.TrackingError` naming the store (credentials redacted).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from gaorg.config import Settings
from gaorg.errors import GaorgError, NotFoundError, TrackingError

EXPERIMENT = "gaorg"
"""The experiment every evolution is logged to."""


def is_remote(uri: str) -> bool:
    """True for a tracking server (``http(s)://``, Databricks): it chooses artifact locations."""
    return uri.split(":", 1)[0] in ("http", "https", "databricks")


def redact(uri: str) -> str:
    """The URI without any ``user:password@`` part (safe for messages and logs)."""
    return re.sub(r"//[^/@]*@", "//***@", uri)


def make_client(settings: Settings) -> Any:
    """An ``MlflowClient`` on the settings' store (tracking and registry alike).

    For a local store GAORG_HOME is created first (sqlite needs the directory).
    """
    from mlflow import MlflowClient

    if not is_remote(settings.tracking_uri):
        settings.ensure_home()
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def experiment_id(client: Any, settings: Settings, name: str = EXPERIMENT) -> str:
    """Id of the experiment ``name``, created on first use (artifacts under GAORG_HOME locally)."""
    with tracking_errors(settings):
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = None
        if not is_remote(settings.tracking_uri):
            settings.artifacts.mkdir(parents=True, exist_ok=True)
            location = settings.artifacts.as_uri()
        return client.create_experiment(name, artifact_location=location)


@contextlib.contextmanager
def tracking_errors(settings: Settings, doing: str = "") -> Iterator[None]:
    """Translate MLflow and network failures into TrackingError / NotFoundError, once."""
    try:
        yield
    except GaorgError:
        raise
    except Exception as exc:  # noqa: BLE001 - the one boundary to the MLflow client
        raise translate(exc, settings, doing) from None


def translate(exc: BaseException, settings: Settings, doing: str = "") -> GaorgError:
    """The gaorg error for an exception out of MLflow (not found, unreachable, refused)."""
    from mlflow.exceptions import MlflowException

    what = f" while {doing}" if doing else ""
    where = redact(settings.tracking_uri)
    if isinstance(exc, MlflowException) and exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return NotFoundError(f"{_first_line(exc)} (store {where}); `gaorg models` lists what is registered")
    text = redact(_first_line(exc))
    if _unreachable(exc):
        return TrackingError(
            f"the MLflow store at {where} cannot be reached{what}: {text}; start the tracking server "
            "or unset MLFLOW_TRACKING_URI to use the local store under GAORG_HOME"
        )
    return TrackingError(f"MLflow failed{what} (store {where}): {text}")


def _unreachable(exc: BaseException) -> bool:
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)):
            return True
        if any(s in str(seen) for s in ("Max retries exceeded", "Connection refused", "timed out")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0][:400] if text else type(exc).__name__
