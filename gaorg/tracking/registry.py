"""The model registry: front strategies as versions of a named model, aliases, and their history.

A version's description (Markdown, :mod:`gaorg.tracking.describe`) explains it to a person: the
genome's rules, each figure with its window, its lineage and every decision. Its few tags are what
gaorg reads: the genome hash and modules, the figures ``gaorg models`` lists, the hold-out sums,
and ``rescore.series`` / ``rescore.costs`` (the basis of re-scoring for runs registered before the
run param ``gaorg.rescore``). Aliases (``production``, ``previous``) are read from the registry
every time: one set by hand in the MLflow UI counts the same as one set here. Every decision about
a version is appended to its tags as ``history.NNNN`` (JSON) and rewritten into its description.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gaorg.config import Settings
from gaorg.errors import InputError, NotFoundError
from gaorg.tracking.store import make_client, tracking_errors

PRODUCTION = "production"
PREVIOUS = "previous"
HISTORY = "history."
HOLDOUT_MDD = "holdout.worst_max_drawdown"
HOLDOUT_TRADES = "holdout.total_trades"
REGISTERED_PARAM = "gaorg.registered"
"""The run param that records, once and for good (MLflow params cannot be changed), each genome the
run registered with its deflated Sharpe and how many candidates the run registered (each one look
at the same hold-out): ``{"HASH": {"deflated_sharpe": x, "holdout_candidates": n}, ...}`` as JSON.
Runs registered before ``holdout_candidates`` was recorded count their entries instead. Each entry
also names the genome's ``timeframe`` (the stage it was found in)."""
RESCORE_PARAM = "gaorg.rescore"
"""The run param recording what promotion re-scores on, for good: ``{"costs": {"fee": f, "slippage": s},
"series": {"1h": [[exchange, symbol, timeframe, hold-out start ms], ...], ...}}`` as JSON (the same
values as the versions' ``rescore.costs`` / ``rescore.series`` tags, which anyone can edit)."""


class TagError(InputError):
    """A version's tag is not what gaorg wrote (not JSON, the wrong shape): it was edited by hand."""


def json_tag(info: VersionInfo, key: str, default: Any = None) -> Any:
    """The JSON value of the version's tag ``key`` (``default`` when absent); TagError if it is not JSON."""
    text = info.tags.get(key)
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        detail = "nested too deep" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise tag_error(info, key, f"is not JSON ({detail})") from None


def tag_error(info: VersionInfo, key: str, problem: str) -> TagError:
    """The TagError for the version's tag ``key`` and what is wrong with it."""
    return TagError(
        f"{info.name} version {info.version}: its tag {key!r} {problem}; gaorg wrote it at registration, so "
        "it was edited: restore it (the source run's lineage.json and config hold the originals) or "
        "register the strategy again"
    )


@dataclass(frozen=True)
class VersionInfo:
    """One registered version: where it came from, its aliases and tags."""

    name: str
    version: str
    run_id: str | None
    source: str
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def genome_hash(self) -> str:
        return self.tags.get("genome_hash", "")

    def figure(self, tag: str) -> float:
        """A numeric tag (NaN when absent or not a number)."""
        try:
            return float(self.tags[tag])
        except (KeyError, ValueError):
            return math.nan

    def history(self) -> list[dict[str, Any]]:
        """The decisions logged on this version, oldest first (TagError if one is not JSON)."""
        keys = sorted(k for k in self.tags if k.startswith(HISTORY))
        return [json_tag(self, k) for k in keys]

    def to_dict(self) -> dict[str, Any]:
        """The version as ``gaorg models --json`` lists it (hold-out drawdown worst and trades total
        over the basket, as the gates count them; None for versions registered before they were)."""
        from gaorg.quantities import why_rejected

        try:
            why = why_rejected(self.history())
        except TagError as exc:
            why = f"unreadable history ({str(exc)[:80]})"
        return {"name": self.name, "version": self.version, "run_id": self.run_id,
                "aliases": list(self.aliases), "genome_hash": self.genome_hash,
                "modules": self.tags.get("modules", ""),
                "holdout_sharpe": _none_if_nan(self.figure("holdout.sharpe")),
                "holdout_max_drawdown": _none_if_nan(self.figure(HOLDOUT_MDD)),
                "holdout_trades": _none_if_nan(self.figure(HOLDOUT_TRADES)),
                "deflated_sharpe": _none_if_nan(self.figure("deflated_sharpe")),
                "sharpe": _none_if_nan(self.figure("objective.sharpe")),
                "max_drawdown": _none_if_nan(self.figure("objective.max_drawdown")),
                "rejected": why}


