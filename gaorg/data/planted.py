"""Markets with a known truth: an edge planted in noise, or none at all, and the rule that earns it.

A search is only as good as what it finds where something is to be found, and what it refuses
where nothing is. These seeded generators make both kinds of market, each with the planted rule's
own position per bar (``oracle``), so a benchmark can tell a discovery from a lucky pick:

- ``trend``: the next return leans ``edge`` with ``sign(EMA_fast - EMA_slow)`` of the closes so far
  (an EMA crossover trading both ways earns it; ``revert`` keeps the trends from outlasting it).
- ``reversion``: the next return leans ``edge`` against the close's z-score from its EMA, when the
  close is more than one standard deviation away (VWAP reversion, stochastic, RSI earn it).
- ``breakout``: after a close beyond the highest (lowest) close of the last ``slow`` bars, returns
  lean up (down) until the opposite break (a Donchian breakout earns it).
- ``walk``: no edge: a driftless random walk.
- ``bootstrap``: no edge, real texture: the absolute returns of a real series (the shipped
  BTC/USDT sample unless given), drawn in blocks so volatility clusters and tails stay fat, each
  bar's sign drawn afresh so nothing predicts the direction.

``edge_until`` ends the lean at a bar (the edge decays: what evolution saw no longer holds after
it). Each bar opens at the previous close, so a target set after bar i, filled at ``open[i+1]``,
earns bar i+1's return: ``oracle[i]`` is the position the planted rule holds for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaorg.data.bars import Bars
from gaorg.data.timeframes import timeframe_ms
from gaorg.errors import InputError

START_MS = 1_577_836_800_000  # 2020-01-01 00:00 UTC
KINDS = ("trend", "reversion", "breakout", "walk", "bootstrap")
NULL_KINDS = ("walk", "bootstrap")
SAMPLE = Path(__file__).resolve().parent.parent / "testing" / "sample_ohlcv.csv"


@dataclass(frozen=True, eq=False)
class PlantedMarket:
    """Bars of one series and the planted rule's position per bar (0 everywhere for a null)."""

    kind: str
    bars: Bars
    oracle: np.ndarray
    edge: float
    sigma: float

    def head(self, n: int) -> Bars:
        """The first ``n`` bars: what a search is shown (the rest is the fresh continuation)."""
        return self.bars.slice(0, n)


def planted_market(
    kind: str,
    symbol: str = "PLANT",
    n_bars: int = 3000,
    edge: float = 0.0015,
    sigma: float = 0.01,
    seed: int = 0,
    timeframe: str = "1h",
    fast: int = 10,
    slow: int = 40,
    revert: float = 0.0,
    edge_until: int | None = None,
    real_returns: np.ndarray | None = None,
) -> PlantedMarket:
    """A seeded series of ``kind`` (see the module docstring); same arguments, same bars."""
    if kind not in KINDS:
        raise InputError(f"unknown planted market kind {kind!r}; use one of {', '.join(KINDS)}")
    if n_bars < 2 or fast < 1 or slow <= fast:
        raise InputError(f"need n_bars >= 2 and 1 <= fast < slow; got n_bars={n_bars}, fast={fast}, slow={slow}")
    rng = np.random.default_rng(seed)
    stop = n_bars if edge_until is None else int(edge_until)
    if kind == "bootstrap":
        close = 100.0 * np.exp(np.cumsum(_bootstrap(real_returns, n_bars, rng)))
        return PlantedMarket(kind, bars_from_closes(close, rng, float(np.std(np.diff(np.log(close)))), symbol, timeframe),
                             np.zeros(n_bars), 0.0, sigma)
    noise = rng.standard_normal(n_bars) * sigma
    lean_of = {"trend": _trend, "reversion": _reversion, "breakout": _breakout, "walk": None}[kind]
    close, oracle = np.empty(n_bars), np.zeros(n_bars)
    price = 100.0
    state = _State(price, fast, slow)
    for i in range(n_bars):
        side = state.side if lean_of is not None else 0.0
        lean = edge * side if i < stop else 0.0
        price *= float(np.exp(lean + noise[i] - revert * np.log(price / 100.0)))
        close[i] = price
        if lean_of is not None:
            state.side = lean_of(state, price, i)
        oracle[i] = state.side if (lean_of is not None and i + 1 < stop) else 0.0
    return PlantedMarket(kind, bars_from_closes(close, rng, sigma, symbol, timeframe), oracle, edge if kind != "walk" else 0.0,
                         sigma)


