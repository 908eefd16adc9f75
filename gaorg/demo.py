"""``gaorg demo``: the main job, end to end, on embedded defaults."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the ``demo`` command (none yet)."""
