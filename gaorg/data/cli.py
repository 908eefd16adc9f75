"""Commands of gaorg.data: ``gaorg data synth|import|fetch|list|gaps|resample`` (registered by gaorg.cli).

Only argparse is imported here; handlers import the store, DuckDB and ccxt when they run.
"""

from __future__ import annotations

import argparse
from typing import Any

EPILOG_FETCH = """\
A universe: --universe fetches every active USDC perpetual, --top N the N most traded over 24 h,
--symbols-file FILE the symbols listed in FILE (one a line); each symbol is paged and resumed on its
own, --workers at a time within the exchange's rate limit, and one that fails keeps what the others
stored (exit status 1). Run again without --since, each symbol resumes after its newest stored bar
(with --since, every symbol is fetched from there again). Delisted perpetuals are skipped unless
--include-delisted (then fetched up to their delisting); --min-bars N skips those listed too late
(a symbol with nothing stored yet).

Credentials are never needed for market data. --api-url (advanced) sends every request to another
base URL, e.g. the stand-in server of gaorg.testing.universe (docs/quickstart.md serves it), or a proxy.
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
    p.add_argument("--symbol", default=None, help="ccxt symbol (default: BTC/USDC:USDC)")
    p.add_argument("--universe", action="store_true", help="every active USDC perpetual of the exchange")
    p.add_argument("--top", type=int, default=None, metavar="N", help="the N perpetuals most traded over 24 h")
    p.add_argument("--symbols-file", default=None, metavar="FILE", help="the perpetuals listed in FILE, one a line")
    p.add_argument("--include-delisted", action="store_true",
                   help="also fetch delisted perpetuals, up to their delisting (no survivorship)")
    p.add_argument("--min-bars", type=int, default=0, metavar="N",
                   help="skip a perpetual with fewer than N bars of history before now (default: none)")
    p.add_argument("--workers", type=int, default=4, help="symbols fetched at a time (default: %(default)s)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar or lines")
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
    p.add_argument("--rate-limit-ms", type=float, default=None,
                   help="(advanced) ms per unit of request weight, all workers together (default: ccxt's)")
    p.set_defaults(handler=fetch)

    p = cmds.add_parser("list", parents=[common], help="list the stored series",
                        description="List the stored series, then one summary line per exchange and timeframe "
                                    "(how many series, their spans, which end early: delisted or stopped).")
    p.add_argument("--exchange", default=None, help="only this exchange's series")
    p.add_argument("--timeframe", default=None, help="only this timeframe")
    p.add_argument("--summary", action="store_true", help="the summary lines only (for a universe of many series)")
    p.set_defaults(handler=list_series)

    p = cmds.add_parser("gaps", parents=[common], help="report the missing intervals of a series (or of every series)",
                        description="The missing intervals of one series (--symbol), or, without --symbol, "
                                    "a line per stored series with gaps (of --exchange and --timeframe if given).")
    p.add_argument("--symbol", default=None, help="one series (default: every stored series)")
    p.add_argument("--timeframe", default=None, help="timeframe (required with --symbol)")
    p.add_argument("--exchange", default=None, help="may be left out when the symbol is unambiguous")
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
    if args.retries < 1 or args.backoff < 0 or args.page_limit < 1:
        raise InputError("--retries and --page-limit must be at least 1, --backoff at least 0")
    many = args.universe or args.top is not None or args.symbols_file is not None
    if many:
        return fetch_many(args, settings)
    if args.include_delisted or args.min_bars:
        raise InputError("--include-delisted and --min-bars choose among a universe; add --universe, --top N "
                         "or --symbols-file FILE")
    args.symbol = check_symbol("BTC/USDC:USDC" if args.symbol is None else args.symbol)
    exchange = make_exchange(args.exchange, testnet=args.testnet, api_url=args.api_url, timeout_ms=args.timeout_ms,
                             rate_limit_ms=args.rate_limit_ms)
    name = f"{args.exchange}-testnet" if args.testnet else args.exchange
    retry = RetryPolicy(attempts=args.retries, base_delay=args.backoff, max_delay=max(args.backoff * 20, 0.001))
    with open_store(settings) as store:
        report = fetch_into(store, exchange, args.symbol, args.timeframe, store_exchange=name,
                            since=to_ms(args.since), until=to_ms(args.until), page_limit=args.page_limit,
                            funding=args.funding, repair=args.repair, retry=retry)
    return Outcome(report.describe(), report.to_dict())


def fetch_many(args: argparse.Namespace, settings) -> Any:
    """``gaorg data fetch --universe | --top N | --symbols-file FILE``: many symbols, one summary."""
    from gaorg.command import Outcome
    from gaorg.data.exchange import RetryPolicy, make_exchange
    from gaorg.data.store import open_store, to_ms
    from gaorg.data.universe import choose, fetch_universe, perpetuals, read_symbols_file
    from gaorg.errors import InputError

    if args.symbol is not None:
        raise InputError("--symbol fetches one symbol; --universe, --top and --symbols-file fetch many: "
                         "give one or the other")
    if args.top is not None and args.top < 1:
        raise InputError(f"--top {args.top}: give how many perpetuals to fetch, at least 1 (e.g. --top 30)")
    if args.min_bars < 0:
        raise InputError(f"--min-bars {args.min_bars} cannot be negative; give the bars a symbol needs (e.g. 500), "
                         "or leave it out")
    if args.workers < 1:
        raise InputError(f"--workers {args.workers}: give how many symbols to fetch at a time, at least 1 (default 4)")
    listed_symbols = None
    if args.symbols_file is not None:
        listed_symbols = [check_symbol(s) for s in read_symbols_file(args.symbols_file)]
    since, until = to_ms(args.since), to_ms(args.until)
    retry = RetryPolicy(attempts=args.retries, base_delay=args.backoff, max_delay=max(args.backoff * 20, 0.001))

    if args.rate_limit_ms is not None and args.rate_limit_ms < 0:
        raise InputError(f"--rate-limit-ms {args.rate_limit_ms} cannot be negative")

    def client(rate_limit_ms: float | None) -> Any:
        return make_exchange(args.exchange, testnet=args.testnet, api_url=args.api_url, timeout_ms=args.timeout_ms,
                             rate_limit_ms=args.rate_limit_ms if rate_limit_ms is None else rate_limit_ms)

    universe = perpetuals(client(None), retry=retry)
    chosen, skipped = choose(universe, top=args.top, symbols=listed_symbols, include_delisted=args.include_delisted)
    name = f"{args.exchange}-testnet" if args.testnet else args.exchange
    with open_store(settings) as store:
        try:
            report = fetch_universe(store, client, chosen, args.timeframe, listed=len(universe), skipped=skipped,
                                    store_exchange=name, workers=args.workers, since=since, until=until,
                                    min_bars=args.min_bars, page_limit=args.page_limit, funding=args.funding,
                                    repair=args.repair, retry=retry, progress=args.progress)
        except KeyboardInterrupt:
            import sys

            print("stopped: every page fetched is stored; run the command again without --since to resume each "
                  "symbol after its newest stored bar", file=sys.stderr, flush=True)
            raise
    return Outcome(report.describe(), report.to_dict(), exit_code=1 if report.failed else 0)


def list_series(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.store import open_store
    from gaorg.data.universe import summarise

    with open_store(settings, read_only=True) as store:
        infos = [s for s in store.series() if (args.exchange in (None, s.exchange))
                 and (args.timeframe in (None, s.timeframe))]
    series = [s.to_dict() for s in infos]
    if not series:
        return Outcome(f"the store {settings.market_db} holds no series yet (try `gaorg data synth`)"
                       if args.exchange is None and args.timeframe is None else
                       "no stored series match; `gaorg data list` shows them all", {"series": [], "universes": []})
    universes = summarise(infos)
    head = ("exchange", "symbol", "timeframe", "first", "last", "rows", "missing")
    rows = [head] + [tuple(str(s[k]) for k in head) for s in series]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    table = [] if args.summary else ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                                     for r in rows]
    if not args.summary and len(infos) > 1:
        table.append("")
    if args.summary or len(infos) > 1:
        table += [u.describe() for u in universes]
    return Outcome("\n".join(table), {"series": series, "universes": [u.to_dict() for u in universes]})


def gaps(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.store import open_store

    if args.symbol is None:
        return all_gaps(args, settings)
    if args.timeframe is None:
        from gaorg.errors import InputError

        raise InputError("--symbol needs --timeframe (e.g. --timeframe 1h); leave both out for every series")
    with open_store(settings, read_only=True) as store:
        exchange = store.resolve_exchange(args.symbol, args.exchange, args.timeframe)
        found = store.gaps(exchange, args.symbol, args.timeframe)
    missing = sum(g.bars for g in found)
    lines = [f"{exchange} {args.symbol} {args.timeframe}: {len(found)} gaps, {missing} bars missing"]
    lines += [f"  {g.to_dict()['start']} .. {g.to_dict()['end']}  ({g.bars} bars)" for g in found]
    payload = {"exchange": exchange, "symbol": args.symbol, "timeframe": args.timeframe,
               "missing": missing, "gaps": [g.to_dict() for g in found]}
    return Outcome("\n".join(lines), payload)


def all_gaps(args: argparse.Namespace, settings) -> Any:
    """``gaorg data gaps`` without --symbol: a line per stored series with gaps, and the total."""
    from gaorg.command import Outcome
    from gaorg.data.store import open_store

    with open_store(settings, read_only=True) as store:
        infos = [s for s in store.series() if (args.exchange in (None, s.exchange))
                 and (args.timeframe in (None, s.timeframe))]
        found = [(s, store.gaps(s.exchange, s.symbol, s.timeframe)) for s in infos if s.missing]
    missing = sum(s.missing for s, _ in found)
    lines = [f"{len(infos)} series, {len(found)} with gaps, {missing} bars missing"]
    lines += [f"  {s.exchange} {s.symbol} {s.timeframe}: {len(g)} gaps, {s.missing} bars missing "
              f"(largest {max(x.bars for x in g)} bars from {_largest_start(g)})" for s, g in found]
    payload = {"series": len(infos), "with_gaps": len(found), "missing": missing,
               "gaps": [{"exchange": s.exchange, "symbol": s.symbol, "timeframe": s.timeframe, "missing": s.missing,
                         "gaps": [x.to_dict() for x in g]} for s, g in found]}
    return Outcome("\n".join(lines), payload)


def _largest_start(gaps: list) -> str:
    """Where the largest of ``gaps`` starts (ISO)."""
    return max(gaps, key=lambda g: g.bars).to_dict()["start"]


def resample(args: argparse.Namespace, settings) -> Any:
    from gaorg.command import Outcome
    from gaorg.data.resample import resample_in_store
    from gaorg.data.store import open_store

    with open_store(settings) as store:
        report = resample_in_store(store, args.exchange, args.symbol, args.timeframe, args.target)
    text = (f"{report.exchange} {report.symbol} {args.timeframe} -> {args.target}: "
            f"{report.inserted + report.replaced} bars")
    return Outcome(text, report.to_dict())
