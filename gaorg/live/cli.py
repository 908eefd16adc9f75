"""Commands of gaorg.live (registered by gaorg.cli)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this domain's commands to the `gaorg` parser (none yet)."""