class _State:
    """What the planted rules carry from bar to bar (EMAs, variance, the breakout window)."""

    def __init__(self, price: float, fast: int, slow: int) -> None:
        self.fast, self.slow = fast, slow
        self.a_fast, self.a_slow = 2.0 / (fast + 1.0), 2.0 / (slow + 1.0)
        self.ef = self.es = price
        self.var = 0.0
        self.window: list[float] = []
        self.side = 0.0


def _trend(s: _State, price: float, i: int) -> float:
    s.ef = s.a_fast * price + (1.0 - s.a_fast) * s.ef
    s.es = s.a_slow * price + (1.0 - s.a_slow) * s.es
    return float(np.sign(s.ef - s.es)) if i + 1 >= s.slow else 0.0


def _reversion(s: _State, price: float, i: int) -> float:
    x = np.log(price)
    if i == 0:
        s.es = x
    dev = x - s.es
    s.var = (1.0 - s.a_fast) * (s.var + s.a_fast * dev * dev)
    s.es = s.es + s.a_fast * dev
    if i + 1 < s.slow or s.var <= 0.0:
        return 0.0
    z = (x - s.es) / np.sqrt(s.var)
    return -1.0 if z > 1.0 else (1.0 if z < -1.0 else 0.0)


def _breakout(s: _State, price: float, i: int) -> float:
    side = s.side
    if len(s.window) == s.slow:
        if price > max(s.window):
            side = 1.0
        elif price < min(s.window):
            side = -1.0
        s.window.pop(0)
    s.window.append(price)
    return side


def real_sample_returns(path: Path = SAMPLE) -> np.ndarray:
    """Log returns of the shipped BTC/USDT 1h sample (oldest first), demeaned."""
    import csv

    with path.open() as fh:
        rows = list(csv.reader(fh))[2:]
    close = np.array([float(r[6]) for r in rows])[::-1]
    r = np.diff(np.log(close))
    return r - r.mean()


def _bootstrap(returns: np.ndarray | None, n: int, rng: np.random.Generator, block: int = 24) -> np.ndarray:
    """``n`` returns: |r| of ``returns`` in random blocks of ``block`` bars, each with a random sign."""
    r = np.abs(real_sample_returns() if returns is None else np.asarray(returns, dtype=float))
    if len(r) <= block:
        raise InputError(f"a bootstrap needs more than {block} real returns; got {len(r)}")
    starts = rng.integers(0, len(r) - block, size=n // block + 1)
    out = np.concatenate([r[s:s + block] for s in starts])[:n]
    return out * rng.choice((-1.0, 1.0), size=n)


def bars_from_closes(close: np.ndarray, rng: np.random.Generator, sigma: float, symbol: str, timeframe: str) -> Bars:
    """OHLCV bars of ``close``: each opens at the previous close, wicks of ``0.3 * sigma`` drawn from ``rng``."""
    n = len(close)
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = np.abs(rng.standard_normal((2, n))) * sigma * 0.3
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])
    ts = START_MS + np.arange(n, dtype=np.int64) * timeframe_ms(timeframe)
    volume = np.full(n, 1_000.0)
    return Bars.from_arrays(ts, open_, high, low, close, volume, exchange="synthetic",
                            symbol=symbol, timeframe=timeframe)


def correlated_walks(symbols: list[str] | tuple[str, ...], n_bars: int, rho: float = 0.8, sigma: float = 0.01,
                     seed: int = 0, timeframe: str = "1h") -> list[PlantedMarket]:
    """Driftless random walks whose bar returns are correlated ``rho``, as crypto assets are: no edge,
    but a basket whose pooled returns are far fewer independent draws than bars."""
    if not 0.0 <= rho <= 1.0:
        raise InputError(f"rho: {rho} must be a correlation in [0, 1]")
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(n_bars)
    out = []
    for symbol in symbols:
        r = (np.sqrt(rho) * common + np.sqrt(1.0 - rho) * rng.standard_normal(n_bars)) * sigma
        close = 100.0 * np.exp(np.cumsum(r))
        out.append(PlantedMarket("corrwalk", bars_from_closes(close, rng, sigma, symbol, timeframe),
                                 np.zeros(n_bars), 0.0, sigma))
    return out
