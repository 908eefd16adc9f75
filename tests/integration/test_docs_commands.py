"""Every command in the docs runs, so the docs cannot rot.

Convention (docs/quickstart.md says it too): a fenced block marked ``console`` is runnable; each of
its lines that starts with ``$ `` is one command. The commands of one document run in order, in a
fresh GAORG_HOME, from the repository root, with ``.venv/bin`` first on PATH, and each must exit 0.
A command that cannot run in a test (a server, a real exchange, a crontab) goes in a block of
another kind (``bash``, ``text``), which is visibly not a runnable one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notebooks import kit

mlflow_template, ready_home = kit.mlflow_template, kit.ready_home  # fixtures
REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\S*)\s*$")


def console_commands(text: str) -> list[str]:
    """The ``$ `` lines of the ``console`` blocks of a Markdown text, in order."""
    commands, kind = [], None
    for line in text.splitlines():
        fence = FENCE.match(line.strip())
        if fence:
            kind = None if kind is not None else fence.group(1)
            continue
        if kind == "console" and line.startswith("$ "):
            commands.append(line[2:].strip())
    return commands


def test_console_commands_are_found_only_in_console_blocks():
    text = "```console\n$ gaorg data list\noutput\n```\n```bash\ngaorg ui\n```\n```\n$ not me\n```\n"
    assert console_commands(text) == ["gaorg data list"]


RUNNABLE = [d for d in DOCS if console_commands(d.read_text())]


@pytest.mark.slow
@pytest.mark.parametrize("doc", RUNNABLE, ids=[d.name for d in RUNNABLE])
def test_every_console_command_of_the_doc_runs(doc, ready_home):
    env = {**os.environ, "GAORG_HOME": str(ready_home), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    for command in console_commands(doc.read_text()):
        proc = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{doc.name}: `{command}` exited {proc.returncode}:\n{proc.stderr[-3000:]}"
