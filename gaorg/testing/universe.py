"""A stand-in Hyperliquid that serves a whole universe of perpetuals, built from seeded synthetic bars.

``with universe_stand_in(60, bars=120) as srv:`` serves 60 coins (``U00`` .. ``U59``, symbols
``U00/USDC:USDC``): most listed ``bars`` bars ago, some listed later, a few delisted before now
(``isDelisted: true`` in meta's universe, their candles and funding end at the delisting), each with
its own 24 h volume (``dayNtlVlm``). ``srv.listings`` says what each coin is, so a test can check a
fetch against it. Same arguments, same universe (only ``now_ms`` moves it in time).

``python -m gaorg.testing.universe [--coins 60] [--bars 3000] [--timeframe 4h]`` serves one on
127.0.0.1 until Ctrl-C and prints its URL, for ``gaorg data fetch --api-url URL --universe``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gaorg.data.synth import synth_market
from gaorg.data.timeframes import timeframe_ms
from gaorg.testing.hyperliquid import StandInHyperliquid


@dataclass(frozen=True)
class Listing:
    """One coin of the universe: its symbol, its first and last bar (open times, ms; the last of an
    active coin is the still-open bar), whether it is delisted, and its 24 h volume."""

    coin: str
    symbol: str
    first: int
    last: int
    delisted: bool
    volume: float

    @property
    def active(self) -> bool:
        return not self.delisted


class UniverseStandIn(StandInHyperliquid):
    """A :class:`StandInHyperliquid` with ``listings``: what :func:`universe_stand_in` put in it."""

    listings: tuple[Listing, ...] = ()

    def listing(self, symbol: str) -> Listing:
        return next(x for x in self.listings if x.symbol == symbol or x.coin == symbol)


def universe_listings(n: int = 50, *, bars: int = 200, timeframe: str = "1h", late: float = 0.3,
                      delisted: int = 3, seed: int = 0, now_ms: int | None = None) -> tuple[Listing, ...]:
    """Where each of ``n`` coins starts and ends: a share ``late`` listed 20-80% of ``bars`` later than
    the others, ``delisted`` coins ending 10-50% of ``bars`` before now; volumes spread over 4 decades."""
    tf = timeframe_ms(timeframe)
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    newest = now // tf * tf  # the still-open bar
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    gone = set(order[:delisted].tolist())
    later = set(order[delisted:delisted + int(round(late * n))].tolist())
    volumes = np.round(10 ** rng.uniform(4, 8, n), 2)
    out = []
    for i in range(n):
        first = newest - (bars - 1) * tf
        last = newest
        if i in later:
            first += int(rng.uniform(0.2, 0.8) * bars) * tf
        if i in gone:
            last -= int(rng.uniform(0.1, 0.5) * bars) * tf
            first = min(first, last - max(bars // 4, 10) * tf)
        coin = f"U{i:02d}"
        out.append(Listing(coin, f"{coin}/USDC:USDC", first, last, i in gone,
                           0.0 if i in gone else float(volumes[i])))
    return tuple(out)


def universe_stand_in(n: int = 50, *, bars: int = 200, timeframe: str = "1h", late: float = 0.3,
                      delisted: int = 3, seed: int = 0, now_ms: int | None = None,
                      page_limit: int = 5000, timeout_delay: float = 1.0) -> UniverseStandIn:
    """A stand-in (not started: use it as a context manager) serving :func:`universe_listings`'
    coins with :func:`~gaorg.data.synth.synth_market` bars and hourly funding stamped a few ms
    after the hour, as Hyperliquid stamps it."""
    listings = universe_listings(n, bars=bars, timeframe=timeframe, late=late, delisted=delisted, seed=seed,
                                 now_ms=now_ms)
    srv = UniverseStandIn(page_limit=page_limit, timeout_delay=timeout_delay)
    srv.listings = listings
    for x in listings:
        m, keep = _market(x, timeframe, seed)
        srv.add_bars(m.bars, x.coin)
        srv.add_funding(x.coin, m.funding_ts[keep] + 31, m.funding_rate[keep])
        srv.set_volume(x.coin, x.volume)
        if x.delisted:
            srv.delist(x.coin)
    return srv


def store_universe(store: Any, listings: tuple[Listing, ...], *, timeframe: str = "1h", seed: int = 0,
                   before: int | None = None, exchange: str = "hyperliquid") -> None:
    """Write ``listings``' bars and funding into ``store`` (under ``exchange``) as
    :func:`universe_stand_in` with the same ``seed`` serves them, only those before ``before``
    (ms; None: all): a store that already holds a universe, or part of it for a fetch to complete."""
    limit = np.iinfo(np.int64).max if before is None else before
    for x in listings:
        m, keep = _market(x, timeframe, seed)
        cols = m.bars.columns()
        rows = np.asarray(cols["ts"]) < limit
        if rows.any():
            store.write_bars(exchange, x.symbol, timeframe, {k: np.asarray(v)[rows] for k, v in cols.items()})
            fund = keep & (m.funding_ts + 31 < limit)
            store.write_funding(exchange, x.symbol, m.funding_ts[fund] + 31, m.funding_rate[fund])


def _market(x: Listing, timeframe: str, seed: int) -> tuple[Any, Any]:
    """A listing's synthetic market and which of its funding stamps fall within its life."""
    tf = timeframe_ms(timeframe)
    m = synth_market(x.symbol, timeframe, (x.last - x.first) // tf + 1, seed, start_ms=x.first, exchange="hyperliquid")
    return m, m.funding_ts <= x.last + tf


def main(argv: list[str] | None = None) -> int:
    """Serve a stand-in universe on 127.0.0.1 until Ctrl-C (or SIGTERM); its URL on stdout."""
    import argparse
    import signal
    import sys
    import threading

    from gaorg.errors import InputError

    p = argparse.ArgumentParser(prog="python -m gaorg.testing.universe", description=main.__doc__)
    p.add_argument("--coins", type=int, default=60, help="perpetuals served (default: %(default)s)")
    p.add_argument("--bars", type=int, default=3000, help="bars of the oldest listings (default: %(default)s)")
    p.add_argument("--timeframe", default="4h", help="their timeframe; coarser ones are resampled (default: %(default)s)")
    p.add_argument("--delisted", type=int, default=3, help="coins delisted before now (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.coins < 1 or args.bars < 20 or not 0 <= args.delisted <= args.coins:
        p.error("give --coins >= 1, --bars >= 20 and --delisted between 0 and --coins")
    try:
        timeframe_ms(args.timeframe)
    except InputError as exc:
        p.error(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with universe_stand_in(args.coins, bars=args.bars, timeframe=args.timeframe, delisted=args.delisted,
                           seed=args.seed) as srv:
        print(srv.url, flush=True)
        print(f"serving {args.coins} perpetuals ({args.delisted} delisted) of {args.bars} {args.timeframe} bars; "
              f"gaorg data fetch --api-url {srv.url} --universe --timeframe {args.timeframe} --rate-limit-ms 0; "
              "Ctrl-C stops it", file=sys.stderr, flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
