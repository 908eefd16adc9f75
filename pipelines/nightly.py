#!/usr/bin/env python
"""The nightly pipeline as a script: ``python pipelines/nightly.py [--config pipelines/nightly.yaml]``.

A thin wrapper of ``gaorg nightly`` (gaorg.nightly does the work); cron and systemd call either.
"""

from __future__ import annotations

import sys

from gaorg.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["nightly", *sys.argv[1:]]))
