"""One exception tree for gaorg. Each class says how it is handled.

At the command line, ``exit_code`` is the process exit status: 2 for input the user can fix
(the message says what is wrong and how to fix it), 1 for a failure of the environment (an
exchange, a registry, a crash). A risk refusal in the live path is *not* an exception: it is an
event with a reason (see ``gaorg.live``).
"""

from __future__ import annotations

import re


class GaorgError(Exception):
    """Base of every error gaorg raises on purpose. The CLI prints the message, exits ``exit_code``."""

    exit_code: int = 1


class InputError(GaorgError):
    """Bad input the user can fix: a file, an argument, a config, a genome. Never retried.

    The message names the offending value and the fix. Nothing stored is changed when it is raised.
    """

    exit_code = 2


class ConfigError(InputError):
    """A config (YAML, CLI flags, environment) is malformed: unknown key, wrong type, bad value."""


class ValidationError(InputError):
    """Market data failed validation on write; the store is left unchanged.

    ``rows`` holds the first offending row positions (0-based, in the input as given).
    """

    def __init__(self, message: str, rows: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.rows = rows


class GenomeError(InputError):
    """A genome is invalid: unknown schema or module, missing/extra/out-of-bounds parameter.

    Raised by the validator before anything runs; a tampered registry genome ends here too.
    """


class NotFoundError(InputError):
    """A named thing does not exist: a series, a symbol, a model, a run, a checkpoint."""


class StoreLockedError(InputError):
    """A DuckDB file is held by another process. Stop that process or point GAORG_HOME elsewhere."""


class RunLockedError(InputError):
    """Another run of the same job (a nightly run) holds its lock: refused at once, never waited on.

    The message names the holder (pid, start time); wait for it to finish or stop it.
    """


class DataTooShortError(InputError):
    """A series is too short for what was asked (a genome's longest period, the folds)."""


class ExchangeError(GaorgError):
    """An exchange call failed. ccxt's errors are translated into subclasses once, at the boundary."""


class TransientExchangeError(ExchangeError):
    """Network fault, timeout, HTTP 429/5xx: retried with backoff a bounded number of times."""


class RateLimitedError(TransientExchangeError):
    """The exchange asked us to slow down (HTTP 429): retried after a longer backoff."""


class PermanentExchangeError(ExchangeError):
    """The exchange refused the request itself (bad symbol, auth, rejected order): never retried."""


class TrackingError(GaorgError):
    """The MLflow store or registry failed or cannot be reached; nothing is half-registered."""


class GateFailedError(GaorgError):
    """A promotion gate failed: the alias was not moved (exit status 1)."""


class CheckpointError(InputError):
    """A checkpoint to resume from is unknown or corrupted."""


class ClusterError(GaorgError):
    """The Dask scheduler cannot be reached or the cluster failed beyond its retries."""


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s]*@")  # scheme://user:password@
_SECRET_PARAM = re.compile(r"(?i)\b((?:password|passwd|pwd|token|secret)=)[^&\s]*")


def masked(text: str) -> str:
    """``text`` with every URL's ``user:password@`` and every ``password=``/``token=`` value as ``***``.

    Applied to every error the command line prints; the exchange, tracking and live paths add what
    only they know (query strings of signed requests, the environment's keys).
    """
    text = _USERINFO.sub(r"\1***@", text)
    return _SECRET_PARAM.sub(r"\1***", text)


def printable(message: str) -> str:
    """A message's lines with what a terminal would act on escaped (:func:`shown`, no length cut)."""
    return "\n".join(shown(line, limit=1 << 30) for line in message.split("\n"))


def shown(value: object, limit: int = 120) -> str:
    """``value`` made safe to put in a message: control, format and undecodable characters as
    ``\\xNN``/``\\uNNNN`` escapes (a terminal never sees a raw ESC or BEL), cut at ``limit`` characters.

    Bytes are decoded as UTF-8 with bad bytes escaped; a file name's undecodable bytes (surrogates)
    show as the bytes they were.
    """
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, (bytes, bytearray)) else str(value)
    cut = len(text) > limit
    out = []
    for ch in text[:limit] if cut else text:
        if ch.isprintable():
            out.append(ch)
            continue
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
            code -= 0xDC00
        out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out) + (f"... ({len(text) - limit} more characters)" if cut else "")
