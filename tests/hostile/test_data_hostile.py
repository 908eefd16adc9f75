"""Hostile data files, symbols and URLs, and a kill -9 mid-import: exit 2 with a readable message,
the store that already holds a series left as it was (issue #20, the data side)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gaorg.data import bulk, checks
from gaorg.data.exchange import redact_url, translate_error
from gaorg.data.importer import import_into
from gaorg.data.store import MarketStore
from gaorg.errors import InputError, ValidationError, shown
from tests.hostile.conftest import record

H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01
HEADER = b"timestamp,open,high,low,close,volume\n"
IMPORT = ("data", "import")
INTO_BTC = ("--symbol", "BTC", "--timeframe", "1h", "--exchange", "synthetic")  # the stored series


def rows(n: int = 6, start: int = T0) -> list[bytes]:
    return [f"{start + i * H},{100 + i},{102 + i},{99 + i},{101 + i},5\n".encode() for i in range(n)]


def readable(text: str) -> bool:
    """No raw control character (but the line ends) and no byte that was not text reached the user."""
    return "\ufffd" not in text and all(ch.isprintable() or ch == "\n" for ch in text)


def _edit(line: int, old: bytes, new: bytes):
    def edit(lines: list[bytes]) -> list[bytes]:
        lines[line - 1] = lines[line - 1].replace(old, new, 1)
        return lines
    return edit


def _iso(n: int = 6) -> list[bytes]:
    return [HEADER] + [f"2024-01-01T{i:02d}:00:00Z,{100 + i},{102 + i},{99 + i},{101 + i},5\n".encode()
                       for i in range(n)]


FILES = {  # name: (file lines, file line 1 = index 0), words the message must hold
    "a byte that is not UTF-8 in one price": (_edit(3, b",102,", b",10\xff2,")([HEADER, *rows()]), "line 3;"),
    "a byte that is not UTF-8 in one ISO time": (_edit(4, b"T02", b"T0\xff2")(_iso()), "line 4:"),
    "escape sequences in the header": ([b"\x1b[31mtime\x1b]0;title\x07,open,high\n", *rows()], r"\x1b[31mtime"),
    "an escape sequence in a time value": (_edit(3, b"T01", b"T\x1b[2J01")(_iso()), r"\x1b[2J"),
    "empty file": ([], "is empty"),
    "header only": ([HEADER], "no data rows"),
    "duplicate timestamps": ([HEADER, *rows(3), rows(3)[2]], "duplicate timestamp"),
    "NaN price": (_edit(3, b",101,", b",nan,")([HEADER, *rows()]), "missing (NaN)"),
    "negative price": (_edit(3, b",100,", b",-100,")([HEADER, *rows()]), "non-positive prices"),
    "high below low": (_edit(3, b",103,", b",50,")([HEADER, *rows()]), "high below low"),
    "bars dated 2200": ([HEADER, *rows(3, start=7_258_118_400_000)], "in the future"),
    "binary bytes (gzip) named .csv": ([b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xfe\n"], "compressed"),
}


@pytest.mark.parametrize("name", list(FILES))
def test_a_malformed_data_file_is_refused_with_a_readable_message(hostile, stored, tmp_path, name):
    lines, words = FILES[name]
    path = tmp_path / "bars.csv"
    path.write_bytes(b"".join(lines))
    res = hostile("data-files", name, *IMPORT, str(path), *INTO_BTC, stores=[stored])
    assert words in res.stderr, res.stderr
    assert readable(res.stderr), repr(res.stderr)


def test_one_bad_byte_flags_its_line_alone_and_repair_drops_only_that_line(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_bytes(b"".join(_edit(3, b",102,", b",10\xff2,")([HEADER, *rows()])))
    with pytest.raises(ValidationError, match=r"1 bar\(s\) with missing .*\(line 3;") as caught:
        import_into(tmp_path / "a.duckdb", path, "local", "X", "1h")
    assert caught.value.rows == (1,)
    report, _ = import_into(tmp_path / "b.duckdb", path, "local", "X", "1h", repair=True)
    assert (report.repair.rows_in, report.repair.rows_out) == (6, 5)
    with MarketStore(tmp_path / "b.duckdb", read_only=True) as store:
        bars = store.read_bars("local", "X", "1h")
    assert T0 + H not in bars.ts.tolist() and list(bars.open) == [100, 102, 103, 104, 105]


def test_a_parquet_file_named_csv_and_a_file_name_with_escapes_are_shown_escaped(hostile, stored, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"timestamp": [T0], "open": [1.0]}), tmp_path / "bars.csv")
    res = hostile("data-files", "a Parquet file named .csv", *IMPORT, str(tmp_path / "bars.csv"), *INTO_BTC,
                  stores=[stored])
    assert "is a Parquet file" in res.stderr and readable(res.stderr)
    evil = tmp_path / "\x1b]0;pwned\x07.csv"
    evil.write_bytes(HEADER)
    res = hostile("data-files", "a file name with escape sequences", *IMPORT, str(evil), *INTO_BTC, stores=[stored])
    assert r"\x1b]0;pwned\x07.csv" in res.stderr and readable(res.stderr)


@pytest.mark.parametrize("name, target, words", [
    ("data path is /dev/zero", "/dev/zero", "not a regular file but a device"),
    ("data path is a FIFO", "fifo", "not a regular file but a named pipe"),
    ("data path is a folder", "folder", "is a folder"),
    ("a 5 GB sparse file: a header, then NUL bytes", "sparse", "binary bytes"),
])
def test_a_data_path_that_is_not_a_text_file_is_named_for_what_it_is(hostile, stored, tmp_path, name, target, words):
    path = Path(target) if target.startswith("/") else tmp_path / target
    if target == "fifo":
        os.mkfifo(path)
    elif target == "folder":
        path.mkdir()
    elif target == "sparse":
        with path.open("wb") as fh:
            fh.write(HEADER)
            fh.truncate(5 << 30)  # 5 GB on paper, a few bytes on disk
    res = hostile("data-files", name, *IMPORT, str(path), *INTO_BTC, stores=[stored], timeout=30)
    assert words in res.stderr and readable(res.stderr)


@pytest.mark.parametrize("name, symbol", [
    ("symbol with a newline", "BTC\nX"),
    ("symbol with an escape sequence", "\x1b[31mBTC"),
    ("symbol with a right-to-left override", "BTC\u202eCSU"),
    ("empty symbol", ""),
    ("symbol that is a path", "../../etc/passwd"),
    ("symbol with a leading slash", "/BTC"),
    ("symbol with a space", "BTC USD"),
    ("symbol 500 characters long", "B" * 500),
])
def test_a_symbol_that_cannot_be_a_market_is_refused_at_the_edge(hostile, stored, tmp_path, name, symbol):
    path = tmp_path / "bars.csv"
    path.write_bytes(b"".join([HEADER, *rows()]))
    res = hostile("data-args", f"import: {name}", *IMPORT, str(path), "--symbol", symbol, "--timeframe", "1h",
                  stores=[stored])
    assert "a symbol is 1-64 letters, digits" in res.stderr and readable(res.stderr)
    res = hostile("data-args", f"fetch: {name}", "data", "fetch", "--symbol", symbol, "--api-url",
                  "http://127.0.0.1:9/", "--retries", "1", stores=[stored])
    assert "a symbol is 1-64 letters, digits" in res.stderr and readable(res.stderr)


def test_symbols_real_exchanges_use_are_accepted():
    for real in ("BTC", "BTC/USDC:USDC", "kPEPE", "1000PEPE", "PURR/USDC", "FLX-CRCL/USDC:USDC", "@107",
                 "BTC/USDT:USDT-240329-60000-C", "ETH-PERP", "BTC_USDT", "XBT.M", "币安人生/USDT", "SYNTH-A"):
        assert checks.symbol(real) == real
    with pytest.raises(InputError, match="exchange name"):
        checks.symbol("local\n", "exchange name")


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


def test_bars_before_2009_are_imported_with_a_warning_and_future_ones_only_when_allowed(tmp_path, monkeypatch):
    old = tmp_path / "old.csv"
    old.write_bytes(b"".join(_iso(2)).replace(b"2024-", b"1900-"))
    report, notes = import_into(tmp_path / "m.duckdb", old, "local", "OLD", "1h")
    assert report.inserted == 2 and any("2 bar(s) dated before 2009-01-03" in n for n in notes)
    future = [HEADER, *rows(3000, start=7_258_118_400_000)]
    (tmp_path / "f.csv").write_bytes(b"".join(future))
    for pieces in (False, True):  # the whole-file reader and the piece-by-piece one
        monkeypatch.setattr(bulk, "MIN_BYTES", (16 << 10) if pieces else 1 << 40)
        monkeypatch.setattr(bulk, "PIECE_BYTES", 16 << 10)
        with pytest.raises(ValidationError, match=r"3000 bar\(s\) dated after .* \(first: line 2, 2200-01-01"):
            import_into(tmp_path / "m.duckdb", tmp_path / "f.csv", "local", "F", "1h")
        report, _ = import_into(tmp_path / f"{pieces}.duckdb", tmp_path / "f.csv", "local", "F", "1h",
                                allow_future=True)
        assert report.inserted == 3000


def test_shown_escapes_what_a_terminal_would_act_on_and_caps_the_length():
    assert shown("\x1b[31mred\x07") == r"\x1b[31mred\x07"
    assert shown(b"PAR1\x00\xff") == r"PAR1\x00\xff"
    assert shown("\udcff.csv") == r"\xff.csv"  # a file name byte that was not UTF-8
    assert shown("a\u202eb") == r"a\u202eb" and shown("币安人生") == "币安人生"
    assert shown("x" * 500, 10) == "x" * 10 + "... (490 more characters)"


def test_every_error_the_command_line_prints_is_masked_and_escaped(capsys):
    from gaorg.cli import _fail

    message = "bad \x1b]0;owned\x07 at http://user:hunter22@127.0.0.1:9/x?password=hunter22\nsecond line"
    assert _fail(message, "InputError", 2, want_json=True) == 2
    err, out = capsys.readouterr()[::-1]
    assert "hunter22" not in err + out and "\x1b" not in err + out and "\x07" not in err
    assert "\\x1b]0;owned\\x07" in err and "http://***@127.0.0.1:9/x" in err
    assert err.count("\n") == 2  # a message's own lines stay lines


# -- kill -9 during an import ------------------------------------------------------------------------

KILLER = """
import os, signal, sys
from gaorg.data import bulk, writer
if {pieces}:
    bulk.MIN_BYTES = bulk.PIECE_BYTES = 1 << 16  # cut this small file into pieces
