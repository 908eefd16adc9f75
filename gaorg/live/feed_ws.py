"""ccxt.pro ``watch_ohlcv`` for the synchronous executor: the async client runs in a daemon thread
with its own event loop and hands each candle update to a queue (:class:`CandleStream`); the feeds
of a basket share one client, connection and thread (:class:`CandleHub`).

The pro client is built from the sync client the runner made (:func:`pro_exchange`): the same
exchange, rate limit, timeout and testnet; a stand-in's or proxy's base URL carries over, with the
websocket at ``/ws`` of it (``http`` -> ``ws``, ``https`` -> ``wss``); no builder fee and no referrer.
It gets no credentials: candles are public.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

log = logging.getLogger("gaorg.live.feed")


def ws_url(rest_url: str) -> str:
    """The websocket URL that goes with a REST base URL: ``http://h:p`` -> ``ws://h:p/ws`` (https -> wss)."""
    base = rest_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/ws"
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):] + "/ws"
    return base + "/ws"


def pro_exchange(sync: Any) -> Any | None:
    """The ccxt.pro client for the same exchange and settings as ``sync``; None when ccxt.pro has no
    such exchange or it cannot ``watch_ohlcv``."""
    import ccxt.pro

    cls = getattr(ccxt.pro, str(getattr(sync, "id", "")), None)
    if cls is None:
        return None
    config = {"enableRateLimit": bool(getattr(sync, "enableRateLimit", True))}
    for key in ("timeout", "rateLimit"):
        if getattr(sync, key, None) is not None:
            config[key] = getattr(sync, key)
    pro = cls(config)
    if not pro.has.get("watchOHLCV"):
        return None
    if getattr(sync, "markets", None):  # the sync client's markets: no second load_markets
        pro.set_markets_from_exchange(sync)
    if getattr(sync, "isSandboxModeEnabled", False):
        pro.set_sandbox_mode(True)
    sync_api, pro_api = sync.urls.get("api"), pro.urls.get("api")
    if isinstance(sync_api, dict) and isinstance(pro_api, dict):
        rest = {k: v for k, v in sync_api.items() if isinstance(v, str)}
        if any(pro_api.get(k) != v for k, v in rest.items()):  # a stand-in or a proxy: its URLs, its /ws
            pro.urls["api"] = {**pro_api, **rest, "ws": {"public": ws_url(next(iter(rest.values())))}}
    for key in ("builderFee", "approvedBuilderFee", "refSet", "ref"):
        if key in sync.options:
            pro.options[key] = sync.options[key]
    if "handle_builder_fee_approval" in vars(sync):  # make_exchange turned the approval off

        async def approved() -> bool:
            return True

        pro.handle_builder_fee_approval = approved
    return pro


class CandleHub:
    """One ccxt.pro client and one event-loop thread for the websocket candles of a basket's feeds.

    ccxt.pro keeps one connection per client, so the basket's N subscriptions share one websocket
    (Hyperliquid allows 100 connections and 1,000 subscriptions per address) and one thread, instead
    of N of each. ``make_pro()`` builds the client at the first :meth:`stream` (None: no websocket
    candles; the feeds poll). The client is closed and the thread ends when the last stream closes.
    """

    def __init__(self, make_pro: Any) -> None:
        self._make_pro = make_pro
        self.pro: Any = None
        self._made = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._streams: set[CandleStream] = set()
        self._lock = threading.Lock()

    def stream(self, symbol: str, timeframe: str, reconnects: int = 5, backoff: float = 1.0) -> CandleStream | None:
        """A started stream of ``symbol`` on the shared client (None when there is no websocket client)."""
        with self._lock:
            if not self._made:
                self._made, self.pro = True, self._make_pro()
            if self.pro is None:
                return None
            if self._thread is None or not self._thread.is_alive():
                self._start()
            stream = CandleStream(self.pro, symbol, timeframe, reconnects, backoff, hub=self)
            self._streams.add(stream)
        assert self._loop is not None
        stream._future = asyncio.run_coroutine_threadsafe(stream._watch(), self._loop)
        return stream

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop,), name="gaorg-ws hub", daemon=True)
        self._thread.start()

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            rest = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in rest:
                t.cancel()
            if rest:
                loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
            try:
                loop.run_until_complete(self.pro.close())
            except Exception as exc:  # noqa: BLE001 - closing is best effort, the thread must end
                log.warning("closing the websocket client failed: %s", exc)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def release(self, stream: CandleStream, timeout: float = 10.0) -> None:
        """``stream`` closed; the last one stops the loop, closes the client and ends the thread."""
        with self._lock:
            self._streams.discard(stream)
            last = not self._streams
            loop, thread = self._loop, self._thread
        if not last or loop is None or thread is None:
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # the loop has already closed
            pass
        if thread is not threading.current_thread():
            thread.join(timeout)


