"""Promotion through gates, rollback, and the decision history on each version.

``promote(name, version)`` runs the gates of DESIGN.md on the candidate:

1. hold-out Sharpe above the current champion's (``NAME@production``) by ``margin``, both
   re-scored on the newest data in the market store, over the candidate's hold-out series from
   its recorded hold-out start to the last stored bar, with the candidate's recorded costs;
   with no champion yet, above ``min_holdout_sharpe`` (an edge, not merely a figure);
2. deflated Sharpe ratio (recorded by the evolution: the walk-forward returns, deflated for every
   genome the run evaluated) at or above ``min_deflated_sharpe``;
3. hold-out deflated Sharpe ratio (the hold-out's returns, deflated for the candidates the run
   registered, each a look at the same hold-out) at or above ``min_holdout_dsr``: an edge that
   stopped where the hold-out starts fails here;
4. hold-out max drawdown (the worst over the series) at or below ``max_drawdown``;
5. hold-out trades (summed over the series) at least ``min_trades``.

All pass: ``production`` moves to the version and the old champion gets ``previous``. Any fails:
no alias moves and GateFailedError is raised, unless ``force=True`` with a reason, which promotes
and records who, when and why. ``rollback(name)`` swaps ``production`` and ``previous``. Every
decision is appended to the version's tag history (``history.NNNN``); aliases are read from the
registry each time, so one set by hand in the MLflow UI counts like one set here.
"""

from __future__ import annotations

import datetime as dt
import getpass
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from gaorg.config import Settings
from gaorg.errors import ConfigError, GateFailedError, InputError, NotFoundError
from gaorg.quantities import gate_fmt
from gaorg.tracking.registry import (
    PREVIOUS,
    PRODUCTION,
    VersionInfo,
    append_history,
    set_alias,
    version_by_alias,
)
from gaorg.tracking.store import make_client, tracking_errors

OPS = {"hold-out Sharpe": ">", "deflated Sharpe": ">=", "hold-out deflated Sharpe": ">=",
       "hold-out max drawdown": "<=", "hold-out trades": ">="}
"""How each gate compares its figure with its threshold."""


@dataclass(frozen=True)
class Gates:
    """Thresholds of the promotion gates (see the module docstring)."""

    margin: float = 0.1
    min_deflated_sharpe: float = 0.95
    max_drawdown: float = 0.3
    min_trades: int = 10
    min_holdout_dsr: float = 0.95
    min_holdout_sharpe: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_deflated_sharpe <= 1.0:
            raise ConfigError(f"min_deflated_sharpe: {self.min_deflated_sharpe} must be a probability in [0, 1]")
        if not 0.0 <= self.min_holdout_dsr <= 1.0:
            raise ConfigError(f"min_holdout_dsr: {self.min_holdout_dsr} must be a probability in [0, 1]")
        if not math.isfinite(self.min_holdout_sharpe):
            raise ConfigError(f"min_holdout_sharpe: {self.min_holdout_sharpe} must be a finite Sharpe ratio, e.g. 0")
        if not 0.0 < self.max_drawdown <= 1.0:
            raise ConfigError(f"max_drawdown: {self.max_drawdown} must be a fraction in (0, 1], e.g. 0.3")
        if self.min_trades < 0:
            raise ConfigError(f"min_trades: {self.min_trades} cannot be negative")


@dataclass(frozen=True)
class GateResult:
    """One gate: its figure, the threshold it was held to, the verdict and how it was measured."""

    name: str
    figure: float
    threshold: float
    passed: bool
    detail: str = ""

    def line(self) -> str:
        """``PASS|FAIL  name  figure  (needs ...)``, the figure in its quantity's one format."""
        verdict = "PASS" if self.passed else "FAIL"
        return f"  {verdict}  {self.name:<24} {gate_fmt(self.name, self.figure):>9}  (needs {self.detail})"


