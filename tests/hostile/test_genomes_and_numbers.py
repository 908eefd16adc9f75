"""Hostile genome files and command-line numbers: exit 2 with a message, the store untouched."""

from __future__ import annotations

import os

import pytest

BACKTEST = ("backtest", "--symbol", "BTC", "--timeframe", "1h")


@pytest.mark.parametrize("name, content, message", [
    ("genome not UTF-8", b"\xff\xfe{}", "not UTF-8"),
    ("genome nested 10,000 deep", ("[" * 10_000 + "]" * 10_000).encode(), "nested too deep"),
    ("genome over 1 MB", b" " * 1_000_001 + b"{}", "far smaller"),
    ("genome of the wrong schema", b'{"schema": "gaorg.genome/99"}', "schema"),
    ("genome that is a list", b"[1, 2, 3]", "genome"),
])
def test_a_hostile_genome_file_is_refused(hostile, stored, tmp_path, name, content, message):
    path = tmp_path / "g.json"
    path.write_bytes(content)
    res = hostile("genomes", name, *BACKTEST, "--genome", str(path), stores=[stored])
    assert message in res.stderr


@pytest.mark.parametrize("name, target, message", [
    ("genome path is a folder", "folder", "not a regular file"),
    ("genome path is /dev/zero", "/dev/zero", "not a regular file"),
    ("genome path is a FIFO", "fifo", "not a regular file"),
    ("genome path does not exist", "missing.json", "does not exist"),
])
def test_a_genome_path_that_is_not_a_file_is_named_for_what_it_is(hostile, stored, tmp_path, name, target, message):
    if target == "folder":
        (tmp_path / "folder").mkdir()
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
    path = target if target.startswith("/") else str(tmp_path / target)
    res = hostile("genomes", name, *BACKTEST, "--genome", path, stores=[stored], timeout=30)
    assert message in res.stderr


@pytest.mark.parametrize("name, args, message", [
    ("population 1,000,000,000", ("--population", "1000000000"), "population"),
    ("workers 100,000", ("--workers", "100000"), "workers"),
    ("population -5", ("--population", "-5"), "population"),
    ("generations 0", ("--generations", "0"), "generations"),
    ("holdout 1.5", ("--holdout", "1.5"), "holdout"),
    ("resume a path", ("--resume", "../../../x"), "run id"),
])
def test_evolve_numbers_that_cannot_run_are_refused(hostile, stored, name, args, message):
    base = () if args[0] == "--resume" else ("--symbols", "BTC", "--timeframes", "1h")
    res = hostile("numbers", name, "evolve", *base, *args, "--no-progress", stores=[stored])
    assert message in res.stderr.lower()