class CandleStream:
    """``watch_ohlcv(symbol, timeframe)`` in a daemon thread; its updates arrive on ``events`` as

    ``("rows", [[ts, o, h, l, c, v], ...])`` (the candles that changed, the open one included),
    ``("down", message)`` after an error (it reconnects after ``backoff * 2**k`` seconds, capped),
    ``("failed", message)`` after ``reconnects`` failed attempts in a row or a permanent error (the
    stream has ended) and ``("closed", "")`` once :meth:`close` is called. ``up`` says a push arrived
    since the last (re)connection. :meth:`close` stops it and closes the client (websocket and HTTP
    session) in its own loop.
    """

    def __init__(self, pro: Any, symbol: str, timeframe: str, reconnects: int = 5, backoff: float = 1.0,
                 max_backoff: float = 30.0, hub: CandleHub | None = None) -> None:
        self.pro, self.symbol, self.timeframe, self.hub = pro, symbol, timeframe, hub
        self._future: Any = None  # the watch task in a hub's loop
        self.reconnects, self.backoff, self.max_backoff = reconnects, backoff, max_backoff
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.up = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"gaorg-ws {symbol} {timeframe}", daemon=True)

    def start(self) -> CandleStream:
        self._thread.start()
        self._started.wait(10)
        return self

    @property
    def alive(self) -> bool:
        if self.hub is not None:
            return self._future is not None and not self._future.done()
        return self._thread.is_alive()

    def close(self, timeout: float = 10.0) -> None:
        """Stop watching, close the client, end the thread (waits up to ``timeout`` seconds); on a hub,
        stop this symbol's watch (the hub closes the client after its last stream)."""
        if self.hub is not None:
            self.events.put(("closed", ""))
            if self._future is not None:
                self._future.cancel()
            self.hub.release(self, timeout)
            return
        loop, task = self._loop, self._task
        self.events.put(("closed", ""))  # wakes a reader waiting for a push
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop has already closed
                pass
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the websocket thread of %s %s did not end in %.0fs", self.symbol, self.timeframe,
                            timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._watch())
            self._started.set()
            try:
                loop.run_until_complete(self._task)
            except asyncio.CancelledError:
                pass
            try:
                loop.run_until_complete(self.pro.close())
            except Exception as exc:  # noqa: BLE001 - closing is best effort, the thread must end
                log.warning("closing the websocket client failed: %s", exc)
            rest = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in rest:
                t.cancel()
            if rest:
                loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self._started.set()
            loop.close()

    async def _watch(self) -> None:
        from gaorg.data.exchange import translate_error
        from gaorg.errors import TransientExchangeError

        failures = 0
        where = f"{self.pro.id} watch_ohlcv {self.symbol}"
        while True:
            try:
                rows = await self.pro.watch_ohlcv(self.symbol, self.timeframe)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every error is translated, then retried or final
                self.up = False
                error = translate_error(exc, where)
                failures += 1
                if not isinstance(error, TransientExchangeError) or failures > self.reconnects:
                    self.events.put(("failed", f"{error} ({failures} attempts)"))
                    return
                self.events.put(("down", str(error)))
                await asyncio.sleep(min(self.max_backoff, self.backoff * 2 ** (failures - 1)))
                continue
            failures = 0
            self.up = True
            self.events.put(("rows", [[float(x) for x in r[:6]] for r in rows]))


def drain(events: queue.Queue[tuple[str, Any]], wait: float) -> list[tuple[str, Any]]:
    """The events waiting on ``events``, after waiting up to ``wait`` seconds for the first one."""
    out: list[tuple[str, Any]] = []
    try:
        out.append(events.get(timeout=max(0.0, wait)))
        while True:
            out.append(events.get_nowait())
    except queue.Empty:
        pass
    return out
