"""The command line's face: ``--json`` before or after any command, ``gaorg demo --help`` says what
the demo does, and an evolution's progress counts its generations and is never silent off a terminal."""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

from gaorg.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_json_is_taken_before_or_after_the_command_for_every_command(cli):
    for path, parser in _parsers(build_parser()):
        flag = [a for a in parser._actions if "--json" in a.option_strings]
        assert flag and flag[0].default is argparse.SUPPRESS, f"gaorg {' '.join(path)}: --json would be overwritten"
    assert cli("data", "synth", "--symbols", "S-A", "--bars", "60").code == 0
    for args in (("--json", "data", "list"), ("data", "--json", "list"), ("data", "list", "--json")):
        res = cli(*args)
        assert res.code == 0, res.stderr
        assert [s["symbol"] for s in res.json["series"]] == ["S-A"], args
    plain = cli("data", "list")
    assert plain.code == 0 and not plain.stdout.strip().startswith("{")


def test_demo_help_says_what_it_does_how_long_and_where_results_go(cli):
    res = cli("demo", "--help")
    assert res.code == 0
    text = " ".join(res.stdout.split())
    for words in ("evolution", "gaorg-demo@production", "on paper", "minute", "GAORG_HOME", "market.duckdb",
                  "mlflow.db", "live.duckdb", "gaorg ui", "jupyter lab notebooks/", "Run again"):
        assert words in text, words


def test_evolution_progress_counts_generations_on_a_terminal_and_prints_lines_off_one(cli, gaorg_home):
    assert cli("data", "synth", "--symbols", "S-A", "--bars", "700", "--seed", "1").code == 0
    args = [sys.executable, "-m", "gaorg.cli", "evolve", "--symbols", "S-A", "--timeframes", "1h", "--population",
            "4", "--generations", "1", "--workers", "0", "--folds", "2"]
    env = {**os.environ, "GAORG_HOME": str(gaorg_home)}
    # off a terminal: one line per generation on stderr
    off = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert off.returncode == 0, off.stderr
    lines = [line for line in off.stderr.splitlines() if line.startswith("stage 1/1 1h: ")]
    assert [line.split(": ")[1] for line in lines][:2] == ["initial population", "generation 1/1"], off.stderr
    assert len(lines) == 3 and " evaluations in " in lines[2], off.stderr  # then where the stage's time went
    # on a terminal: a bar of --generations generations (1/1, not 2/2)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 0 columns: no bar drawn
    try:
        on = subprocess.run(args + ["--seed", "2"], stdout=subprocess.DEVNULL, stderr=follower, env=env, timeout=300)
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    text = seen.decode(errors="replace")
    assert on.returncode == 0, text
    assert "1/1" in text and "/2" not in text, text


def test_python_dash_m_gaorg_is_the_console_script(tmp_path):
    env = {**os.environ, "GAORG_HOME": str(tmp_path / "home")}
    res = subprocess.run([sys.executable, "-m", "gaorg", "evolve", "--help"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: gaorg evolve") and "--parsimony P" in res.stdout
    bad = subprocess.run([sys.executable, "-m", "gaorg", "evolve", "--resume", "x", "--parsimony", "1"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "drop --parsimony" in bad.stderr  # the script's error policy, exit 2
