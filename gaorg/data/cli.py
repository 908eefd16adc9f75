"""Commands of gaorg.data: ``gaorg data synth|import|fetch|list|gaps|resample`` (registered by gaorg.cli).

Only argparse is imported here; handlers import the store, DuckDB and ccxt when they run.
"""

from __future__ import annotations

import argparse
from typing import Any

EPILOG_FETCH = """\
Credentials are never needed for market data. --api-url (advanced) sends every request to another
base URL, e.g. the stand-in server of gaorg.testing.hyperliquid in tests, or a proxy.
"""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``gaorg data ...`` to the parser."""
    data = sub.add_parser("data", help="market data in and out of the store", parents=[common],
                          description="Market data: a DuckDB store of validated OHLCV bars and funding.")
    cmds = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = cmds.add_parser("synth", parents=[common], help="write a seeded synthetic market (regimes, funding)")
    p.add_argument("--symbols", default="SYNTH-A,SYNTH-B", help="comma-separated symbols (default: %(default)s)")
    p.add_argument("--timeframe", default="1h", help="bar timeframe (default: %(default)s)")
    p.add_argument("--bars", type=int, default=5000, help="bars per symbol (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same bars (default: %(default)s)")
    p.add_argument("--start", default="2023-01-01T00:00:00Z", help="first bar, ISO 8601 UTC (default: %(default)s)")
    p.add_argument("--exchange", default="synthetic", help="exchange name in the store (default: %(default)s)")
    p.set_defaults(handler=synth)

    p = cmds.add_parser("import", parents=[common], help="import a CSV or Parquet file of bars",
                        description="Import bars from a CSV or Parquet file through the store's validation.")
    p.add_argument("file", help="a .csv (a banner line above the header is fine) or .parquet file")
    p.add_argument("--symbol", required=True, help="symbol to store the bars under")
    p.add_argument("--timeframe", required=True, help="timeframe of the bars, e.g. 1h")
    p.add_argument("--exchange", default="local", help="exchange name in the store (default: %(default)s)")
    p.add_argument("--columns", default=None, metavar="MAP",
                   help="column mapping TARGET=SOURCE,... for names other than "
                        "timestamp,open,high,low,close,volume (e.g. timestamp=date,volume='Volume BTC')")
    p.add_argument("--tz", default="UTC", help="timezone of times without an offset (default: %(default)s)")
    p.add_argument("--repair", action="store_true",
                   help="drop bad rows, sort and deduplicate (the last of a timestamp wins) and report it")
    p.add_argument("--allow-future", action="store_true",
                   help="import bars dated more than a day after now (refused by default: a wrong time column)")
    p.set_defaults(handler=import_file)

    p = cmds.add_parser("fetch", parents=[common], help="fetch bars and funding from a ccxt exchange",
                        description="Fetch closed bars page by page (resumes after the newest stored bar) "
                                    "and the funding history of perpetuals.",
                        epilog=EPILOG_FETCH, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exchange", default="hyperliquid", help="ccxt exchange id (default: %(default)s)")
    p.add_argument("--symbol", default="BTC/USDC:USDC", help="ccxt symbol (default: %(default)s)")
    p.add_argument("--timeframe", default="1h", help="timeframe (default: %(default)s)")
    p.add_argument("--since", default=None, help="first bar, ISO 8601 or epoch ms (default: resume, or one page back)")
    p.add_argument("--until", default=None, help="stop before this time (default: now)")
    p.add_argument("--testnet", action="store_true", help="use the exchange's sandbox; stored as EXCHANGE-testnet")
    p.add_argument("--no-funding", dest="funding", action="store_false", help="skip the funding history")
    p.add_argument("--repair", action="store_true", help="drop bad bars the exchange sends instead of stopping")
    p.add_argument("--page-limit", type=int, default=5000, help="bars asked per call (default: %(default)s)")
    p.add_argument("--retries", type=int, default=5, help="attempts per call on transient errors (default: %(default)s)")
    p.add_argument("--backoff", type=float, default=0.5,
                   help="first retry delay in seconds, doubled each retry (default: %(default)s)")
    p.add_argument("--timeout-ms", type=int, default=None, help="HTTP timeout per call (default: ccxt's)")
    p.add_argument("--api-url", default=None, help="(advanced) base URL to send requests to instead of the exchange's")
    p.set_defaults(handler=fetch)

    p = cmds.add_parser("list", parents=[common], help="list the stored series")
    p.set_defaults(handler=list_series)

    p = cmds.add_parser("gaps", parents=[common], help="report the missing intervals of a series")
    _series_args(p)
    p.set_defaults(handler=gaps)

    p = cmds.add_parser("resample", parents=[common], help="write a coarser timeframe from a stored series")
    _series_args(p)
    p.add_argument("--to", required=True, dest="target", help="coarser timeframe, e.g. 4h")
    p.set_defaults(handler=resample)


def check_symbol(value: str, what: str = "symbol") -> str:
    """``value`` if it may name a symbol (or exchange) in the store; exit 2 otherwise."""
    from gaorg.data.checks import symbol

    return symbol(value, what)


def _series_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--symbol", required=True)
    p.add_argument("--timeframe", required=True)
    p.add_argument("--exchange", default=None, help="may be left out when the symbol is unambiguous")


def synth(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.store import open_store, to_ms
    from gaorg.data.synth import synth_market
    from gaorg.data.timeframes import timeframe_ms

    timeframe_ms(args.timeframe)
    symbols = [check_symbol(s.strip()) for s in args.symbols.split(",") if s.strip()]
    check_symbol(args.exchange, "exchange name")
    if not symbols:
        from gaorg.errors import InputError

        raise InputError("--symbols is empty; give e.g. --symbols BTC,ETH")
    markets = [synth_market(s, args.timeframe, args.bars, args.seed, start_ms=to_ms(args.start),
                            exchange=args.exchange) for s in symbols]
    written = []
    with open_store(settings) as store:
        for m in markets:
            b = m.bars
            report = store.write_bars(b.exchange, b.symbol, b.timeframe, b.columns())
            store.write_funding(b.exchange, b.symbol, m.funding_ts, m.funding_rate)
            written.append(report.to_dict())
    text = "\n".join(f"{w['exchange']} {w['symbol']} {w['timeframe']}: {w['inserted'] + w['replaced']} bars "
                     f"{w['first']} .. {w['last']}" for w in written)
    return Outcome(text, {"series": written})


def import_file(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.importer import import_into, parse_mapping
    from gaorg.data.timeframes import timeframe_ms
    from gaorg.errors import shown

    timeframe_ms(args.timeframe)
    check_symbol(args.symbol)
    check_symbol(args.exchange, "exchange name")
    columns = parse_mapping(args.columns)
    settings.ensure_home()
    report, notes = import_into(settings.market_db, args.file, args.exchange, args.symbol, args.timeframe,
                                columns=columns, tz=args.tz, repair=args.repair, allow_future=args.allow_future)
    lines = [f"imported {shown(args.file)} as {args.exchange} {args.symbol} {args.timeframe}: "
             f"{report.inserted} new, {report.replaced} replaced bars", *notes]
    if args.repair:
        lines.append(report.repair.describe())
    payload = {**report.to_dict(), "notes": notes}
    return Outcome("\n".join(lines), payload)


def fetch(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.exchange import RetryPolicy, make_exchange
    from gaorg.data.fetch import fetch_into
    from gaorg.data.store import open_store, to_ms
    from gaorg.data.timeframes import timeframe_ms
    from gaorg.errors import InputError

    timeframe_ms(args.timeframe)
    check_symbol(args.symbol)
    if args.retries < 1 or args.backoff < 0 or args.page_limit < 1:
        raise InputError("--retries and --page-limit must be at least 1, --backoff at least 0")
    exchange = make_exchange(args.exchange, testnet=args.testnet, api_url=args.api_url, timeout_ms=args.timeout_ms)
    name = f"{args.exchange}-testnet" if args.testnet else args.exchange
    retry = RetryPolicy(attempts=args.retries, base_delay=args.backoff, max_delay=max(args.backoff * 20, 0.001))
    with open_store(settings) as store:
        report = fetch_into(store, exchange, args.symbol, args.timeframe, store_exchange=name,
                            since=to_ms(args.since), until=to_ms(args.until), page_limit=args.page_limit,
                            funding=args.funding, repair=args.repair, retry=retry)
    return Outcome(report.describe(), report.to_dict())


def list_series(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.store import open_store

    with open_store(settings, read_only=True) as store:
        series = [s.to_dict() for s in store.series()]
    if not series:
        return Outcome(f"the store {settings.market_db} holds no series yet (try `gaorg data synth`)", {"series": []})
    head = ("exchange", "symbol", "timeframe", "first", "last", "rows", "missing")
    rows = [head] + [tuple(str(s[k]) for k in head) for s in series]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    text = "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return Outcome(text, {"series": series})


def gaps(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.store import open_store

    with open_store(settings, read_only=True) as store:
        exchange = store.resolve_exchange(args.symbol, args.exchange, args.timeframe)
        found = store.gaps(exchange, args.symbol, args.timeframe)
    missing = sum(g.bars for g in found)
    lines = [f"{exchange} {args.symbol} {args.timeframe}: {len(found)} gaps, {missing} bars missing"]
    lines += [f"  {g.to_dict()['start']} .. {g.to_dict()['end']}  ({g.bars} bars)" for g in found]
    payload = {"exchange": exchange, "symbol": args.symbol, "timeframe": args.timeframe,
               "missing": missing, "gaps": [g.to_dict() for g in found]}
    return Outcome("\n".join(lines), payload)


def resample(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.resample import resample_in_store
    from gaorg.data.store import open_store

    with open_store(settings) as store:
        report = resample_in_store(store, args.exchange, args.symbol, args.timeframe, args.target)
    text = (f"{report.exchange} {report.symbol} {args.timeframe} -> {args.target}: "
            f"{report.inserted + report.replaced} bars")
    return Outcome(text, report.to_dict())
