"""The nightly's systemd unit, written with this checkout's paths, passes ``systemd-analyze verify``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gaorg.nightly_unit import PIPELINES, SERVICE, main, render_service

ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed here (no systemd): cannot verify")
def test_the_written_unit_and_its_timer_pass_systemd_analyze_verify(tmp_path, capsys):
    out = tmp_path / "units"
    assert main(["--out", str(out), "--home", str(tmp_path / "home")]) == 0
    assert "systemctl enable --now gaorg-nightly.timer" in capsys.readouterr().out
    service = (out / SERVICE).read_text()
    assert f"ExecStart={Path(sys.executable).absolute().parent / 'gaorg'} nightly --config pipelines/nightly.yaml" in service
    assert f"Environment=GAORG_HOME={tmp_path / 'home'}" in service and f"WorkingDirectory={PIPELINES.parent}" in service
    proc = subprocess.run([ANALYZE, "verify", str(out / SERVICE), str(out / "gaorg-nightly.timer")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the shipped template is not a unit to copy as it is: systemd refuses it, so nobody installs /srv paths
    shipped = subprocess.run([ANALYZE, "verify", str(PIPELINES / SERVICE)], capture_output=True, text=True, timeout=60)
    assert shipped.returncode != 0


def test_a_path_systemd_would_split_is_refused():
    with pytest.raises(ValueError, match="holds a space"):
        render_service("gaorg", Path("/srv/my checkout"), Path("/srv/h"), Path("/srv/g/gaorg"))