def version_tags(member: Any, *, series: Iterable[Any] = (), costs: Mapping[str, Any] | None = None,
                 candidates: int = 1) -> dict[str, str]:
    """The few tags of a ``FrontMember``'s version (``series``: its timeframe's SeriesLineage).

    What gaorg reads (genome hash, the figures ``gaorg models`` lists and ``--no-rescore`` gates on,
    the hold-out sums, the re-scoring basis of runs without ``gaorg.rescore``); everything else (rules,
    lineage, every figure with its window, the decisions) is in the version's Markdown description.
    The hold-out figures are summarised over the basket as the gates do: mean Sharpe, worst max
    drawdown (``holdout.worst_max_drawdown``), total trades (``holdout.total_trades``).
    ``candidates``: how many versions this run registers, each a look at the same hold-out (tag
    ``holdout.candidates``, for people; the hold-out gate reads the count from the run's record).
    """
    held = member.holdout_summary()
    tags = {
        "genome_hash": member.genome_hash,
        "modules": "+".join(member.genome.modules),
        "objective.sharpe": _num(member.sharpe),
        "objective.max_drawdown": _num(member.max_drawdown),
        "deflated_sharpe": _num(member.deflated_sharpe),
        "holdout.sharpe": _num(held["sharpe"]),
        HOLDOUT_MDD: _num(held["max_drawdown"]),
        HOLDOUT_TRADES: _num(held["trades"]),
    }
    if getattr(member, "holdout_sums", ()):
        tags["holdout.sums"] = json.dumps([float(x) for x in member.holdout_sums])
    tags["holdout.candidates"] = str(int(candidates))
    rescore = rescore_rows(series)
    if rescore:
        tags["rescore.series"] = json.dumps(rescore)
    if costs is not None:
        tags["rescore.costs"] = json.dumps(dict(costs), sort_keys=True)
    return tags


def rescore_rows(series: Iterable[Any]) -> list[list[Any]]:
    """``[exchange, symbol, timeframe, hold-out start ms]`` of each SeriesLineage with a hold-out."""
    return [[s.exchange, s.symbol, s.timeframe, s.holdout_start] for s in series if s.holdout_start is not None]


def rescore_record(costs: Mapping[str, Any], series: Mapping[str, Iterable[Any]]) -> str:
    """The value of :data:`RESCORE_PARAM`: the costs and each timeframe's hold-out series."""
    return json.dumps({"costs": dict(costs), "series": {tf: rescore_rows(s) for tf, s in series.items()}},
                      sort_keys=True)


def register_versions(client: Any, settings: Settings, name: str, entries: list[tuple[Any, ...]],
                      description: str = "") -> list[VersionInfo]:
    """Register each ``(LoggedStrategy, tags[, Markdown description])`` as a new version of ``name``,
    all or nothing.

    If any registration fails, the versions made by this call are deleted (and the registered
    model too when this call created it), then TrackingError is raised.
    """
    from mlflow.exceptions import MlflowException

    created_model = False
    done: list[VersionInfo] = []
    try:
        with tracking_errors(settings, f"registering model {name!r}"):
            try:
                client.create_registered_model(name, description=description or None)
                created_model = True
            except MlflowException as exc:
                if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                    raise
            for logged, tags, *text in entries:
                mv = client.create_model_version(
                    # the storage location and both ids: given models:/ID or no run id, MLflow
                    # looks the model up on the *global* tracking URI (a stray ./mlflow.db)
                    name, source=logged.artifact_location, run_id=logged.run_id, tags=tags,
                    model_id=logged.model_id,
                    description=text[0] if text else f"{tags.get('modules', '')} (genome {logged.genome_hash})",
                )
                done.append(VersionInfo(name, str(mv.version), mv.run_id, mv.source, (), dict(tags)))
    except BaseException:
        _undo(client, name, done, created_model)
        raise
    return done


def _undo(client: Any, name: str, done: list[VersionInfo], created_model: bool) -> None:
    """Best effort: remove what a failed registration made (the store may be gone)."""
    try:
        for info in done:
            client.delete_model_version(name, info.version)
        if created_model:
            client.delete_registered_model(name)
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


