"""Secrets kept out of everything the live path echoes: errors, log lines and the stored state.

An ``--api-url`` may carry ``user:password@`` and ccxt's errors quote the URL they called; the private
key and the operator token live in the environment. :func:`redact` masks a URL's credentials and any
of the given secret values; :func:`install_log_filter` applies it to every log line (issue #20).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

from gaorg.errors import masked

MASK = "***"
SECRET_ENVS = ("GAORG_HYPERLIQUID_PRIVATE_KEY", "GAORG_OPERATOR_TOKEN")


def url_secrets(url: str | None) -> list[str]:
    """The password of ``url``, as written and decoded (nothing when it has none)."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    return sorted({password, unquote(password)}) if password else []


def secrets_from_env(env: Mapping[str, str] | None = None) -> list[str]:
    """The secret values in the environment (the exchange key with and without ``0x``, the operator token)."""
    env = os.environ if env is None else env
    out = []
    for name in SECRET_ENVS:
        value = (env.get(name) or "").strip()
        if value:
            out += [value, value[2:]] if value[:2].lower() == "0x" else [value]
    return out


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL's ``user:password@`` and every secret of 6 characters or more masked."""
    text = masked(text)
    for secret in sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def scrub(exc: BaseException, secrets: Iterable[str] = ()) -> BaseException:
    """``exc`` with its message redacted in place (the CLI prints ``str(exc)``); returns it to re-raise."""
    if exc.args:
        exc.args = (redact(str(exc), secrets),)
    return exc


class RedactFilter(logging.Filter):
    """A handler's filter that redacts each record's message (and traceback text) before it is written."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def install_log_filter(secrets: Iterable[str] = (), logger: logging.Logger | None = None) -> RedactFilter:
    """Redact every line written by ``logger``'s handlers (the root logger's by default)."""
    filt = RedactFilter(secrets)
    for handler in (logger or logging.getLogger()).handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactFilter)]:
            handler.removeFilter(old)
        handler.addFilter(filt)
    return filt
