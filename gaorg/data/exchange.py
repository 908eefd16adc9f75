"""The ccxt boundary: a safely configured exchange, one error translation, retries with backoff.

Every call into ccxt goes through :func:`call` (or the :func:`guarded` decorator): transient faults
(timeouts, HTTP 429/5xx, network errors) are retried with exponential backoff a bounded number of
times; everything ccxt raises is translated into :mod:`gaorg.errors` exactly once, here, by
:func:`translate_error`. The live broker reuses both.

Hyperliquid's ccxt client would, on its own, approve a builder fee and set a referrer code for the
account on its first private call; :func:`make_exchange` turns both off.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from gaorg.config import did_you_mean
from gaorg.errors import (
    ExchangeError,
    GaorgError,
    InputError,
    NotFoundError,
    PermanentExchangeError,
    RateLimitedError,
    TransientExchangeError,
    masked,
    shown,
)

T = TypeVar("T")
DEFAULT_EXCHANGE = "hyperliquid"
DEFAULT_SYMBOL = "BTC/USDC:USDC"
MAX_MESSAGE = 300


def redact_url(text: str) -> str:
    """``text`` with the credentials of every URL in it masked (``http://***@host/``) and query
    strings dropped (signed requests carry an API key or a signature there)."""
    text = masked(text)
    return re.sub(r"(https?://[^\s?]+)\?\S*", r"\1?<redacted>", text)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: ``attempts`` calls in all, delay ``base_delay * 2**k`` (x4 after HTTP 429), capped."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 10.0
    rate_limit_factor: float = 4.0

    def delay(self, attempt: int, error: GaorgError) -> float:
        factor = self.rate_limit_factor if isinstance(error, RateLimitedError) else 1.0
        return min(self.max_delay, self.base_delay * factor * 2**attempt)


DEFAULT_RETRY = RetryPolicy()


def translate_error(exc: BaseException, where: str = "") -> GaorgError:
    """The gaorg error for a ccxt (or network) exception; gaorg errors pass through unchanged.

    RateLimitExceeded/DDoSProtection -> RateLimitedError; other NetworkError (timeouts, 5xx,
    unavailable) -> TransientExchangeError; BadSymbol -> NotFoundError (exit 2); AuthenticationError,
    InsufficientFunds, InvalidOrder and other refusals -> PermanentExchangeError. The message is
    trimmed, and carries neither request headers, URL query strings (where API keys and signatures
    travel) nor a URL's ``user:password@``.
    """
    if isinstance(exc, GaorgError):
        return exc
    import ccxt

    text = shown(redact_url(" ".join(str(exc).split())), MAX_MESSAGE)  # no credentials, no raw escapes
    prefix = f"{where}: " if where else ""
    message = f"{prefix}{type(exc).__name__}: {text}"
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return RateLimitedError(message)
    if isinstance(exc, ccxt.NetworkError):
        return TransientExchangeError(message)
    if isinstance(exc, ccxt.BadSymbol):
        return NotFoundError(message)
    if isinstance(exc, ccxt.BaseError):
        return PermanentExchangeError(message)
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return TransientExchangeError(message)
    return ExchangeError(message)


def call(
    fn: Callable[..., T],
    *args: Any,
    retry: RetryPolicy = DEFAULT_RETRY,
    where: str = "",
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, GaorgError, float], None] | None = None,
    **kwargs: Any,
) -> T:
    """``fn(*args, **kwargs)`` with transient errors retried per ``retry`` and errors translated once."""
    attempt = 0
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every exception is translated, then raised or retried
            error = translate_error(exc, where or getattr(fn, "__name__", ""))
            if not isinstance(error, TransientExchangeError) or attempt + 1 >= retry.attempts:
                if isinstance(error, TransientExchangeError):
                    error = type(error)(f"{error} (gave up after {attempt + 1} attempts)")
                raise error from exc
            wait = retry.delay(attempt, error)
            if on_retry is not None:
                on_retry(attempt + 1, error, wait)
            sleep(wait)
            attempt += 1


def guarded(retry: RetryPolicy = DEFAULT_RETRY) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator form of :func:`call` for functions that talk to an exchange."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> T:
            return call(fn, *args, retry=retry, where=fn.__name__, **kwargs)

        return inner

    return wrap


def known_exchanges() -> list[str]:
    """ccxt's exchange ids, read from its package directory: a wrong name fails without the
    seconds-long ``import ccxt`` (one module per exchange, as ``ccxt.exchanges`` lists them)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("ccxt")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - ccxt is a dependency
        import ccxt

        return list(ccxt.exchanges)
    folder = Path(next(iter(spec.submodule_search_locations)))
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def make_exchange(
    name: str = DEFAULT_EXCHANGE,
    testnet: bool = False,
    credentials: Mapping[str, str] | None = None,
    api_url: str | None = None,
    *,
    timeout_ms: int | None = None,
    rate_limit_ms: float | None = None,
) -> Any:
    """A ccxt exchange by ``name``: rate limiting on, sandbox with ``testnet``, builder fee/referrer off.

    ``credentials`` (e.g. walletAddress/privateKey or apiKey/secret) come from the environment,
    read by the caller. ``api_url`` sends every request to another base URL (a stand-in server in
    tests, a proxy). ``timeout_ms`` and ``rate_limit_ms`` override ccxt's defaults.
    """
    known = known_exchanges()
    if name not in known:
        raise NotFoundError(
            f"unknown exchange {name!r}{did_you_mean(name, known)}; ccxt knows {len(known)} "
            f"exchanges (python -c 'import ccxt; print(ccxt.exchanges)')"
        )
    import ccxt
    config: dict[str, Any] = {"enableRateLimit": True, **dict(credentials or {})}
    if timeout_ms is not None:
        config["timeout"] = int(timeout_ms)
    if rate_limit_ms is not None:
        config["rateLimit"] = float(rate_limit_ms)
    exchange = getattr(ccxt, name)(config)
    if testnet:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported:
            raise InputError(f"{name} has no testnet (sandbox) in ccxt; drop --testnet") from None
    if api_url:
        base = api_url.rstrip("/")
        api = exchange.urls.get("api")
        exchange.urls["api"] = {key: base for key in api} if isinstance(api, dict) else base
    if name == "hyperliquid":
        _no_builder_fee_no_referrer(exchange)
    return exchange


def _no_builder_fee_no_referrer(exchange: Any) -> None:
    """Hyperliquid: no builder fee approval, no builder attached to orders, no referrer code."""
    exchange.options["builderFee"] = False
    exchange.options["approvedBuilderFee"] = False  # orders carry no builder
    exchange.options["refSet"] = True  # set_ref() returns at once: no setReferrer action
    exchange.options["ref"] = ""
    # ccxt would still sign an approveBuilderFee action (at 0%) on the first private call
    exchange.handle_builder_fee_approval = lambda: True


def load_markets(exchange: Any, retry: RetryPolicy = DEFAULT_RETRY) -> dict[str, Any]:
    """``exchange.load_markets()`` through :func:`call`."""
    return call(exchange.load_markets, retry=retry, where=f"{exchange.id} load_markets")


def check_timeframe(exchange: Any, timeframe: str) -> None:
    """InputError unless ``exchange`` offers ``timeframe`` (known without a network call)."""
    offered = list((getattr(exchange, "timeframes", None) or {}).keys())
    if timeframe not in offered:
        raise InputError(
            f"{exchange.id} does not offer the timeframe {timeframe!r}; it offers {', '.join(offered) or 'none'}"
        )


def check_market(exchange: Any, symbol: str) -> dict[str, Any]:
    """The loaded market of ``symbol``; NotFoundError (with a close name) when the exchange has none."""
    markets = exchange.markets or {}
    if symbol not in markets:
        raise NotFoundError(
            f"{exchange.id} has no market {symbol!r}{did_you_mean(symbol, markets)}; "
            f"perpetuals look like BTC/USDC:USDC, spot like PURR/USDC"
        )
    return markets[symbol]