def registered_record(members: Iterable[Any]) -> str:
    """The value of :data:`REGISTERED_PARAM` for the front members a run registers (all of them)."""
    members = list(members)
    return json.dumps({m.genome_hash: {"deflated_sharpe": _none_if_nan(m.deflated_sharpe),
                                       "holdout_candidates": len(members), "timeframe": m.timeframe}
                       for m in members}, sort_keys=True)


def run_record(client: Any, settings: Settings, info: VersionInfo) -> dict[str, Any]:
    """What the run that made ``info`` recorded of it in :data:`REGISTERED_PARAM` (GenomeError if nothing).

    A version's tags and artifacts can be edited by whoever can write the registry's tags or the
    artifact folder; a run's params cannot be changed once logged, so the genome hash and the
    figures the gates trust are checked against them. The entry always has ``holdout_candidates``
    (a run that did not record it registered one candidate per entry).
    """
    from gaorg.errors import GenomeError

    where = f"{info.name} version {info.version}"
    if not info.run_id:
        raise GenomeError(f"refusing {where}: it names no source run, so its genome cannot be checked; "
                          "register strategies with `gaorg evolve --register NAME`")
    with tracking_errors(settings, f"reading the run of {where}"):
        params = client.get_run(info.run_id).data.params
    try:
        record = json.loads(params.get(REGISTERED_PARAM, ""))
    except ValueError:
        record = None
    entry = record.get(info.genome_hash) if isinstance(record, dict) and info.genome_hash else None
    if not isinstance(entry, dict):
        raise GenomeError(
            f"refusing {where}: its genome_hash tag {info.genome_hash or '(none)'} is not a genome its run "
            f"{info.run_id} registered (run param {REGISTERED_PARAM}); the version was registered by hand "
            "or its tag was changed"
        )
    count = entry.get("holdout_candidates", len(record))
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise GenomeError(f"refusing {where}: run {info.run_id} recorded {count!r} hold-out candidates in "
                          f"{REGISTERED_PARAM}, not a count; register the strategies again")
    return {**entry, "holdout_candidates": count}


def get_version(client: Any, settings: Settings, name: str, version: str | int) -> VersionInfo:
    """Version ``version`` of ``name`` (NotFoundError names what exists; InputError if not a number)."""
    text = str(version).strip()
    if not (text.isascii() and text.isdigit()):  # MLflow's own refusal read as a store failure (exit 1)
        raise InputError(f"version {version!r} is not a version number; give one as `gaorg models {name}` "
                         "lists them, e.g. 1")  # isascii: '²' is a digit to str.isdigit, not to int()
    version = text  # ' 1' is version 1
    with tracking_errors(settings, f"reading {name} version {version}"):
        _require_model(client, name)
        try:
            mv = client.get_model_version(name, str(version))
        except Exception as exc:  # noqa: BLE001 - re-raised below as NotFoundError when missing
            if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")):
                raise NotFoundError(
                    f"model {name!r} has no version {version}; versions: {_versions(client, name)}"
                ) from None
            raise
    return _info(mv)


def version_by_alias(client: Any, settings: Settings, name: str, alias: str) -> VersionInfo | None:
    """The version ``NAME@alias`` names, or None when the alias is not set."""
    with tracking_errors(settings, f"reading {name}@{alias}"):
        model = _require_model(client, name)
        if alias not in (model.aliases or {}):
            return None
        return _info(client.get_model_version_by_alias(name, alias))


def set_alias(client: Any, settings: Settings, name: str, alias: str, version: str) -> None:
    with tracking_errors(settings, f"setting {name}@{alias}"):
        client.set_registered_model_alias(name, alias, str(version))


