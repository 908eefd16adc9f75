"""Typed, frozen configuration of a live run, parsed once at the edge (``--config FILE`` + flags).

A YAML/JSON file holds the same keys as :class:`LiveConfig` (``limits:`` and ``costs:`` nested);
command-line flags override the file. Unknown keys and wrong types are refused with the fix.
``symbol`` names one market; ``symbols`` (with optional ``weights``) several, traded by one runner
on shares of the capital; ``weights`` alone names them too, and its key ``"*"`` gives the symbols it
does not name an equal split of a share (see docs/live.md, "Several symbols").
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from gaorg.config import parse_config
from gaorg.errors import ConfigError

SwitchPolicy = Literal["flatten", "handover"]
DEFAULT_SYMBOL = "BTC/USDC:USDC"
REST = "*"  # the weights' key for the symbols they do not name (an equal split of that share)


@dataclass(frozen=True)
class RiskLimits:
    """Limits the risk gate enforces between the strategy and the broker (quote currency, fractions).

    ``daily_loss`` and ``max_drawdown`` are fractions of equity (0.05 = 5%); either one reached moves
    the gate to HALTED and flattens. ``max_orders_per_minute`` counts orders sent in the feed's clock.
    """

    max_position_notional: float = 1_000_000.0
    max_total_notional: float = 1_000_000.0
    max_leverage: float = 1.5
    max_order_notional: float = 1_000_000.0
    max_orders_per_minute: int = 30
    daily_loss: float = 0.25
    max_drawdown: float = 0.5

    def __post_init__(self) -> None:
        for name in ("max_position_notional", "max_total_notional", "max_leverage", "max_order_notional"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"limits.{name}={value!r} must be a positive number")
        if self.max_orders_per_minute < 1:
            raise ValueError("limits.max_orders_per_minute must be at least 1")
        for name in ("daily_loss", "max_drawdown"):
            value = getattr(self, name)
            if not (0.0 < value <= 1.0):
                raise ValueError(f"limits.{name}={value!r} must be a fraction in (0, 1], e.g. 0.1 for 10%")


@dataclass(frozen=True)
class LiveCosts:
    """The paper broker's costs: the backtest's ``Costs`` (fee, slippage fractions; starting cash)."""

    fee: float = 0.00045
    slippage: float = 0.0
    init_cash: float = 10_000.0

    def to_costs(self) -> Any:
        from gaorg.backtest.engine import Costs

        return Costs(fee=self.fee, slippage=self.slippage, init_cash=self.init_cash)


@dataclass(frozen=True)
class LiveConfig:
    """One live run: which strategy, market, broker, feed; sizing, limits and intervals."""

    model: str = ""
    symbol: str = ""  # one market (the shorthand of symbols: [X]); default BTC/USDC:USDC
    symbols: tuple[str, ...] = ()  # several markets traded by one runner, each on its share of the capital
    weights: dict[str, float] | None = None  # symbol -> share of the capital (sums to 1); None: equal shares
    book: str = ""  # set by for_symbol(): the id of the several-symbol run a one-symbol config belongs to
    timeframe: str = "1h"
    exchange: str | None = None  # the market's exchange in the store (None: the one that has the symbol)
    broker: Literal["paper", "exchange"] = "paper"
    venue: str = "hyperliquid"  # the ccxt exchange of the exchange broker and feed
    exchange_stops: bool = True  # exchange broker: stop/take as reduce-only trigger orders (False: bar-close checks)
    feed: Literal["replay", "exchange"] = "replay"
    alias: str = "production"
    start: str | None = None  # replay range (ISO date or ms); None: the whole stored series
    end: str | None = None
    max_bars: int | None = None  # stop after N bars processed in this live state (across restarts)
    window: int = 1000  # trailing bars given to the strategy (raised to the genome's lookback + 2)
    replay_speed: float = 0.0  # bars per second of a replay; 0: as fast as possible
    poll_seconds: float = 5.0  # exchange feed: seconds between polls for a new closed bar
    feed_transport: Literal["auto", "poll", "watch"] = "auto"  # exchange feed: websocket where ccxt.pro has it
    stale_bars: float = 1.5  # a feed whose newest closed bar is older than this many bars is stale
    registry_poll_seconds: float = 30.0  # how often the runner asks the registry where the alias points
    switch_policy: SwitchPolicy = "flatten"
    leverage_target: float = 1.0  # scales the strategy's target fraction (sizing)
    testnet: bool = False
    api_url: str | None = None  # another base URL for the exchange (a stand-in, a proxy)
    rate_limit_ms: float | None = None  # ccxt's minimum delay between requests (None: ccxt's default)
    metrics_port: int | None = None  # Prometheus metrics on 127.0.0.1:PORT (0: a free port)
    api_port: int | None = None  # operator API on 127.0.0.1:PORT (0: a free port)
    kill_file: str | None = None  # if this file exists the executor halts and flattens (default $GAORG_HOME/KILL)
    limits: RiskLimits = field(default_factory=RiskLimits)
    costs: LiveCosts = field(default_factory=LiveCosts)

    def __post_init__(self) -> None:
        self._settle_symbols()
        if self.window < 10:
            raise ValueError("window must be at least 10 bars")
        if self.max_bars is not None and self.max_bars < 1:
            raise ValueError("max_bars must be at least 1")
        if self.replay_speed < 0 or self.poll_seconds <= 0 or self.registry_poll_seconds <= 0:
            raise ValueError("replay_speed must be >= 0; poll_seconds and registry_poll_seconds > 0")
        if not (0 < self.leverage_target <= 10):
            raise ValueError("leverage_target must be in (0, 10]")
        for name in ("metrics_port", "api_port"):  # a port out of range would only fail once trading
            port = getattr(self, name)
            if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
                flag = "--" + name.replace("_", "-")
                raise ValueError(f"{name}={port!r} ({flag}) is not a TCP port: give 1..65535 (above 1023 without "
                                 f"privileges), or {flag} 0 for a free one")

    def _settle_symbols(self) -> None:
        """``symbol`` and ``symbols`` agree; one symbol fills both, several leave ``symbol`` empty.

        ``weights`` alone names the basket (its keys, in order); with ``symbols``, its key ``"*"`` is the
        share of the symbols it does not name, split equally among them.
        """
        symbols = tuple(str(s).strip() for s in self.symbols)
        if not symbols and not self.symbol and isinstance(self.weights, dict) and self.weights:
            if REST in self.weights:
                raise ValueError(f"weights has {REST!r} (the share of the symbols it does not name) but no "
                                 "symbols: list them under symbols, or give every symbol its weight")
            symbols = tuple(str(s).strip() for s in self.weights)
        if self.symbol and symbols and symbols != (self.symbol,):
            raise ValueError(f"symbol {self.symbol!r} and symbols {list(symbols)} disagree: give symbol for one "
                             "market or symbols for several, not both")
        if not symbols:
            symbols = (self.symbol or DEFAULT_SYMBOL,)
        if any(not s for s in symbols):
            raise ValueError("symbols has an empty name")
        seen: set[str] = set()
        for s in symbols:
            if s in seen:
                raise ValueError(f"symbols lists {s!r} twice; each market once")
            seen.add(s)
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "symbol", symbols[0] if len(symbols) == 1 else "")
        if self.weights is None:
            return
        if not isinstance(self.weights, dict) or not self.weights:
            raise ValueError(f"weights must map each symbol to its share of the capital, got {self.weights!r}")
        weights: dict[str, float] = {}
        for name, w in self.weights.items():
            if name not in seen and name != REST:
                raise ValueError(f"weights names {name!r}, which is not traded (symbols: {', '.join(symbols)})")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not (math.isfinite(w) and w > 0):
                raise ValueError(f"weights.{name}={w!r} must be a positive number")
            weights[str(name)] = float(w)
        rest = weights.pop(REST, None)
        missing = [s for s in symbols if s not in weights]
        if rest is not None:
            if not missing:
                raise ValueError(f"weights gives {REST!r} a share but names every symbol: nothing is left to share")
            weights.update({s: rest / len(missing) for s in missing})
        elif missing:
            raise ValueError(f"weights has no share for {', '.join(missing)}; give every traded symbol one, or "
                             f"'{REST}': SHARE for the symbols it does not name")
        weights = {s: weights[s] for s in symbols}
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"weights sum to {total:.6g}, not 1: each is a share of the capital")
        object.__setattr__(self, "weights", weights)

    @property
    def multi(self) -> bool:
        """True when the run trades several symbols."""
        return len(self.symbols) > 1

    def weight(self, symbol: str) -> float:
        """``symbol``'s share of the capital (equal shares unless ``weights`` says otherwise)."""
        if symbol not in self.symbols:
            raise KeyError(symbol)
        return self.weights[symbol] if self.weights else 1.0 / len(self.symbols)

    def for_symbol(self, symbol: str) -> LiveConfig:
        """The one-symbol config of ``symbol`` within this run (its executor's view).

        For several symbols, the paper account starts with the symbol's share of ``init_cash`` and the
        state key names the book (symbols and weights), so a share's account is never confused with a
        whole-capital run of the same market.
        """
        if not self.multi:
            return self
        costs = replace(self.costs, init_cash=self.costs.init_cash * self.weight(symbol))
        return replace(self, symbol=symbol, symbols=(), weights=None, costs=costs, book=self.book_id())

    def book_id(self) -> str:
        """A short id of the symbols and weights of a several-symbol run ('' for one symbol)."""
        if not self.multi:
            return self.book
        text = ",".join(f"{s}={self.weight(s)!r}" for s in sorted(self.symbols))
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def state_key(self) -> str:
        """The live state this run continues: one per model, market and broker (and book, within several)."""
        if self.multi:
            raise ValueError("a run of several symbols has one live state per symbol: use for_symbol(s).state_key")
        key = f"{self.model or '-'}|{self.exchange}|{self.symbol}|{self.timeframe}|{self.broker}"
        return f"{key}|book={self.book}" if self.book else key


