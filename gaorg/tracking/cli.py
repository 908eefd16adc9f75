"""``gaorg promote | rollback | models | ui`` (registered by gaorg.cli; handlers import MLflow lazily)."""

from __future__ import annotations

import argparse
from typing import Any

PROMOTE_EPILOG = """\
Gates: hold-out Sharpe above the champion's (NAME@production) by --margin, both re-scored on the
newest data in the market store with the candidate's costs (a first champion: above
--min-holdout-sharpe); deflated Sharpe >= --min-dsr; hold-out deflated Sharpe (for the run's
registered candidates) >= --min-holdout-dsr; hold-out max drawdown <= --max-drawdown; hold-out
trades >= --min-trades. On pass, production
moves to VERSION and the old champion becomes NAME@previous; on fail nothing moves (exit 1)
unless --force --reason TEXT (recorded with who and when). Every decision is logged on the version.
"""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add promote, rollback, models and ui to the ``gaorg`` parser."""
    p = sub.add_parser("promote", parents=[common], help="promote a model version to production through the gates",
                       epilog=PROMOTE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="registered model name")
    p.add_argument("version", help="version number to promote")
    p.add_argument("--margin", type=float, default=0.1, help="Sharpe above the champion's by (default 0.1)")
    p.add_argument("--min-dsr", type=float, default=0.95, help="minimum deflated Sharpe ratio (default 0.95)")
    p.add_argument("--max-drawdown", type=float, default=0.3, help="hold-out drawdown ceiling (default 0.3)")
    p.add_argument("--min-trades", type=int, default=10, help="minimum hold-out trades (default 10)")
    p.add_argument("--min-holdout-dsr", type=float, default=0.95,
                   help="minimum hold-out deflated Sharpe ratio (default 0.95)")
    p.add_argument("--min-holdout-sharpe", type=float, default=0.0,
                   help="hold-out Sharpe a first champion must beat (default 0)")
    p.add_argument("--no-rescore", dest="rescore", action="store_false",
                   help="use the hold-out figures recorded at registration instead of re-scoring")
    p.add_argument("--force", action="store_true", help="promote even if a gate fails (needs --reason)")
    p.add_argument("--reason", default="", help="why (recorded on the version)")
    p.set_defaults(handler=promote_command)

    r = sub.add_parser("rollback", parents=[common], help="move NAME@production back to NAME@previous")
    r.add_argument("name", help="registered model name")
    r.add_argument("--reason", default="", help="why (recorded on the version)")
    r.set_defaults(handler=rollback_command)

    m = sub.add_parser("models", parents=[common], help="registered models, versions, figures and aliases")
    m.add_argument("name", nargs="?", default=None, help="only this model")
    m.add_argument("--limit", type=int, default=10, help="versions shown per model (default 10; --json: all)")
    m.add_argument("--show", nargs=2, metavar=("NAME", "VERSION"), default=None,
                   help="one version in full: its rules and parameters, figures and decisions")
    m.set_defaults(handler=models_command)

    u = sub.add_parser("ui", parents=[common], help="the MLflow UI on 127.0.0.1 against gaorg's store")
    u.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    u.set_defaults(handler=ui_command)


def promote_command(args: argparse.Namespace, settings: Any) -> Any:
    from gaorg.command import Outcome
    from gaorg.errors import GateFailedError
    from gaorg.tracking.promote import Gates, promote

    gates = Gates(margin=args.margin, min_deflated_sharpe=args.min_dsr, max_drawdown=args.max_drawdown,
                  min_trades=args.min_trades, min_holdout_dsr=args.min_holdout_dsr,
                  min_holdout_sharpe=args.min_holdout_sharpe)
    try:
        decision = promote(args.name, args.version, settings, gates, force=args.force, reason=args.reason,
                           rescore=args.rescore)
    except GateFailedError as exc:
        decision = exc.decision  # type: ignore[attr-defined]
        return Outcome(str(exc), decision.to_dict(), exit_code=GateFailedError.exit_code)
    return Outcome(decision.text(), decision.to_dict())


def rollback_command(args: argparse.Namespace, settings: Any) -> Any:
    from gaorg.command import Outcome
    from gaorg.tracking.promote import rollback

    decision = rollback(args.name, settings, reason=args.reason)
    return Outcome(decision.text(), decision.to_dict())


def models_command(args: argparse.Namespace, settings: Any) -> Any:
    from gaorg.command import Outcome
    from gaorg.tracking.registry import list_models

    if args.show:
        from gaorg.tracking.show import show_version

        text, payload = show_version(settings, *args.show)
        return Outcome(text, payload)
    models = list_models(settings, args.name)
    return Outcome(_models_text(models, args.limit), {"models": models})


def ui_command(args: argparse.Namespace, settings: Any) -> Any:
    from gaorg.command import Outcome
    from gaorg.tracking.ui import serve

    address = serve(settings, args.port)
    return Outcome(f"MLflow UI at {address} stopped", {"address": address})


def _models_text(models: list[dict[str, Any]], limit: int) -> str:
    from gaorg.quantities import fmt

    if not models:
        return "no registered models yet; register a front with `gaorg evolve ... --register NAME`"
    lines = []
    for model in models:
        aliases = ", ".join(f"@{a} -> v{v}" for a, v in sorted(model["aliases"].items())) or "no aliases"
        n = len(model["versions"])
        lines.append(f"{model['name']}  ({n} version{'' if n == 1 else 's'}; {aliases})")
        lines.append(f"  {'':>4}  {'':<16}  {'-- walk-forward --':^20}  {'----- hold-out -----':^22}".rstrip())
        lines.append(f"  {'ver':>4}  {'genome':<16}  {'Sharpe':>6}  {'max DD':>6}  {'DSR':>4}  {'Sharpe':>6}  "
                     f"{'max DD':>6}  {'trades':>6}  {'why rejected':<24}  modules")
        for v in model["versions"][:limit]:
            tag = " ".join(f"@{a}" for a in v["aliases"])
            lines.append(
                f"  {v['version']:>4}  {v['genome_hash']:<16}  {fmt('wf.sharpe', v['sharpe']):>6}  "
                f"{fmt('wf.max_drawdown', v.get('max_drawdown')):>6}  {fmt('deflated_sharpe', v['deflated_sharpe']):>4}  "
                f"{fmt('holdout.sharpe', v['holdout_sharpe']):>6}  "
                f"{fmt('holdout.max_drawdown', v['holdout_max_drawdown']):>6}  "
                f"{fmt('holdout.trades', v['holdout_trades']):>6}  {v.get('rejected') or '-':<24}  "
                f"{v['modules']} {tag}".rstrip())
        if n > limit:
            lines.append(f"  ... {n - limit} older versions (--limit N, or --json)")
    lines.append("walk-forward: Sharpe mean over folds x assets, max DD the worst cell; hold-out: Sharpe mean, "
                 "max DD worst, trades total over the basket; `gaorg models --show NAME VERSION` for one in full")
    return "\n".join(lines)
