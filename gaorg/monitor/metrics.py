"""Prometheus metrics of the live executor, in their own ``CollectorRegistry`` (never the global one),
served over HTTP on 127.0.0.1 only.

Names (all prefixed ``gaorg_live_``): equity, pnl, position_units, orders_sent_total,
orders_filled_total, orders_refused_total{reason}, risk_state (0 ACTIVE, 1 REDUCING, 2 HALTED),
feed_lag_seconds, feed_stale, loop_latency_seconds (histogram), errors_total{kind},
strategy_version{model,version} (1 for the version in force), strategy_switches_total{policy},
bars_processed_total, symbol_equity{symbol} (several symbols on paper: each symbol's account).
Within several symbols, equity, pnl and risk_state are the totals (the worst state). docs/grafana-dashboard.json and docs/prometheus-alerts.yml use them.
"""

from __future__ import annotations

from typing import Any


class LiveMetrics:
    """The executor's gauges and counters; ``serve(port)`` exposes them on 127.0.0.1."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.equity = Gauge("gaorg_live_equity", "Account equity (quote currency)", registry=r)
        self.pnl = Gauge("gaorg_live_pnl", "Equity minus the starting equity of this live state", registry=r)
        self.position = Gauge("gaorg_live_position_units", "Signed position", ["symbol"], registry=r)
        self.orders_sent = Counter("gaorg_live_orders_sent", "Orders handed to the broker", registry=r)
        self.orders_filled = Counter("gaorg_live_orders_filled", "Orders filled (in whole or part)", registry=r)
        self.orders_refused = Counter("gaorg_live_orders_refused", "Orders refused by the risk gate",
                                      ["reason"], registry=r)
        self.risk_state = Gauge("gaorg_live_risk_state", "0 ACTIVE, 1 REDUCING, 2 HALTED", registry=r)
        self.feed_lag = Gauge("gaorg_live_feed_lag_seconds", "Wall time since the newest closed bar closed",
                              registry=r)
        self.feed_stale = Gauge("gaorg_live_feed_stale", "1 while the feed is stale or has a gap", registry=r)
        self.latency = Histogram("gaorg_live_loop_latency_seconds", "Closed bar to order handed to the broker",
                                 buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0),
                                 registry=r)
        self.errors = Counter("gaorg_live_errors", "Errors by kind", ["kind"], registry=r)
        self.version = Gauge("gaorg_live_strategy_version", "1 for the strategy version in force",
                             ["model", "version"], registry=r)
        self.switches = Counter("gaorg_live_strategy_switches", "Strategy switches on an alias move",
                                ["policy"], registry=r)
        self.symbol_equity = Gauge("gaorg_live_symbol_equity", "Equity of one symbol's paper account (several "
                                   "symbols)", ["symbol"], registry=r)
        self.bars = Counter("gaorg_live_bars_processed", "Closed bars processed", registry=r)
        self._version_labels: tuple[str, str] | None = None
        self._server: Any = None
        self._thread: Any = None

    def set_version(self, model: str, version: str) -> None:
        if self._version_labels is not None:
            self.version.remove(*self._version_labels)
        self._version_labels = (model, str(version))
        self.version.labels(model, str(version)).set(1)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    def serve(self, port: int = 0, addr: str = "127.0.0.1") -> int:
        """Serve /metrics on ``addr:port`` (0: a free port) in a daemon thread; returns the port.

        The bind happens here, at once: a port taken or out of reach raises ConfigError (exit 2)."""
        from prometheus_client import start_http_server

        from gaorg.errors import ConfigError
        from gaorg.monitor.ports import port_error

        try:
            self._server, self._thread = start_http_server(port, addr=addr, registry=self.registry)
        except OverflowError:
            raise ConfigError(f"--metrics-port {port} is not a TCP port: give 1..65535, or 0 for a free one") from None
        except OSError as exc:
            raise port_error(exc, port, "metrics server", "--metrics-port", addr) from None
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
