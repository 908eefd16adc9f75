"""Hostile data files, symbols and URLs, and a kill -9 mid-import: exit 2 with a readable message,
the store that already holds a series left as it was (issue #20, the data side)."""

from __future__ import annotations

import socket

from gaorg.data.exchange import redact_url, translate_error
from gaorg.errors import shown

H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01
HEADER = b"timestamp,open,high,low,close,volume\n"
IMPORT = ("data", "import")
INTO_BTC = ("--symbol", "BTC", "--timeframe", "1h", "--exchange", "synthetic")  # the stored series


def readable(text: str) -> bool:
    """No raw control character (but the line ends) and no byte that was not text reached the user."""
    return "\ufffd" not in text and all(ch.isprintable() or ch == "\n" for ch in text)


def test_api_url_credentials_never_reach_a_message(hostile, stored):
    with socket.socket() as s:  # a port nobody listens on: the call fails at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = hostile("data-args", "api-url with user:password", "data", "fetch", "--api-url",
                  f"http://trader:hunter2@127.0.0.1:{port}/", "--retries", "1", "--since", "2024-01-01",
                  expect=1, stores=[stored])
    assert "hunter2" not in res.stderr + res.stdout and "http://***@127.0.0.1" in res.stderr
    import ccxt

    exc = ccxt.NetworkError("hyperliquid POST https://bot:s3cr%40t@proxy.example/info?k=1 502")
    assert "s3cr" not in str(translate_error(exc)) and "bot" not in str(translate_error(exc))
    assert redact_url("see ws://tok@h:1/ws and http://h/x@y") == "see ws://***@h:1/ws and http://h/x@y"


def test_shown_escapes_what_a_terminal_would_act_on_and_caps_the_length():
    assert shown("\x1b[31mred\x07") == r"\x1b[31mred\x07"
    assert shown(b"PAR1\x00\xff") == r"PAR1\x00\xff"
    assert shown("\udcff.csv") == r"\xff.csv"  # a file name byte that was not UTF-8
    assert shown("a\u202eb") == r"a\u202eb" and shown("币安人生") == "币安人生"
    assert shown("x" * 500, 10) == "x" * 10 + "... (490 more characters)"