add = writer.BarsWriter.add
def killing_add(self, *args, **kwargs):
    add(self, *args, **kwargs)  # the first piece is in the open transaction: now die
    os.kill(os.getpid(), signal.SIGKILL)
writer.BarsWriter.add = killing_add
from gaorg.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("pieces", [False, True], ids=["whole file", "piece by piece"])
def test_a_kill_9_during_an_import_leaves_the_store_as_it_was(stored, gaorg_home, tmp_path, pieces):
    with MarketStore(stored, read_only=True) as store:
        before = store.read_bars("synthetic", "BTC", "1h")
        series = [s.to_dict() for s in store.series()]
    bump = np.round(before.close * 1.01, 6)  # the same times, other prices: every row would be replaced
    lines = [f"{t},{o},{max(h, c)},{min(lo, c)},{c},{v}\n" for t, o, h, lo, c, v in
             zip(before.ts, before.open, before.high, before.low, bump, before.volume, strict=True)]
    path = tmp_path / "replace.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "".join(lines))
    env = {**os.environ, "GAORG_HOME": str(gaorg_home)}
    proc = subprocess.run([sys.executable, "-c", KILLER.format(pieces=pieces), *IMPORT, str(path), *INTO_BTC],
                          capture_output=True, text=True, env=env, timeout=120)
    with MarketStore(stored, read_only=True) as store:
        after = store.read_bars("synthetic", "BTC", "1h")
        same = [s.to_dict() for s in store.series()] == series and np.array_equal(after.close, before.close) \
            and np.array_equal(after.ts, before.ts)
    killed = proc.returncode == -signal.SIGKILL
    record("kill", f"kill -9 mid-import ({'piece by piece' if pieces else 'whole file'})", refused=killed and same,
           changed=not same, code=proc.returncode)
    assert killed, proc.stderr[-2000:]
    assert same, "the store changed after a kill -9 mid-import"
    assert not np.array_equal(bump, before.close)  # the import would have changed the store
