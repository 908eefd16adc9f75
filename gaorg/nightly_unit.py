"""The nightly pipeline's systemd unit with this checkout's paths filled in.

``pipelines/gaorg-nightly.service`` is a template (``@USER@``, ``@CHECKOUT@``, ``@GAORG_HOME@``,
``@GAORG@``); ``python -m gaorg.nightly_unit`` (``make nightly-unit``) writes the unit and its timer,
ready for ``/etc/systemd/system/``, into ``$GAORG_HOME/systemd/`` (or ``--out``), and prints the
commands that install them. The paths are those of the checkout it runs from: its ``.venv``'s
``gaorg``, the checkout as working directory, the store ``Settings`` resolves (``--home`` to change).
"""

from __future__ import annotations

import argparse
import getpass
import shutil
import sys
from pathlib import Path

from gaorg.config import Settings

CHECKOUT = Path(__file__).resolve().parents[1]
PIPELINES = CHECKOUT / "pipelines"
SERVICE = "gaorg-nightly.service"
TIMER = "gaorg-nightly.timer"


def gaorg_binary() -> Path:
    """The ``gaorg`` script of the environment this Python runs in."""
    return Path(sys.executable).absolute().parent / "gaorg"


def render_service(user: str, checkout: Path, home: Path, gaorg: Path) -> str:
    """The unit's text with every placeholder filled (a placeholder left over is a bug: refused)."""
    text = (PIPELINES / SERVICE).read_text()
    for key, value in (("@USER@", user), ("@CHECKOUT@", str(checkout)), ("@GAORG_HOME@", str(home)),
                       ("@GAORG@", str(gaorg))):
        if any(c.isspace() for c in value):
            raise ValueError(f"{key.strip('@')} {value!r} holds a space: systemd would split it; use a path without")
        text = text.replace(key, value)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    if "@" in body:
        raise ValueError(f"{SERVICE}: a placeholder is left unfilled:\n{body}")
    return text


def write_units(out: Path, user: str, home: Path, checkout: Path = CHECKOUT, gaorg: Path | None = None) -> list[Path]:
    """Write the filled service and the timer into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    service = out / SERVICE
    service.write_text(render_service(user, checkout, home, gaorg or gaorg_binary()))
    timer = Path(shutil.copy(PIPELINES / TIMER, out / TIMER))
    return [service, timer]


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    p = argparse.ArgumentParser(prog="python -m gaorg.nightly_unit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--user", default=getpass.getuser(), help="the account that runs it (default: %(default)s)")
    p.add_argument("--home", type=Path, default=settings.home, help="GAORG_HOME of the runs (default: %(default)s)")
    p.add_argument("--out", type=Path, default=settings.home / "systemd", help="where to write (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        paths = write_units(args.out, args.user, args.home.absolute())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(f"wrote {path}" for path in paths))
    print("install (as root):\n"
          f"  cp {' '.join(map(str, paths))} /etc/systemd/system/\n"
          "  systemctl daemon-reload && systemctl enable --now gaorg-nightly.timer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
