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
from collections.abc import Iterator
from typing import Any

from gaorg.config import Settings
from gaorg.errors import ConfigError, GaorgError, NotFoundError, TrackingError
from gaorg.tracking.uri import FIX, check_store, missing_driver, redact

EXPERIMENT = "gaorg"
"""The experiment every evolution is logged to."""
KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
"""The experiment kind MLflow's UI shows as classic runs (not GenAI traces)."""
UI_VIEW = "workflowType=machine_learning"
"""The UI's query that selects the classic view: MLflow 3.17's UI keeps the workflow type (GenAI by
default) in the browser and the URL, and opens an experiment on the view of that type."""


def quiet_mlflow() -> None:
    """MLflow's INFO lines (a "Validating input example" per registered model) and its progress
    bar per artifact download off, as ``gaorg``'s command line has them: a notebook's outputs are
    gaorg's lines only. Either comes back with ``MLFLOW_LOGGING_LEVEL`` /
    ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR`` set in the environment."""
    import logging
    import os
    import sys

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if "MLFLOW_LOGGING_LEVEL" not in os.environ:
        os.environ["MLFLOW_LOGGING_LEVEL"] = "WARNING"  # read when mlflow is imported
        if "mlflow" in sys.modules:  # already imported: its logger was set up at INFO
            logging.getLogger("mlflow").setLevel(logging.WARNING)


def is_remote(uri: str) -> bool:
    """True for a tracking server (``http(s)://``, Databricks): it chooses artifact locations."""
    return uri.split(":", 1)[0] in ("http", "https", "databricks")


def make_client(settings: Settings) -> Any:
    """An ``MlflowClient`` on the settings' store (tracking and registry alike).

    The URI is checked first (:func:`gaorg.tracking.uri.check_store`: a database driver that is
    missing is a ConfigError, a server or database that does not accept a connection a
    TrackingError, both before MLflow is imported). For a sqlite store GAORG_HOME is created first
    (sqlite needs the directory). A URI MLflow refuses is a ConfigError naming it.
    """
    uri = settings.tracking_uri
    check_store(uri)
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    if uri.startswith("sqlite:"):
        settings.ensure_home()  # sqlite needs the directory; no other store may create GAORG_HOME
    try:
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    except ImportError as exc:  # a driver or plugin the store needs
        raise missing_driver(uri, exc) from None
    except MlflowException as exc:
        if exc.error_code == "INVALID_PARAMETER_VALUE":  # an unsupported scheme, the retired file store
            raise ConfigError(f"MLFLOW_TRACKING_URI={redact(uri)} cannot be used: "
                              f"{redact(_first_line(exc))[:300]}; {FIX}") from None
        raise translate(exc, settings, "opening the store") from None
    except Exception as exc:  # noqa: BLE001 - the store failed to open (a corrupt sqlite file, a full disk)
        raise translate(exc, settings, "opening the store") from None


def experiment_id(client: Any, settings: Settings, name: str = EXPERIMENT) -> str:
    """Id of the experiment ``name``, created on first use (artifacts under GAORG_HOME locally).

    The experiment is tagged as classic model development (:data:`EXPERIMENT_KIND`), so MLflow's UI
    opens it on its runs, not on the GenAI overview (traces, token usage); an experiment made
    before gets the tag on first use.
    """
    with tracking_errors(settings):
        found = client.get_experiment_by_name(name)
        if found is not None:
            if found.tags.get(KIND_TAG) != EXPERIMENT_KIND:
                client.set_experiment_tag(found.experiment_id, KIND_TAG, EXPERIMENT_KIND)
            return found.experiment_id
        location = None
        if not is_remote(settings.tracking_uri):
            settings.artifacts.mkdir(parents=True, exist_ok=True)
            location = settings.artifacts.as_uri()
        return client.create_experiment(name, artifact_location=location, tags={KIND_TAG: EXPERIMENT_KIND})


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
