"""Headless Chromium for the browser tests: found on PATH, or installed from Debian's packages.

``python -m tests.browser.chromium`` (run by ``make test`` before pytest) installs the ``chromium``
package with apt-get when it is missing and this process is root; the tests call :func:`find` and
skip, naming the reason, only where Chromium cannot be had (not root, no apt-get, install failed).
Screenshots are taken with the network disabled (``--proxy-server`` to a closed port, no DNS), so a
figure that needs a CDN draws nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_NETWORK = ("--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
              "--host-resolver-rules=MAP * ~NOTFOUND")


def which() -> str | None:
    """The Chromium binary on PATH, or None."""
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def install() -> tuple[str | None, str]:
    """Chromium's path, installing Debian's ``chromium`` when missing and root; else (None, why)."""
    path = which()
    if path:
        return path, "found"
    if not shutil.which("apt-get"):
        return None, "Chromium is not installed and there is no apt-get to install it (not Debian?)"
    if os.geteuid() != 0:
        return None, "Chromium is not installed and installing it needs root: run `sudo apt-get install -y chromium`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (["apt-get", "update", "-q"],
             ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "fonts-dejavu-core"])
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True, env=env, timeout=900)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return None, f"`{' '.join(step)}` failed ({proc.returncode}): {' | '.join(tail)}"
    path = which()
    return (path, "installed") if path else (None, "apt-get installed chromium but no binary is on PATH")


def screenshot(chromium: str, page: Path, png: Path, width: int = 1200, height: int = 900,
               wait_ms: int = 4000) -> None:
    """Load ``page`` (a local file) in headless Chromium with no network and save a PNG of it."""
    profile = png.with_suffix(".profile")
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--disable-background-networking",
            f"--user-data-dir={profile}", *NO_NETWORK, f"--window-size={width},{height}",
            f"--virtual-time-budget={wait_ms}", f"--screenshot={png}", page.resolve().as_uri()]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium failed ({proc.returncode}) on {page}: {proc.stderr[-2000:]}")


if __name__ == "__main__":
    found, how = install()
    print(f"chromium: {found} ({how})" if found else f"chromium: not available: {how}")
    sys.exit(0)
