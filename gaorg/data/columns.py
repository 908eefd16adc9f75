"""Where a file's bar columns are, shared by the whole-file reader and the piece reader.

:mod:`gaorg.data.importer` reads a file whole, :mod:`gaorg.data.bulk` in pieces; both find the
header under a banner line and its delimiter, match the mapped column names, read null-free Arrow
columns as numpy and tell the epoch unit of the times the same way, with these.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from gaorg.data import checks
from gaorg.errors import ValidationError, shown

TARGETS = ("timestamp", "open", "high", "low", "close", "volume")
DELIMITERS = (",", ";", "\t", "|")
HEAD_LINES = 20  # a header must be within the first lines (after a banner)
HEAD_BYTES = 1 << 20  # ... and within the first MB (a file of one endless line is not read whole)
BLOCK_BYTES = 8 << 20  # pyarrow parses blocks in parallel; 8 MB parse ~20% faster than its 1 MB default


# names a file often gives a target column, most likely first (matched case-insensitively)
SYNONYMS = {
    "timestamp": ("ts", "time", "date", "datetime", "open_time", "opentime", "unix", "t"),
    "open": ("o", "open_price"), "high": ("h", "high_price"), "low": ("l", "low_price"),
    "close": ("c", "close_price", "last"), "volume": ("vol", "v", "volume_base", "base_volume", "qty"),
}


def mapping_hint(mapping: dict[str, str], names: list[str] | None) -> str:
    """``--columns`` for the targets ``mapping`` did not find among ``names``, from the names the
    file has where one looks like the target (``timestamp=ts``); a generic example otherwise."""
    have = {n.lower(): n for n in names or ()}
    taken = {source.lower() for source in mapping.values() if source.lower() in have}
    guesses = []
    for target, source in mapping.items():
        if source.lower() in have:
            continue
        free = {low: n for low, n in have.items() if low not in taken}
        found = next((free[s] for s in SYNONYMS.get(target, ()) if s in free), None)
        if found is None:
            found = next((n for low, n in free.items() if low.startswith(target)), None)  # 'Volume BTC'
        if found is not None:
            taken.add(found.lower())
            guesses.append(f"{target}={found!r}" if re.search(r"[\s,=]", found) else f"{target}={found}")
    if guesses:
        return f"Map your names with --columns {','.join(guesses)}"
    return "Map your names with --columns, e.g. --columns timestamp=date,volume=vol"


def file_name(path: Path) -> str:
    """The file's name as safe to show (a name can hold escape sequences too)."""
    return shown(path.name)


def _split(line: str, delim: str) -> list[str]:
    return [f.strip().strip('"').strip("'").strip() for f in line.split(delim)]


def layout(path: Path, mapping: dict[str, str]) -> tuple[int, str, list[str]]:
    """Where the header is (0-based row, after any banner), its delimiter, and the mapped columns in it."""
    with path.open("rb") as fh:
        raw = fh.read(HEAD_BYTES)
    checks.text_head(path, raw)
    text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    head = (re.split(r"\r\n|\r|\n", text) + [""] * HEAD_LINES)[:HEAD_LINES]
    if not any(h.strip() for h in head):
        raise ValidationError(f"{file_name(path)} is empty; give a file with a header line and rows of bars")
    wanted = {v.lower() for v in mapping.values()}
    guess: list[str] | None = None
    for i, line in enumerate(head):
        for delim in DELIMITERS:
            fields = _split(line, delim)
            if len(fields) < 2:
                continue
            if wanted <= {f.lower() for f in fields}:
                return i, delim, [f for f in fields if f.lower() in wanted]  # parse only the mapped columns
            if guess is None:
                guess = fields
    header = shown(", ".join(guess), 200) if guess else "(no header found)"
    missing = sorted(wanted - {f.lower() for f in (guess or [])})
    raise ValidationError(
        f"{file_name(path)}: missing column(s) {shown(', '.join(missing), 200)}; its header is: {header}. "
        f"{shown(mapping_hint(mapping, guess), 300)}"
    )


def match_columns(path: Path, names: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """The file's column for each target (names match case-insensitively), or ValidationError."""
    lower = {n.lower(): n for n in names}
    missing = [f"{t}" + (f" (as {s!r})" if s != t else "") for t, s in mapping.items() if s.lower() not in lower]
    if missing:
        raise ValidationError(
            f"{file_name(path)}: missing column(s) {shown(', '.join(missing), 200)}; it has: {shown(', '.join(names), 200)}. "
            f"{shown(mapping_hint(mapping, names), 300)}"
        )
    return {t: lower[s.lower()] for t, s in mapping.items()}


def plain(col) -> np.ndarray:
    """A null-free numeric Arrow column as numpy, read from its buffers (pyarrow's own ``to_numpy``
    imports pandas, seconds on a cold start)."""
    dtype = np.dtype(f"{'f' if str(col.type).startswith(('float', 'double', 'halffloat')) else 'i'}"
                     f"{col.type.bit_width // 8}")
    if str(col.type).startswith("uint"):
        dtype = np.dtype(f"u{col.type.bit_width // 8}")
    parts = [np.frombuffer(c.buffers()[1], dtype=dtype, count=len(c), offset=c.offset * dtype.itemsize)
             for c in col.chunks]
    if not parts:
        return np.zeros(0)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def epoch_unit(raw: np.ndarray) -> tuple[str, int]:
    """(unit, factor to ms: a multiplier, or a divisor when negative) from the largest magnitude."""
    top = max(int(raw.max()), -int(raw.min())) if len(raw) else 0  # no |raw| temporary
    units = ((10**11, "seconds", 1000), (10**14, "milliseconds", 1), (10**17, "microseconds", -1000))
    return next(((u, f) for limit, u, f in units if top < limit), ("nanoseconds", -1_000_000))
