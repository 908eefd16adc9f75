"""A stand-in Hyperliquid API on 127.0.0.1 for tests and demos: the real ccxt client talks to it.

It serves ``POST /info`` from :class:`~gaorg.data.bars.Bars` and funding events given to it, with the
request types ccxt's ``hyperliquid`` sends: ``spotMeta``, ``metaAndAssetCtxs``,
``spotMetaAndAssetCtxs``, ``perpDexs`` (load_markets), ``meta``, ``candleSnapshot`` (fetch_ohlcv),
``fundingHistory`` (fetch_funding_rate_history) and ``exchangeStatus``. Like the real API it returns
at most ``page_limit`` candles per call (the still-open candle included) and 500 funding events.

Faults are queued per request type (or per request type and coin) and consumed in order
(:meth:`StandInHyperliquid.fail`):
``ok`` (no fault: to fail a later request), ``timeout`` (answers after ``timeout_delay`` seconds),
``429``, ``500``/``502``/``503``, ``empty``
(an empty page), ``short`` (the first ``short_len`` items of the page), ``drop`` (the connection is cut, no answer).
Every request is logged in ``state.requests``. Extend it by adding entries to ``info_handlers`` or
``routes`` (the live stand-in adds ``/exchange``).

``GET /ws`` is the websocket (:mod:`gaorg.testing.hyperliquid_ws`): a test publishes candles with
:meth:`StandInHyperliquid.publish_candle` (served by ``candleSnapshot`` and pushed to the subscribers),
cuts the connections with :meth:`~StandInHyperliquid.drop_ws` and mutes them with
:meth:`~StandInHyperliquid.silence_ws`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from gaorg.data.bars import Bars
from gaorg.data.timeframes import TIMEFRAMES, can_resample, timeframe_ms
from gaorg.testing.hyperliquid_state import Request, StandInState
from gaorg.testing.hyperliquid_ws import WsHub


def _now_ms() -> int:
    return int(time.time() * 1000)


FAULTS = ("ok", "timeout", "429", "500", "502", "503", "empty", "short", "drop")


def candle_json(coin: str, interval: str, t: int, o: float, h: float, lo: float, c: float, v: float) -> dict[str, Any]:
    """A candle as Hyperliquid sends it (``candleSnapshot`` rows and websocket pushes alike)."""
    return {"t": t, "T": t + timeframe_ms(interval) - 1, "s": coin, "i": interval, "o": repr(o), "c": repr(c),
            "h": repr(h), "l": repr(lo), "v": repr(v), "n": 10}


class HttpFault(Exception):
    """Raised by a handler to answer with an HTTP status instead of JSON."""

    def __init__(self, status: int, body: str = "") -> None:
        super().__init__(status)
        self.status, self.body = status, body


class StandInHyperliquid:
    """An HTTP server on 127.0.0.1 (a free port) that plays Hyperliquid's public API; a context manager.

    ``StandInHyperliquid([bars, ...], funding={"BTC": (ts, rates)})``: each Bars is served as the
    candles of its coin (the symbol's base, ``BTC`` for ``BTC/USDC:USDC``) at its timeframe, and at
    coarser timeframes resampled from it. ``url`` is the base URL to give ccxt (``api_url``).
    """

    def __init__(
        self,
        bars: Iterable[Bars] = (),
        funding: dict[str, tuple[Any, Any]] | None = None,
        *,
        page_limit: int = 5000,
        timeout_delay: float = 1.0,
    ) -> None:
        self.state = StandInState(page_limit=page_limit, timeout_delay=timeout_delay)
        for b in bars:
            self.add_bars(b)
        for coin, (ts, rate) in (funding or {}).items():
            self.add_funding(coin, ts, rate)
        self.info_handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "meta": self.meta,
            "metaAndAssetCtxs": self.meta_and_asset_ctxs,
            "spotMeta": self.spot_meta,
            "spotMetaAndAssetCtxs": self.spot_meta_and_asset_ctxs,
            "perpDexs": lambda body: [None],
            "candleSnapshot": self.candle_snapshot,
            "fundingHistory": self.funding_history,
            "exchangeStatus": lambda body: {"specialStatuses": None, "time": str(int(time.time() * 1000))},
        }
        self.routes: dict[str, Callable[[dict[str, Any]], Any]] = {"/info": self.info}
        # called by publish_candle with (coin, interval, row, the candle before this update or None)
        self.candle_hooks: list[Callable[[str, str, tuple, tuple | None], Any]] = []
        self.ws = WsHub(self.state)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- data --------------------------------------------------------------------------------
    @staticmethod
    def coin_of(symbol: str) -> str:
        return symbol.split("/")[0]

    def add_bars(self, bars: Bars, coin: str | None = None) -> None:
        with self.state.lock:
            self.state.candles[(coin or self.coin_of(bars.symbol), bars.timeframe)] = bars

    def add_funding(self, coin: str, ts: Any, rates: Any) -> None:
        with self.state.lock:
            self.state.funding[coin] = (np.asarray(ts, dtype=np.int64), np.asarray(rates, dtype=np.float64))

    def fail(self, request_type: str, *faults: str, coin: str | None = None) -> None:
        """Queue faults for the next requests of ``request_type`` (one fault per request, in order);
        with ``coin``, only for requests about that coin (``candleSnapshot``, ``fundingHistory``),
        which take their faults from the coin's queue before the request type's."""
        for f in faults:
            if f not in FAULTS:
                raise ValueError(f"unknown fault {f!r}; use one of {FAULTS}")
        with self.state.lock:
            self.state.faults[request_type if coin is None else f"{request_type}/{coin}"].extend(faults)

    def delist(self, coin: str, volume: float | None = None) -> None:
        """Mark ``coin`` delisted (``isDelisted: true`` in meta's universe, as Hyperliquid does); its
        candles stay served up to the last one it has."""
        with self.state.lock:
            self.state.delisted.add(coin)
            if volume is not None:
                self.state.volume[coin] = float(volume)

    def set_volume(self, coin: str, volume: float) -> None:
        """The 24 h notional volume ``metaAndAssetCtxs`` reports for ``coin`` (``dayNtlVlm``)."""
        with self.state.lock:
            self.state.volume[coin] = float(volume)

    def publish_candle(self, coin: str, interval: str, row: Any) -> int:
        """Set the candle ``row`` = (open time ms, open, high, low, close, volume) of ``(coin, interval)``:
        added, or replaced when that candle is there (an open candle's update); ``candleSnapshot`` serves
        it, the ``candle_hooks`` see it (the exchange stand-in fires its trigger orders) and the websocket
        pushes it to the subscribers. How many subscribers got it."""
        t = int(row[0])
        o, h, lo, c, v = (float(x) for x in row[1:6])
        with self.state.lock:
            bars = self.state.candles.get((coin, interval))
            if bars is None:
                bars = Bars.from_arrays(np.zeros(0, np.int64), *(np.zeros(0),) * 5, exchange="hyperliquid",
                                        symbol=f"{coin}/USDC:USDC", timeframe=interval)
            cols = [np.array(getattr(bars, n)) for n in ("ts", "open", "high", "low", "close", "volume", "funding")]
            i = int(np.searchsorted(cols[0], t))
            values = (t, o, h, lo, c, v, 0.0)
            prev = None
            if i < len(cols[0]) and cols[0][i] == t:
                prev = tuple(float(col[i]) for col in cols[:6])
                for col, x in zip(cols, values, strict=True):
                    col[i] = x
            else:
                cols = [np.insert(col, i, x) for col, x in zip(cols, values, strict=True)]
            self.state.candles[(coin, interval)] = Bars.from_arrays(
                *cols, exchange=bars.exchange, symbol=bars.symbol, timeframe=interval)
        for hook in self.candle_hooks:  # e.g. the exchange stand-in's trigger orders, before the push
            hook(coin, interval, (t, o, h, lo, c, v), prev)
        return self.ws.push(coin, interval, candle_json(coin, interval, t, o, h, lo, c, v))

    def drop_ws(self) -> int:
        """Cut every websocket connection without a close frame (a network drop); how many were cut."""
        return self.ws.drop()

    def silence_ws(self, on: bool = True) -> None:
        """The websocket stays open but sends nothing (no push, no pong) until ``silence_ws(False)``."""
        self.ws.silence(on)

    # -- server ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first (use it as a context manager)"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandInHyperliquid:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                stand_in._handle(self)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?")[0] == "/ws":
                    stand_in.ws.serve(self)
                else:
                    stand_in._send(self, 404, "not found", "text/plain")

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.ws.close_all()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandInHyperliquid:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = None
        kind = body.get("type", "") if isinstance(body, dict) else ""
        if isinstance(body, dict) and isinstance(body.get("action"), dict):
            kind = body["action"].get("type", kind)
        coin = None
        if isinstance(body, dict):
            req = body.get("req")
            coin = req.get("coin") if isinstance(req, dict) else body.get("coin")
        with self.state.lock:
            self.state.requests.append(Request(time.monotonic(), http.path, kind, body))
            queue = self.state.faults.get(f"{kind}/{coin}") if coin else None
            queue = queue or self.state.faults.get(kind)
            fault = queue.popleft() if queue else None
        try:
            route = self.routes.get(http.path)
            if route is None:
                raise HttpFault(404, "not found")
            if not isinstance(body, dict):
                raise HttpFault(422, "Failed to deserialize the JSON body")
            if fault == "drop":
                http.close_connection = True
                http.connection.shutdown(2)  # socket.SHUT_RDWR: the client sees the connection cut
                return
            if fault == "timeout":
                time.sleep(self.state.timeout_delay)
            elif fault in ("429", "500", "502", "503"):
                raise HttpFault(int(fault), "stand-in fault")
            result = route(body)
            if fault == "empty" and isinstance(result, list):
                result = []
            elif fault == "short" and isinstance(result, list):
                result = result[: self.state.short_len]
            self._send(http, 200, json.dumps(result))
        except HttpFault as exc:
            self._send(http, exc.status, exc.body, "text/plain")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout): nothing to answer
            pass

    @staticmethod
    def _send(http: BaseHTTPRequestHandler, status: int, text: str, ctype: str = "application/json") -> None:
        data = text.encode()
        try:
            http.send_response(status)
            http.send_header("Content-Type", ctype)
            http.send_header("Content-Length", str(len(data)))
            http.end_headers()
            http.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- /info -------------------------------------------------------------------------------
    def info(self, body: dict[str, Any]) -> Any:
        handler = self.info_handlers.get(body.get("type", ""))
        if handler is None:
            raise HttpFault(422, f"Failed to deserialize the JSON body: unknown type {body.get('type')!r}")
        return handler(body)

    def _universe(self) -> list[dict[str, Any]]:
        out = []
        for c in self.state.coins():
            entry: dict[str, Any] = {"name": c, "szDecimals": 4, "maxLeverage": 40, "onlyIsolated": False}
            if c in self.state.delisted:
                entry["isDelisted"] = True
            out.append(entry)
        return out

    def meta(self, body: dict[str, Any]) -> Any:
        return {"universe": self._universe()}

    def meta_and_asset_ctxs(self, body: dict[str, Any]) -> Any:
        ctxs = []
        for coin in self.state.coins():
            px = self._last_close(coin)
            f = self.state.funding.get(coin)
            rate = float(f[1][-1]) if f is not None and len(f[1]) else 0.0000125
            volume = self.state.volume.get(coin, 1_000_000.0)
            ctxs.append({"dayNtlVlm": repr(float(volume)), "funding": f"{rate:.8f}", "impactPxs": [f"{px}", f"{px}"],
                         "markPx": f"{px}", "midPx": f"{px}", "openInterest": "1000.0", "oraclePx": f"{px}",
                         "premium": "0.0", "prevDayPx": f"{px}"})
        return [{"universe": self._universe()}, ctxs]

    def spot_meta(self, body: dict[str, Any]) -> Any:
        return {
            "tokens": [
                {"name": "USDC", "szDecimals": 8, "weiDecimals": 8, "index": 0, "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
                 "isCanonical": True, "evmContract": None, "fullName": None},
                {"name": "PURR", "szDecimals": 0, "weiDecimals": 5, "index": 1, "tokenId": "0xc1fb593aeffbeb02f85e0308e9956a90",
                 "isCanonical": True, "evmContract": None, "fullName": None},
            ],
            "universe": [{"name": "PURR/USDC", "tokens": [1, 0], "index": 0, "isCanonical": True}],
        }

    def spot_meta_and_asset_ctxs(self, body: dict[str, Any]) -> Any:
        ctx = {"dayNtlVlm": "8906.0", "markPx": "0.2", "midPx": "0.2", "prevDayPx": "0.2", "coin": "PURR/USDC"}
        return [self.spot_meta(body), [ctx]]

    def _last_close(self, coin: str) -> float:
        for (c, _), bars in self.state.candles.items():
            if c == coin and len(bars):
                return float(bars.close[-1])
        return 1.0

    def _series(self, coin: str, interval: str) -> Bars | None:
        with self.state.lock:
            exact = self.state.candles.get((coin, interval))
            finer = [b for (c, tf), b in self.state.candles.items()
                     if c == coin and interval in TIMEFRAMES and can_resample(tf, interval)]
        if exact is not None or not finer:
            return exact
        from gaorg.data.resample import resample_bars

        return resample_bars(min(finer, key=lambda b: b.timeframe_ms), interval)

    def candle_snapshot(self, body: dict[str, Any]) -> Any:
        req = body.get("req") or {}
        coin, interval = req.get("coin"), req.get("interval")
        start, end = int(req.get("startTime", 0)), min(int(req.get("endTime", 2**62)), _now_ms())
        bars = self._series(coin, interval)
        if bars is None:
            return []
        lo = int(np.searchsorted(bars.ts, start, side="left"))
        hi = int(np.searchsorted(bars.ts, end, side="right"))
        hi = min(hi, lo + self.state.page_limit)
        return [candle_json(coin, interval, int(bars.ts[i]), float(bars.open[i]), float(bars.high[i]),
                            float(bars.low[i]), float(bars.close[i]), float(bars.volume[i]))
                for i in range(lo, hi)]

    def funding_history(self, body: dict[str, Any]) -> Any:
        coin = body.get("coin")
        with self.state.lock:
            got = self.state.funding.get(coin)
        if got is None:
            return []
        ts, rate = got
        start, end = int(body.get("startTime", 0)), min(int(body.get("endTime", 2**62)), _now_ms())
        lo = int(np.searchsorted(ts, start, side="left"))
        hi = min(int(np.searchsorted(ts, end, side="right")), lo + self.state.funding_limit)
        return [{"coin": coin, "fundingRate": repr(float(rate[i])), "premium": "0.0", "time": int(ts[i])}
                for i in range(lo, hi)]