@dataclass(frozen=True)
class Decision:
    """What ``promote``/``rollback`` did (or refused), with the gates and who decided when."""

    action: str  # promoted | forced | rejected | rolled back
    name: str
    version: str
    champion: str | None
    by: str
    at: str
    reason: str = ""
    gates: tuple[GateResult, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def text(self) -> str:
        head = f"{self.name} version {self.version}: {self.action}"
        if self.champion:
            head += f" (champion was version {self.champion})"
        lines = [head, *[g.line() for g in self.gates]]
        if self.reason:
            lines.append(f"  reason: {self.reason} (by {self.by} at {self.at})")
        if self.aliases:
            lines.append("  aliases now: " + ", ".join(f"{a} -> {v}" for a, v in sorted(self.aliases.items())))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["gates"] = [{**asdict(g), "figure": _finite(g.figure), "threshold": _finite(g.threshold)}
                        for g in self.gates]
        out["passed"] = self.passed
        return out

    def history_entry(self) -> dict[str, Any]:
        return {"action": self.action, "by": self.by, "at": self.at, "reason": self.reason,
                "champion": self.champion,  # per gate: figure, verdict, threshold, comparison
                "gates": {g.name: [_finite(g.figure), g.passed, _finite(g.threshold), OPS.get(g.name, "")]
                          for g in self.gates}}


def promote(name: str, version: str | int, settings: Settings, gates: Gates = Gates(), *,
            force: bool = False, reason: str = "", rescore: bool = True) -> Decision:
    """Run the gates on ``name`` version ``version``; move the aliases when they pass (or forced).

    Raises GateFailedError (``.decision`` holds the gates) when a gate fails without ``force``.
    """
    from gaorg.tracking.loader import load_version_genome
    from gaorg.tracking.registry import run_record
    from gaorg.tracking.rescore import holdout_figures

    if force and not reason.strip():
        raise InputError("--force needs --reason TEXT: say why the gates are overridden (it is recorded)")
    client = make_client(settings)
    genome, info = load_version_genome(name, version, settings)
    champion = version_by_alias(client, settings, name, PRODUCTION)
    if champion is not None and champion.version == info.version:
        raise InputError(f"{name} version {info.version} is already {name}@{PRODUCTION}; nothing to promote")
    record = run_record(client, settings, info)  # the run's unchangeable figures, not the version's tags
    k = record["holdout_candidates"]
    figures, how = holdout_figures(genome, info, info, settings, rescore, candidates=k)
    results = [_sharpe_gate(figures, champion, info, settings, gates, rescore, how)]
    dsr = record.get("deflated_sharpe")
    dsr = float(dsr) if isinstance(dsr, (int, float)) and not isinstance(dsr, bool) else math.nan
    results.append(GateResult("deflated Sharpe", dsr, gates.min_deflated_sharpe,
                              _ge(dsr, gates.min_deflated_sharpe),
                              f">= {gate_fmt('deflated Sharpe', gates.min_deflated_sharpe)}, walk-forward, "
                              f"recorded by run {info.run_id}"))
    hdsr = figures["deflated_sharpe"]
    note = "" if not math.isnan(hdsr) else (
        "; not recorded for this version (registered before this gate existed): re-score it, or "
        "pass --min-holdout-dsr 0 to waive the gate")
    results.append(GateResult("hold-out deflated Sharpe", hdsr, gates.min_holdout_dsr,
                              _ge(hdsr, gates.min_holdout_dsr),
                              f">= {gate_fmt('hold-out deflated Sharpe', gates.min_holdout_dsr)}, among {k} "
                              f"candidate{'s' if k != 1 else ''} "
                              f"(recorded by run {info.run_id}); {how}{note}"))
    mdd = figures["max_drawdown"]
    results.append(GateResult("hold-out max drawdown", mdd, gates.max_drawdown,
                              not math.isnan(mdd) and mdd <= gates.max_drawdown,
                              f"<= {gate_fmt('hold-out max drawdown', gates.max_drawdown)}, worst over the "
                              f"basket; {how}"))
    trades = figures["trades"]
    results.append(GateResult("hold-out trades", trades, gates.min_trades, _ge(trades, gates.min_trades),
                              f">= {gates.min_trades}, total over the basket; {how}"))
    passed = all(r.passed for r in results)
    action = "promoted" if passed else ("forced" if force else "rejected")
    decision = Decision(action, name, info.version, champion.version if champion else None, _who(), _now(),
                        reason.strip(), tuple(results))
    if action == "rejected":
        append_history(client, settings, info, decision.history_entry())
        error = GateFailedError(decision.text() + "\nnothing changed; add --force --reason TEXT to promote anyway")
        error.decision = decision  # type: ignore[attr-defined]
        raise error
    aliases = _move(client, settings, name, info.version, champion)
    decision = Decision(action, name, info.version, decision.champion, decision.by, decision.at,
                        decision.reason, decision.gates, aliases)
    if force:
        with tracking_errors(settings, "recording --force"):
            for key, value in (("forced.by", decision.by), ("forced.at", decision.at),
                               ("forced.reason", decision.reason)):
                client.set_model_version_tag(name, info.version, key, value)
    append_history(client, settings, info, decision.history_entry())
    if champion is not None:
        append_history(client, settings, champion, {"action": "demoted", "by": decision.by, "at": decision.at,
                                                    "to": PREVIOUS, "replaced_by": info.version})
    return decision


def promote_first_passing(name: str, versions: list[int] | list[str], settings: Settings, gates: Gates = Gates(),
                          reason: str = "") -> tuple[list[Decision], str | None]:
    """Gate ``versions`` in order (best first); promote the first that passes every gate.

    Returns every decision taken (rejections included) and the promoted version, or None.
    A version that already is the champion is skipped; any other error (a missing series, a
    refused genome, an unreachable store) is raised, never taken for a rejection.
    """
    champion = version_by_alias(make_client(settings), settings, name, PRODUCTION)
    decisions: list[Decision] = []
    for version in versions:
        if champion is not None and str(version) == champion.version:
            continue
        try:
            decision = promote(name, version, settings, gates, reason=reason)
        except GateFailedError as exc:
            decisions.append(exc.decision)  # type: ignore[attr-defined]
            continue
        decisions.append(decision)
        return decisions, decision.version
    return decisions, None


def rollback(name: str, settings: Settings, reason: str = "") -> Decision:
    """Move ``production`` back to ``previous`` (and ``previous`` to the version rolled back from)."""
    client = make_client(settings)
    current = version_by_alias(client, settings, name, PRODUCTION)
    before = version_by_alias(client, settings, name, PREVIOUS)
    if before is None:
        raise NotFoundError(f"model {name!r} has no {PREVIOUS!r} version to roll back to "
                            f"(it is set when `gaorg promote` replaces a champion)")
    if current is not None and current.version == before.version:
        raise InputError(f"{name}@{PRODUCTION} and {name}@{PREVIOUS} are both version {before.version}")
    with tracking_errors(settings, f"rolling back {name}"):
        set_alias(client, settings, name, PRODUCTION, before.version)
        if current is not None:
            set_alias(client, settings, name, PREVIOUS, current.version)
    aliases = {PRODUCTION: before.version, **({PREVIOUS: current.version} if current else {})}
    decision = Decision("rolled back", name, before.version, current.version if current else None, _who(),
                        _now(), reason.strip(), (), aliases)
    append_history(client, settings, before, decision.history_entry())
    if current is not None:
        append_history(client, settings, current, {"action": "rolled back from", "by": decision.by,
                                                   "at": decision.at, "to": before.version,
                                                   "reason": decision.reason})
    return decision


def _sharpe_gate(figures: dict[str, float], champion: VersionInfo | None, info: VersionInfo,
                 settings: Settings, gates: Gates, rescore: bool, how: str) -> GateResult:
    from gaorg.tracking.loader import read_genome
    from gaorg.tracking.rescore import holdout_figures

    sharpe = figures["sharpe"]
    if champion is None:
        floor = gates.min_holdout_sharpe
        return GateResult("hold-out Sharpe", sharpe, floor, _gt(sharpe, floor),
                          f"> {gate_fmt('hold-out Sharpe', floor)}, no champion yet; mean over the basket; {how}")
    champ_genome = read_genome(make_client(settings), settings, champion)
    champ, _ = holdout_figures(champ_genome, champion, info, settings, rescore)
    bar = champ["sharpe"] + gates.margin
    return GateResult("hold-out Sharpe", sharpe, bar, _gt(sharpe, bar),
                      f"> {gate_fmt('hold-out Sharpe', bar)} = champion v{champion.version} "
                      f"{gate_fmt('hold-out Sharpe', champ['sharpe'])} + margin {gates.margin:g}; mean over the "
                      f"basket; {how}")


def _move(client: Any, settings: Settings, name: str, version: str, champion: VersionInfo | None) -> dict[str, str]:
    aliases = {PRODUCTION: version}
    if champion is not None:
        set_alias(client, settings, name, PREVIOUS, champion.version)
        aliases[PREVIOUS] = champion.version
    set_alias(client, settings, name, PRODUCTION, version)
    return aliases


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ge(value: float, bar: float) -> bool:
    return not math.isnan(value) and value >= bar


def _gt(value: float, bar: float) -> bool:
    return not math.isnan(value) and value > bar


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value
