"""A registered version explained in Markdown: its rules, its figures and its decisions.

MLflow renders a model version's description as Markdown; gaorg writes there what a researcher
needs to judge the version (the genome's rules and parameters, each figure with the window it
covers, where it came from) and rewrites its "Decisions" section after every decision (promoted,
rejected with the failing gates, forced, demoted, rolled back). The tags keep only what gaorg reads.
"""

from __future__ import annotations

from typing import Any

from gaorg.quantities import QUANTITIES, decision_line, genome_rules

DECISIONS = "### Decisions"
MAX_CHARS = 5000
"""MLflow's limit on a version description."""


def version_description(member: Any, *, rank: int, count: int, run_id: str, evolution_run_id: str) -> str:
    """The Markdown description of a ``FrontMember``'s version, before any decision."""
    held = member.holdout_summary()
    figures = [("wf.sharpe", member.sharpe), ("wf.max_drawdown", member.max_drawdown),
               ("wf.consistency", member.consistency), ("deflated_sharpe", member.deflated_sharpe),
               ("holdout.sharpe", held["sharpe"]), ("holdout.max_drawdown", held["max_drawdown"]),
               ("holdout.trades", held["trades"]), ("holdout.total_return", held["total_return"])]
    rows = "\n".join(f"| {QUANTITIES[k].label} | {QUANTITIES[k].window} | {QUANTITIES[k].fmt(v)} |"
                     for k, v in figures)
    rules = "\n".join(f"- {line}" for line in genome_rules(member.genome))
    parents = ", ".join(f"`{p}`" for p in member.parents) or "none (sampled)"
    return (
        f"**{' + '.join(member.genome.modules)}**, genome `{member.genome_hash}`: rank {rank + 1} of {count} "
        f"by walk-forward Sharpe in MLflow run `{run_id}` (gaorg run `{evolution_run_id}`), found at stage "
        f"{member.stage} ({member.timeframe}), generation {member.generation}; parents {parents}.\n\n"
        f"### Rules\n{rules}\n\n"
        f"### Figures\n| figure | window | value |\n| --- | --- | --- |\n{rows}\n\n"
        f"{DECISIONS}\nnone yet (`gaorg promote NAME VERSION` runs the gates)\n"
    )


def with_history(description: str, history: list[dict[str, Any]]) -> str:
    """``description`` with its Decisions section rewritten from ``history`` (oldest first)."""
    head = description.split(DECISIONS, 1)[0].rstrip() if description else ""
    lines = [f"- {decision_line(e)}" for e in history if isinstance(e, dict)]
    text = f"{head}\n\n{DECISIONS}\n" if head else f"{DECISIONS}\n"
    body = "\n".join(lines) + "\n"
    while len(text) + len(body) > MAX_CHARS and len(lines) > 1:  # keep the newest decisions
        lines = lines[1:]
        body = "- (older decisions in the history.NNNN tags)\n" + "\n".join(lines) + "\n"
    return (text + body)[:MAX_CHARS]
