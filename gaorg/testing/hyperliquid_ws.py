"""The stand-in Hyperliquid's websocket: ``GET /ws`` on the stand-in's own host:port (the real one is
``wss://api.hyperliquid.xyz/ws``), enough of the protocol for ccxt.pro's ``watch_ohlcv``.

RFC 6455 by hand on the stdlib handler: the handshake (``Sec-WebSocket-Accept``; no extension, no
subprotocol is accepted), masked client frames (fragments reassembled), text, close, ping and pong.
Hyperliquid's messages: ``{"method": "subscribe", "subscription": {"type": "candle", "coin", "interval"}}``
answered by a ``subscriptionResponse`` (``unsubscribe`` likewise); ``{"method": "ping"}`` answered by
``{"channel": "pong"}``; candles pushed as ``{"channel": "candle", "data": {t, T, s, i, o, c, h, l, v, n}}``
(the still-open candle, again at each update, like the real feed). No snapshot on subscribing.

Faults: :meth:`WsHub.drop` cuts every connection without a close frame (a network drop);
:meth:`WsHub.silence` keeps the connections open but sends nothing (no push, no pong, no response);
``fail("ws", ...)`` queues faults for the next handshakes: ``429``/``5xx`` (the upgrade is refused
with that status), ``timeout`` (answered after ``timeout_delay``), ``drop`` (accepted, then cut at once).
The handshakes and every message received are logged in ``state.requests`` (types ``ws``,
``ws.subscribe``, ``ws.ping``, ...).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from gaorg.testing.hyperliquid_state import StandInState

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 1 << 20


class ProtocolError(Exception):
    """The peer broke RFC 6455 (answered with close code 1002, or 1009 for a too large message)."""

    def __init__(self, message: str, code: int = 1002) -> None:
        super().__init__(message)
        self.code = code


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for the client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` repeated (masking and unmasking are the same)."""
    n = len(data)
    if not n:
        return data
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def encode_frame(opcode: int, payload: bytes = b"", mask: bytes | None = None, fin: bool = True) -> bytes:
    """One frame; servers send unmasked frames, clients pass a 4-byte ``mask``."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head.append(bit | n)
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask:
        return bytes(head) + mask + apply_mask(payload, mask)
    return bytes(head) + payload


def read_frame(read: Callable[[int], bytes], require_mask: bool = True) -> tuple[bool, int, bytes]:
    """``(fin, opcode, payload)`` of the next frame, unmasked; EOFError when the peer is gone."""

    def exact(n: int) -> bytes:
        data = read(n) if n else b""
        if len(data) < n:
            raise EOFError("the connection closed")
        return data

    b0, b1 = exact(2)
    if b0 & 0x70:
        raise ProtocolError("reserved bits set: no extension was negotiated")
    fin, opcode, masked, n = bool(b0 & 0x80), b0 & 0x0F, bool(b1 & 0x80), b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exact(8))[0]
    if opcode >= 0x8 and (n > 125 or not fin):
        raise ProtocolError("control frames are short and never fragmented")
    if n > MAX_MESSAGE:
        raise ProtocolError(f"frame of {n} bytes is too large", 1009)
    if require_mask and not masked:
        raise ProtocolError("client frames must be masked")
    mask = exact(4) if masked else b""
    payload = exact(n)
    return fin, opcode, apply_mask(payload, mask) if masked else payload


class WsSession:
    """One websocket connection: its subscriptions and a lock so pushes from other threads do not interleave."""

    def __init__(self, hub: WsHub, http: BaseHTTPRequestHandler) -> None:
        self.hub, self.sock, self.rfile = hub, http.connection, http.rfile
        self.subs: set[tuple[str, str]] = set()
        self.send_lock = threading.Lock()
        self.closed = False

    def send(self, opcode: int, payload: bytes = b"") -> bool:
        with self.send_lock:
            if self.closed:
                return False
            try:
                self.sock.sendall(encode_frame(opcode, payload))
                return True
            except OSError:
                self.closed = True
                return False

    def send_json(self, obj: Any) -> bool:
        return self.send(OP_TEXT, json.dumps(obj, separators=(",", ":")).encode())

    def close(self, code: int = 1000, reason: str = "") -> None:
        """A clean close: the close frame, then the socket."""
        self.send(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:100])
        self.drop()

    def drop(self) -> None:
        """Cut the connection without a close frame (what a network drop looks like)."""
        with self.send_lock:
            self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def run(self) -> None:
        """Read messages until the peer closes or the connection is cut."""
        parts: list[bytes] = []
        op_first = OP_TEXT
        try:
            while not self.closed:
                fin, opcode, payload = read_frame(self.rfile.read)
                if opcode == OP_CLOSE:
                    code = payload[:2] if len(payload) >= 2 else struct.pack("!H", 1000)
                    self.send(OP_CLOSE, code)
                    break
                if opcode == OP_PING:
                    if not self.hub.silent:
                        self.send(OP_PONG, payload)
                    continue
                if opcode == OP_PONG:
                    continue
                if opcode == OP_CONT:
                    if not parts:
                        raise ProtocolError("a continuation frame without a message")
                elif parts:
                    raise ProtocolError("a new message inside a fragmented one")
                else:
                    op_first = opcode
                parts.append(payload)
                if sum(map(len, parts)) > MAX_MESSAGE:
                    raise ProtocolError("message too large", 1009)
                if fin:
                    data, parts = b"".join(parts), []
                    if op_first == OP_TEXT:
                        self.hub.on_message(self, data)
        except ProtocolError as exc:
            self.close(exc.code, str(exc))
        except (EOFError, OSError):
            pass
        finally:
            self.drop()


class WsHub:
    """The websocket side of a stand-in: the handshake, the sessions, pushes and faults."""

    def __init__(self, state: StandInState) -> None:
        self.state = state
        self.sessions: list[WsSession] = []
        self.silent = False
        self.lock = threading.Lock()

    # -- what tests call --------------------------------------------------------------------------
    def push(self, coin: str, interval: str, candle: dict[str, Any]) -> int:
        """Send ``candle`` to every subscriber of ``(coin, interval)``; how many got it (none when silent)."""
        if self.silent:
            return 0
        with self.lock:
            targets = [s for s in self.sessions if (coin, interval) in s.subs]
        return sum(s.send_json({"channel": "candle", "data": candle}) for s in targets)

    def drop(self) -> int:
        """Cut every open connection without a close frame; how many were cut."""
        with self.lock:
            sessions = list(self.sessions)
        for s in sessions:
            s.drop()
        return len(sessions)

    def silence(self, on: bool = True) -> None:
        """Keep the connections open but send nothing (pushes, pongs, responses) until ``silence(False)``."""
        self.silent = on

    def connections(self) -> int:
        with self.lock:
            return sum(not s.closed for s in self.sessions)

    def subscribers(self, coin: str, interval: str) -> int:
        with self.lock:
            return sum(not s.closed and (coin, interval) in s.subs for s in self.sessions)

    def close_all(self) -> None:
        """Close every connection with a close frame (1001: going away): the server stops."""
        with self.lock:
            sessions = list(self.sessions)
        for s in sessions:
            s.close(1001, "stand-in stopping")

    # -- the server side --------------------------------------------------------------------------
    def serve(self, http: BaseHTTPRequestHandler) -> None:
        """Answer ``GET /ws``: the upgrade (or a queued fault), then the session until it ends."""
        from gaorg.testing.hyperliquid_state import Request

        http.close_connection = True
        headers = http.headers
        with self.state.lock:
            self.state.requests.append(Request(time.monotonic(), http.path, "ws", dict(headers)))
            queue = self.state.faults.get("ws")
            fault = queue.popleft() if queue else None
        key = headers.get("Sec-WebSocket-Key", "")
        if (headers.get("Upgrade", "").lower() != "websocket" or "upgrade" not in headers.get("Connection", "").lower()
                or headers.get("Sec-WebSocket-Version") != "13" or not key):
            self._refuse(http, 400, "a websocket upgrade (version 13) is expected")
            return
        if fault in ("429", "500", "502", "503"):
            self._refuse(http, int(fault), "stand-in fault")
            return
        if fault == "timeout":
            time.sleep(self.state.timeout_delay)
        lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Accept: {accept_key(key)}"]
        try:
            http.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            http.wfile.flush()
        except OSError:
            return
        session = WsSession(self, http)
        with self.lock:
            self.sessions.append(session)
        try:
            if fault == "drop":
                session.drop()
            else:
                session.run()
        finally:
            with self.lock:
                self.sessions.remove(session)

    @staticmethod
    def _refuse(http: BaseHTTPRequestHandler, status: int, text: str) -> None:
        data = text.encode()
        try:
            http.send_response(status)
            http.send_header("Content-Type", "text/plain")
            http.send_header("Content-Length", str(len(data)))
            http.end_headers()
            http.wfile.write(data)
        except OSError:
            pass

    def on_message(self, session: WsSession, data: bytes) -> None:
        from gaorg.testing.hyperliquid_state import Request

        try:
            msg = json.loads(data)
        except json.JSONDecodeError:
            msg = None
        method = msg.get("method") if isinstance(msg, dict) else None
        with self.state.lock:
            self.state.requests.append(Request(time.monotonic(), "/ws", f"ws.{method}", msg))
        if self.silent:
            return
        if method == "ping":
            session.send_json({"channel": "pong"})
        elif method in ("subscribe", "unsubscribe"):
            sub = msg.get("subscription") if isinstance(msg.get("subscription"), dict) else {}
            if sub.get("type") != "candle" or not sub.get("coin") or not sub.get("interval"):
                session.send_json({"channel": "error", "data": f"Invalid subscription {json.dumps(sub)}"})
                return
            key = (str(sub["coin"]), str(sub["interval"]))
            if method == "subscribe":
                session.subs.add(key)
            else:
                session.subs.discard(key)
            session.send_json({"channel": "subscriptionResponse", "data": {"method": method, "subscription": sub}})
        else:
            session.send_json({"channel": "error", "data": f"Unknown method: {data.decode(errors='replace')[:200]}"})
