"""Commands of gaorg.live (registered by gaorg.cli): ``gaorg live``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``gaorg live`` to the `gaorg` parser."""
    p = sub.add_parser(
        "live", parents=[common], help="run NAME@production live: paper by default, an exchange when asked",
        description="Follow NAME@production (or a genome file) and trade it bar by bar: feed -> strategy -> "
                    "risk gate -> broker. Paper broker by default; --exchange hyperliquid sends real orders "
                    "with keys from GAORG_HYPERLIQUID_WALLET / GAORG_HYPERLIQUID_PRIVATE_KEY.")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--model", help="registered model NAME; the runner follows NAME@production")
    who.add_argument("--genome", help="a genome JSON file instead of the registry (paper trials)")
    p.add_argument("--alias", help="the alias to follow (default production)")
    p.add_argument("--symbol", action="append",
                   help="market symbol, e.g. BTC/USDC:USDC; several: repeat it or give a comma list (equal shares "
                        "of the capital unless the config's weights say otherwise)")
    p.add_argument("--timeframe", help="bar timeframe, e.g. 1h")
    p.add_argument("--market-exchange", dest="market_exchange", help="the store's exchange of the series")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="simulated fills (the default)")
    mode.add_argument("--exchange", choices=["hyperliquid"], help="send orders to this exchange")
    p.add_argument("--feed", choices=["replay", "exchange"], help="stored bars (replay) or the exchange's")
    p.add_argument("--transport", choices=["auto", "poll", "watch"], dest="feed_transport",
                   help="exchange feed: websocket (watch_ohlcv) where the exchange has it (auto, the default), "
                        "polling only, or websocket only")
    p.add_argument("--start", help="replay: first bar (ISO date or ms)")
    p.add_argument("--end", help="replay: end of the range (exclusive)")
    p.add_argument("--max-bars", type=int, dest="max_bars", help="stop after N bars in this live state")
    p.add_argument("--fresh", action="store_true",
                   help="paper only: forget this run's live state first (its bars, orders, fills, position) and "
                        "start again from flat")
    p.add_argument("--speed", type=float, dest="replay_speed", help="replay speed in bars per second (0: at once)")
    p.add_argument("--policy", choices=["flatten", "handover"], dest="switch_policy",
                   help="on an alias move: flatten first, or hand the position over")
    p.add_argument("--metrics-port", type=int, dest="metrics_port", help="Prometheus metrics on 127.0.0.1:PORT")
    p.add_argument("--api-port", type=int, dest="api_port", help="operator API on 127.0.0.1:PORT")
    p.add_argument("--api-url", dest="api_url", help="another base URL for the exchange (a stand-in, a proxy)")
    p.add_argument("--testnet", action="store_true", default=None, help="the exchange's testnet")
    p.add_argument("--config", help="YAML/JSON file of LiveConfig keys (flags override it)")
    p.set_defaults(handler=_live)


def _live(args: argparse.Namespace, settings):
    """``gaorg live``: every message and log line it writes has URL credentials and secrets masked."""
    import logging

    from gaorg.errors import GaorgError
    from gaorg.live.redact import install_log_filter, scrub, secrets_from_env, url_secrets

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    secrets = [*secrets_from_env(), *url_secrets(args.api_url)]
    install_log_filter(secrets)
    try:
        return _run(args, settings)
    except GaorgError as exc:
        scrub(exc, secrets)
        raise
    except KeyboardInterrupt:
        import sys

        again = "the same command without --fresh" if args.fresh else "the same command"  # --fresh forgets again
        print("gaorg live stopped by Ctrl-C: its live state keeps every bar it finished and the position it "
              f"holds (nothing is flattened); {again} goes on after the last bar", file=sys.stderr, flush=True)
        raise


