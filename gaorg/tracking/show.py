"""``gaorg models --show NAME VERSION``: one version in full, its rules and parameters first.

The genome is read through the safe loader (genome.json, validated and checked against the hash
its run recorded), so what is shown is what promotion and the live runner would trade.
"""

from __future__ import annotations

from typing import Any

from gaorg.config import Settings
from gaorg.quantities import QUANTITIES, decision_line, genome_rules

SHOWN = (("wf.sharpe", "sharpe"), ("wf.max_drawdown", "max_drawdown"), ("deflated_sharpe", "deflated_sharpe"),
         ("holdout.sharpe", "holdout_sharpe"), ("holdout.max_drawdown", "holdout_max_drawdown"),
         ("holdout.trades", "holdout_trades"))
"""The figures shown: (quantity, key of ``VersionInfo.to_dict``)."""


def show_version(settings: Settings, name: str, version: str) -> tuple[str, dict[str, Any]]:
    """(text, JSON payload) describing ``name`` version ``version``: rules, figures, decisions."""
    from gaorg.tracking.loader import load_version_genome

    genome, info = load_version_genome(name, version, settings)
    row = info.to_dict()
    aliases = " ".join(f"@{a}" for a in _aliases(settings, name, info.version))
    lines = [f"{name} version {info.version} {aliases}".rstrip(),
             f"  genome {info.genome_hash} ({'+'.join(genome.modules)}), registered by run {info.run_id}",
             "rules:", *[f"  {line}" for line in genome_rules(genome)], "figures (recorded at registration):"]
    for key, field in SHOWN:
        q = QUANTITIES[key]
        lines.append(f"  {q.label:<26} {q.fmt(row.get(field)):>7}   {q.window}")
    history = info.history()
    lines.append("decisions:" if history else "decisions: none yet")
    lines.extend(f"  {decision_line(e)}" for e in history)
    payload = {**row, "aliases": _aliases(settings, name, info.version), "genome": genome.to_dict(),
               "rules": genome_rules(genome), "history": history}
    return "\n".join(lines), payload


def _aliases(settings: Settings, name: str, version: str) -> list[str]:
    from gaorg.tracking.store import make_client, tracking_errors

    with tracking_errors(settings, f"reading the aliases of {name}"):
        model = make_client(settings).get_registered_model(name)
    return sorted(a for a, v in (model.aliases or {}).items() if str(v) == str(version))
