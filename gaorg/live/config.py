"""Typed, frozen configuration of a live run, parsed once at the edge (``--config FILE`` + flags).

A YAML/JSON file holds the same keys as :class:`LiveConfig` (``limits:`` and ``costs:`` nested);
command-line flags override the file. Unknown keys and wrong types are refused with the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from gaorg.config import parse_config
from gaorg.errors import ConfigError

SwitchPolicy = Literal["flatten", "handover"]


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
    symbol: str = "BTC/USDC:USDC"
    timeframe: str = "1h"
    exchange: str | None = None  # the market's exchange in the store (None: the one that has the symbol)
    broker: Literal["paper", "exchange"] = "paper"
    venue: str = "hyperliquid"  # the ccxt exchange of the exchange broker and feed
    feed: Literal["replay", "exchange"] = "replay"
    alias: str = "production"
    start: str | None = None  # replay range (ISO date or ms); None: the whole stored series
    end: str | None = None
    max_bars: int | None = None  # stop after N bars processed in this live state (across restarts)
    window: int = 1000  # trailing bars given to the strategy (raised to the genome's lookback + 2)
    replay_speed: float = 0.0  # bars per second of a replay; 0: as fast as possible
    poll_seconds: float = 5.0  # exchange feed: seconds between polls for a new closed bar
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
        if self.window < 10:
            raise ValueError("window must be at least 10 bars")
        if self.max_bars is not None and self.max_bars < 1:
            raise ValueError("max_bars must be at least 1")
        if self.replay_speed < 0 or self.poll_seconds <= 0 or self.registry_poll_seconds <= 0:
            raise ValueError("replay_speed must be >= 0; poll_seconds and registry_poll_seconds > 0")
        if not (0 < self.leverage_target <= 10):
            raise ValueError("leverage_target must be in (0, 10]")

    @property
    def state_key(self) -> str:
        """The live state this run continues: one per model, market and broker."""
        return f"{self.model or '-'}|{self.exchange}|{self.symbol}|{self.timeframe}|{self.broker}"


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
        config = parse_config(LiveConfig, merged, where)
    return config


def with_overrides(config: LiveConfig, **changes: Any) -> LiveConfig:
    """A copy of ``config`` with fields changed (validated again)."""
    try:
        return replace(config, **changes)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