def append_history(client: Any, settings: Settings, info: VersionInfo, entry: Mapping[str, Any]) -> str:
    """Add ``entry`` to the version's decision history (tag ``history.NNNN``); returns the tag key."""
    with tracking_errors(settings, f"logging a decision on {info.name} version {info.version}"):
        current = client.get_model_version(info.name, info.version).tags or {}
        index = 1 + max((int(k[len(HISTORY):]) for k in current if k.startswith(HISTORY)
                         and k[len(HISTORY):].isdigit()), default=0)
        key = f"{HISTORY}{index:04d}"
        client.set_model_version_tag(info.name, info.version, key, json.dumps(dict(entry), sort_keys=True))
        mv = client.get_model_version(info.name, info.version)
        now = VersionInfo(info.name, info.version, mv.run_id, mv.source, (), dict(mv.tags or {}))
        try:
            history = now.history()
        except TagError:  # a hand-edited older entry: describe the ones that read
            history = [dict(entry)]
        from gaorg.tracking.describe import with_history

        client.update_model_version(info.name, info.version, description=with_history(mv.description or "", history))
    return key


def list_models(settings: Settings, name: str | None = None) -> list[dict[str, Any]]:
    """Registered models with their versions (newest first), figures and aliases.

    A local sqlite store is read directly (:mod:`gaorg.tracking.listing`: no MLflow import, well
    under a second); any other store through MLflow.
    """
    from gaorg.tracking.listing import read_registry

    fast = read_registry(settings, name)
    if fast is not None:
        names, aliases, rows = fast
        if name is not None and name not in names:
            raise _unknown(name, names)
        out = []
        for model in sorted(n for n in names if name is None or n == name):
            known = aliases.get(model, {})
            infos = [VersionInfo(r.name, r.version, r.run_id, r.source,
                                 tuple(sorted(a for a, v in known.items() if v == r.version)), r.tags)
                     for r in rows.get(model, [])]
            out.append({"name": model, "aliases": dict(known),
                        "versions": [i.to_dict() for i in sorted(infos, key=lambda i: -int(i.version))]})
        return out
    client = make_client(settings)
    out = []
    with tracking_errors(settings, "listing registered models"):
        models = [_require_model(client, name)] if name else client.search_registered_models()
        for model in sorted(models, key=lambda m: m.name):
            versions = client.search_model_versions(f"name = '{_quote(model.name)}'")
            infos = sorted((_info(v, model.aliases) for v in versions), key=lambda i: -int(i.version))
            out.append({"name": model.name, "aliases": {a: str(v) for a, v in (model.aliases or {}).items()},
                        "versions": [i.to_dict() for i in infos]})
    return out


def _unknown(name: str, known: list[str]) -> NotFoundError:
    from gaorg.config import did_you_mean

    return NotFoundError(
        f"no registered model {name!r}{did_you_mean(name, known)}; registered: "
        f"{', '.join(sorted(known)) or 'none yet (gaorg evolve --register NAME)'}"
    )


def _require_model(client: Any, name: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise _unknown(name, [m.name for m in client.search_registered_models()]) from None
        raise


def _versions(client: Any, name: str) -> str:
    found = sorted(int(v.version) for v in client.search_model_versions(f"name = '{_quote(name)}'"))
    return ", ".join(map(str, found)) or "none"


def _info(mv: Any, aliases: Mapping[str, str] | None = None) -> VersionInfo:
    names = tuple(mv.aliases or ())
    if aliases is not None:
        names = tuple(sorted(a for a, v in aliases.items() if str(v) == str(mv.version)))
    return VersionInfo(mv.name, str(mv.version), mv.run_id, mv.source, names, dict(mv.tags or {}))


def check_model_name(name: str, where: str = "--register") -> str:
    """``name`` if MLflow can register a model under it, else InputError: checked before an
    evolution starts, so a bad name does not fail its registration at the end of the run."""
    if not name.strip():
        raise InputError(f"{where} needs a model name, e.g. trend-4h; got {name!r}")
    bad = [c for c in ("/", ":", "'") if c in name]
    if bad:
        fixed = "".join("-" if c in bad else c for c in name)
        raise InputError(f"{where} {name!r}: a model name cannot contain {' or '.join(map(repr, bad))}; "
                         f"use letters, digits, - and _, e.g. {fixed!r}")
    if name == "." or name.startswith(".."):  # MLflow's path_not_unique, once '/' is out
        raise InputError(f"{where} {name!r}: a model name cannot be '.' or start with '..'; "
                         f"use letters, digits, - and _, e.g. {name.lstrip('.') or 'trend-4h'!r}")
    return name


def _quote(name: str) -> str:
    if "'" in name:
        raise InputError(f"model name {name!r} contains a quote; use letters, digits, - and _")
    return name


def _num(value: Any) -> str:
    return repr(float(value)) if value is not None else "nan"


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value
