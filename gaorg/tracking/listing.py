"""``gaorg models`` fast: the registry of a local sqlite store read directly, without MLflow.

Importing MLflow and opening its store (schema checks) takes 5-7 s on a busy 2-core machine; the
listing needs four tables. For a ``sqlite:`` tracking URI this module reads them read-only with
the standard library (registered models, their live versions, tags, aliases, descriptions) and
returns the rows ``MlflowClient`` would; for any other store, or a schema it does not recognise
(an older or newer MLflow, workspaces in use), it returns None and the caller asks MLflow.
Nothing is written; what gaorg trusts for promotion is still read through MLflow and checked.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from gaorg.config import Settings

DELETED = "Deleted_Internal"  # MLflow keeps deleted versions as rows in this stage
NEEDS = {"registered_models": {"name"}, "model_versions": {"name", "version", "current_stage", "run_id",
                                                           "source", "description"},
         "model_version_tags": {"key", "value", "name", "version"},
         "registered_model_aliases": {"alias", "version", "name"}}


@dataclass(frozen=True)
class Row:
    """One model version as the registry holds it (the fields ``VersionInfo`` is built from)."""

    name: str
    version: str
    run_id: str | None
    source: str
    description: str
    tags: dict[str, str]


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///PATH`` tracking URI (None for any other store)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = unquote(uri[len("sqlite:///"):].split("?", 1)[0])  # as SQLAlchemy: relative unless it starts with /
    return Path(path) if path and path != ":memory:" else None


def read_registry(settings: Settings, name: str | None = None
                  ) -> tuple[list[str], dict[str, dict[str, str]], dict[str, list[Row]]] | None:
    """(model names, aliases per model, live versions per model) read straight from a sqlite store.

    None when the store is not a local sqlite file gaorg can read this way: the caller asks MLflow.
    ``name`` limits the versions read to one model (every name is still returned).
    """
    path = sqlite_file(settings.tracking_uri)
    if path is None or not path.is_file() or os.environ.get("MLFLOW_WORKSPACE") \
            or os.environ.get("MLFLOW_ENABLE_WORKSPACES", "").lower() in ("1", "true"):
        return None
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5) as db:
            return _read(db, name)
    except sqlite3.Error:
        return None


def _read(db: sqlite3.Connection, name: str | None):  # noqa: ANN202 - see read_registry
    columns = {t: {r[1] for r in db.execute(f"PRAGMA table_info({t})")} for t in NEEDS}
    if any(not NEEDS[t] <= columns[t] for t in NEEDS):
        return None
    space = {t: ("workspace" in columns[t]) for t in NEEDS}

    def where(table: str, *clauses: str) -> str:
        parts = [*clauses, *(["workspace = 'default'"] if space[table] else [])]
        return f" WHERE {' AND '.join(parts)}" if parts else ""

    one = ("name = ?",) if name is not None else ()
    arg = (name,) if name is not None else ()
    names = [r[0] for r in db.execute(f"SELECT name FROM registered_models{where('registered_models')}")]
    aliases: dict[str, dict[str, str]] = {}
    for alias, version, model in db.execute(
            f"SELECT alias, version, name FROM registered_model_aliases{where('registered_model_aliases', *one)}",
            arg):
        aliases.setdefault(model, {})[alias] = str(version)
    tags: dict[tuple[str, str], dict[str, str]] = {}
    for key, value, model, version in db.execute(
            f"SELECT key, value, name, version FROM model_version_tags{where('model_version_tags', *one)}", arg):
        tags.setdefault((model, str(version)), {})[key] = value if value is not None else ""
    versions: dict[str, list[Row]] = {}
    for model, version, run_id, source, description in db.execute(
            "SELECT name, version, run_id, source, description FROM model_versions"
            f"{where('model_versions', 'current_stage IS NOT ?', *one)}", (DELETED, *arg)):
        versions.setdefault(model, []).append(Row(model, str(version), run_id, source or "", description or "",
                                                  tags.get((model, str(version)), {})))
    return names, aliases, versions
