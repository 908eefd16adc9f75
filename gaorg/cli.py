"""The ``gaorg`` command line: one argparse tree, one error policy, ``--json`` everywhere.

Each domain registers its own commands (``gaorg/<domain>/cli.py``: ``register(sub, common)``); a
handler returns a :class:`~gaorg.command.Outcome` (the plumbing below the domains, so the library
never imports this face) and never prints JSON itself. With ``--json`` the human text
goes to stderr and one JSON object is the last line of stdout. Exit status: 0 done, 2 bad input
or usage (the message says what and how to fix it), 1 failure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from gaorg.command import Handler
from gaorg.config import Settings
from gaorg.errors import GaorgError

# Domain modules that add commands; each is light to import (handlers import heavy libraries).
COMMAND_MODULES: tuple[str, ...] = (
    "gaorg.data.cli",
    "gaorg.backtest.cli",
    "gaorg.evolve.cli",
    "gaorg.tracking.cli",
    "gaorg.live.cli",
    "gaorg.demo",
    "gaorg.nightly",
)

def common_parser() -> argparse.ArgumentParser:
    """Options every command takes (pass as ``parents=[common]``).

    ``--json`` is accepted before or after the command (``gaorg --json models`` = ``gaorg models
    --json``): its default is SUPPRESS, so a subcommand that was not given it does not overwrite
    the value the top level parsed (argparse copies a subparser's defaults over the namespace).
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS,
        help="print one JSON object as the last line of stdout (before or after the command)"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``gaorg`` parser with every domain's commands."""
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="gaorg",
        description="Genetic discovery, tracking and live trading of crypto strategies.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    want_json = args.json = bool(getattr(args, "json", False))
    handler: Handler = args.handler
    # MLflow logs every model validation at INFO and draws a bar per artifact download; a command
    # line wants its own lines only (either can be turned back on in the environment).
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        outcome = handler(args, Settings.from_env())
    except GaorgError as exc:
        return _fail(str(exc), type(exc).__name__, exc.exit_code, want_json)
    except KeyboardInterrupt:
        return _fail("interrupted", "KeyboardInterrupt", 130, want_json)
    try:
        if outcome.text:
            print(outcome.text, file=sys.stderr if want_json else sys.stdout)
        if want_json:
            print(json.dumps(outcome.payload, default=_json_default, allow_nan=False))
        sys.stdout.flush()
    except BrokenPipeError:  # `gaorg models | head`: the reader left; what it read was the output
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return outcome.exit_code


def _fail(message: str, kind: str, code: int, want_json: bool) -> int:
    from gaorg.errors import masked, printable

    message = masked(printable(message))  # no URL password, no raw escape sequence reaches a terminal
    print(f"gaorg: error: {message}", file=sys.stderr)
    if want_json:
        print(json.dumps({"error": message, "kind": kind, "exit_code": code}))
    return code


def _json_default(value: Any) -> Any:
    """numpy scalars, paths and datetimes in payloads; NaN is refused by allow_nan=False."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
