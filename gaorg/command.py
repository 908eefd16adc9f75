"""The command plumbing every domain's ``cli.py`` uses, below the domains and the face (gaorg/cli.py).

A handler takes the parsed arguments and the settings and returns an :class:`Outcome`; the top-level
``gaorg`` command prints it (text for a person, one JSON object with ``--json``) and exits with its
status.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gaorg.config import Settings


@dataclass(frozen=True)
class Outcome:
    """What a command did: lines for a person, a JSON payload for a program, an exit status."""

    text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0


Handler = Callable[[argparse.Namespace, Settings], Outcome]