def _run(args: argparse.Namespace, settings):
    from pathlib import Path

    from gaorg.command import Outcome
    from gaorg.errors import ConfigError
    from gaorg.live.config import load_live_config
    from gaorg.live.registry import FileRegistry, MlflowRegistryReader
    from gaorg.live.runner import Runner
    from gaorg.monitor.metrics import LiveMetrics

    overrides = {k: getattr(args, k) for k in ("alias", "timeframe", "feed", "start", "end", "max_bars",
                                                "replay_speed", "switch_policy", "metrics_port", "api_port",
                                                "api_url", "testnet", "feed_transport")}
    overrides["symbols"] = _symbols(args.symbol)
    overrides["model"] = args.model or Path(args.genome).stem
    overrides["exchange"] = args.market_exchange
    if args.exchange:
        overrides.update(broker="exchange", venue=args.exchange)
    elif args.paper:
        overrides["broker"] = "paper"
    config = load_live_config(args.config, overrides)
    if config.broker == "exchange" and config.feed == "replay" and args.feed is None:
        config = load_live_config(args.config, {**overrides, "feed": "exchange"})
    if config.broker == "exchange" and config.feed == "replay" and not config.api_url:
        raise ConfigError("--feed replay would send orders for replayed bars to the real exchange; use --paper for "
                          "a replay, --feed exchange, or --api-url of a stand-in exchange")
    forgot = _forget(config, settings) if args.fresh else None
    registry = FileRegistry(args.genome) if args.genome else MlflowRegistryReader(settings)
    summary = Runner(config, settings, registry).run(metrics=LiveMetrics())
    s = summary
    # orders the exchange rejected or lost: the run did not do what it decided, so it does not exit 0
    code, failed = (1, f"\n  {s.failed} orders failed at the exchange (see the log's errors)") if s.failed else (0, "")
    fresh = "" if forgot is None else f"started afresh: forgot {forgot} bars of this live state\n"
    payload = {**s.to_dict(), **({} if forgot is None else {"forgot_bars": forgot})}
    if not config.multi:
        return Outcome(fresh + _one_symbol_text(s, config) + failed, payload, code)
    each = "; ".join(f"{sym}: equity {_money(v['equity'])}, position {v['units']:.6g}, {v['orders']} orders, "
                     f"{v['failed']} failed, risk {v['risk_state']}" for sym, v in s.symbols.items())
    r = s.replay
    bars = (f"replayed {s.bars} bars {r['from']} .. {r['to']} ({r['start']})" if r and s.bars else
            f"{s.bars} bars this run" + (f" ({r['start']})" if r else ""))
    text = (f"{s.model} v{s.version} on {len(config.symbols)} symbols {config.timeframe} ({s.broker}): {bars}"
            f", {s.total_bars} in these live states; {s.orders} orders, {s.failed} failed, {s.refused} refused, "
            f"{len(s.switches)} switches; total equity {_money(s.equity)}, risk {s.risk_state}; {s.stopped}\n  {each}"
            f"{failed}")
    return Outcome(fresh + text, payload, code)


def _forget(config, settings) -> int:
    """``--fresh``: reset the run's live states (one per symbol), paper only; the bars they had."""
    from gaorg.errors import ConfigError
    from gaorg.live.state import LiveState

    if config.broker != "paper":
        raise ConfigError("--fresh forgets a live state, and on an exchange that state mirrors the account's orders "
                          "and position: use it with --paper only (to start an exchange run afresh, flatten the "
                          "position on the exchange and use another GAORG_HOME)")
    keys = [config.for_symbol(sym).state_key for sym in config.symbols] if config.multi else [config.state_key]
    settings.ensure_home()
    forgot = 0
    for key in keys:
        state = LiveState(settings.live_db, key)
        try:
            forgot += state.reset()
        finally:
            state.close()
    return forgot


def _one_symbol_text(s, config) -> str:
    """What a one-symbol run did: which bars, its orders and fills, the equity's move, why it was idle."""
    from gaorg.live.narrate import iso

    r = s.replay
    bars = (f"replayed {s.bars} bars {r['from']} .. {r['to']} ({r['start']})" if r and s.bars else
            f"{s.bars} bars this run" + (f" ({r['start']})" if r else ""))
    before = s.start_equity
    move = "" if before is None or s.equity != s.equity or not before else \
        f"{before:.2f} -> {s.equity:.2f} ({s.equity / before - 1:+.2%})"
    lines = [f"{s.model} v{s.version} on {config.symbol} {config.timeframe} ({s.broker}): {bars}; "
             f"{s.total_bars} bars in this live state",
             f"  {s.orders} orders, {s.fills} fills, {s.failed} failed, {s.refused} refused, {len(s.switches)} switches; "
             f"equity {move or _money(s.equity)}, position {s.units:.6g}, risk {s.risk_state}; {s.stopped}"]
    for f in s.first_fills:
        side = "buy" if f["units"] > 0 else "sell"
        lines.append(f"  fill {iso(f['ts'])} {side} {abs(f['units']):.6g} at {f['price']:.6g} ({f['kind']})")
    if s.fills > len(s.first_fills):
        lines.append(f"  ... {s.fills - len(s.first_fills)} more fills (live.duckdb, table fills)")
    if s.idle:
        lines.append(f"  no order: {s.idle}")
    return "\n".join(lines)


def _symbols(given: list[str] | None) -> list[str] | None:
    """``--symbol A --symbol B`` or ``--symbol A,B`` as one list (None: not given)."""
    if not given:
        return None
    from gaorg.errors import ConfigError

    out = [part.strip() for item in given for part in item.split(",")]
    if any(not part for part in out):
        raise ConfigError(f"--symbol {','.join(given)!r} has an empty name")
    return out


def _money(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x:.2f}"