def load_live_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> LiveConfig:
    """The config of ``path`` (YAML or JSON) with ``overrides`` (flags given) on top, validated."""
    data: dict[str, Any] = {}
    where = "live config"
    if path is not None:
        import yaml

        path = Path(path)
        where = str(path)
        try:
            loaded = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {where!r} does not exist") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML/JSON: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{where}: expected a mapping of keys to values")
        data.update(loaded or {})
    config = parse_config(LiveConfig, data, where)
    clean = {k: v for k, v in (overrides or {}).items() if v is not None}
    if clean:
        merged = {**data, **clean}
        if "symbol" in clean or "symbols" in clean:  # the flags' markets replace the file's
            for key in ("symbol", "symbols"):
                if key not in clean:
                    merged.pop(key, None)
            if "weights" not in clean and not _weights_fit(data.get("weights"), merged.get("symbols")):
                merged.pop("weights", None)  # the file's weights were for the file's markets
        config = parse_config(LiveConfig, merged, where)
    return config


def _weights_fit(weights: Any, symbols: Any) -> bool:
    """A file's ``weights`` still apply to the ``symbols`` the flags give (same markets; with ``*``: a subset)."""
    if not isinstance(weights, dict) or not symbols:
        return False
    named, given = set(weights) - {REST}, {str(s).strip() for s in symbols}
    return named == given or (REST in weights and named < given)


def with_overrides(config: LiveConfig, **changes: Any) -> LiveConfig:
    """A copy of ``config`` with fields changed (validated again)."""
    try:
        return replace(config, **changes)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
