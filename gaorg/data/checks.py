"""Checks at the edge of the data layer: what a data file is, what a symbol may be, when bars can be.

Each refuses with an :class:`~gaorg.errors.InputError` (exit 2) that says what was found and what is
accepted, before anything is read in full or written.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import numpy as np

from gaorg.errors import InputError, NotFoundError, ValidationError, shown

MAX_SYMBOL = 64
SYMBOL_PUNCTUATION = "/:-_.@+"
SYMBOL_RULE = (f"a symbol is 1-{MAX_SYMBOL} letters, digits and {' '.join(SYMBOL_PUNCTUATION)} "
               f"(e.g. BTC, BTC/USDC:USDC, kPEPE, 1000PEPE), without spaces or control characters, "
               f"and '/' only between two names")
GENESIS_MS = 1_230_940_800_000  # 2009-01-03, Bitcoin's first block: no crypto market traded before
FUTURE_SLACK_MS = 86_400_000  # a bar more than a day after now cannot have happened yet


def data_file(path: str | Path) -> Path:
    """``path`` if it is a regular file (symlinks followed); else NotFoundError or InputError naming
    what it is (a folder, a device, a FIFO, a socket). Never opens the path, so a FIFO cannot block."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise NotFoundError(f"no file {shown(path)}; give the path of a CSV or Parquet file") from None
    except OSError as exc:
        raise InputError(f"cannot look at {shown(path)}: {exc.strerror}") from None
    if stat.S_ISREG(mode):
        if not os.access(path, os.R_OK):
            raise InputError(f"{shown(path)} is not readable (permission denied)")
        return path
    if stat.S_ISDIR(mode):
        raise InputError(f"{shown(path)} is a folder; give one CSV or Parquet file in it")
    kind = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "something else")
    raise InputError(f"{shown(path)} is not a regular file but {kind}; copy the data into a CSV or Parquet file")


def text_head(path: Path, head: bytes) -> None:
    """ValidationError when the first bytes of a file given as CSV show it is not text."""
    name = shown(path.name)
    if head.startswith(b"PAR1"):
        raise ValidationError(f"{name} is a Parquet file (it starts with PAR1), not CSV text; "
                              f"rename it to end in .parquet")
    if head.startswith(b"\x1f\x8b") or head.startswith(b"PK\x03\x04"):
        raise ValidationError(f"{name} is compressed (gzip or zip), not CSV text; unpack it first")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise ValidationError(f"{name} is not CSV text: it holds binary bytes (a NUL at byte {nul}, "
                              f"first bytes {shown(head[:8])}); is it the right file?")


def symbol(value: str, what: str = "symbol") -> str:
    """``value`` if it is a plausible market symbol (or store exchange name); InputError otherwise."""
    bad = ""
    if not value:
        bad = "is empty"
    elif len(value) > MAX_SYMBOL:
        bad = f"is {len(value)} characters long"
    elif any(not (ch.isalnum() or ch in SYMBOL_PUNCTUATION) for ch in value):
        bad = f"holds {next(repr(ch) for ch in value if not (ch.isalnum() or ch in SYMBOL_PUNCTUATION))}"
    elif any(part in ("", ".", "..") for part in value.split("/")):
        bad = "is path-like (an empty, '.' or '..' part between slashes)"
    if bad:
        raise InputError(f"{what} {shown(repr(value), 80)} {bad}; {SYMBOL_RULE}")
    return value


def bar_dates(ts: np.ndarray, lines: np.ndarray | None, name: str, notes: list[str], *,
              allow_future: bool = False, now_ms: int | None = None) -> None:
    """ValidationError for bars after now + 1 day (unless ``allow_future``); a note for bars before 2009.

    ``lines[i]`` is the file line of row ``i`` (None: row positions are shown).
    """
    if not len(ts):
        return
    lo, hi = int(ts.min()), int(ts.max())
    limit = future_limit(now_ms)
    if hi > limit and not allow_future:
        late = np.flatnonzero(ts > limit)
        where = f"line {int(lines[late[0]])}" if lines is not None else f"row {int(late[0])}"
        raise ValidationError(
            f"{shown(name)}: {len(late)} bar(s) dated after {_day(limit)}, in the future (first: {where}, "
            f"{_day(int(ts[late[0]]))}; latest {_day(hi)}); check the time column (its unit, format or timezone), or pass --allow-future "
            f"to import them anyway", tuple(int(i) for i in late[:3]))
    if lo < GENESIS_MS:
        notes.append(early_note(int(np.count_nonzero(ts < GENESIS_MS)), lo))


def future_limit(now_ms: int | None = None) -> int:
    """The latest time a stored bar may have: now + 1 day (UTC epoch ms)."""
    return (int(time.time() * 1000) if now_ms is None else now_ms) + FUTURE_SLACK_MS


def early_note(count: int, earliest_ms: int) -> str:
    """The warning for ``count`` bars before 2009, the earliest at ``earliest_ms``."""
    return (f"warning: {count} bar(s) dated before 2009-01-03, older than any crypto market "
            f"(earliest {_day(earliest_ms)}); if this is not older market data, check the time column")


def _day(ms: int) -> str:
    return str(np.datetime64(ms, "ms").astype("datetime64[m]")) + "Z"
