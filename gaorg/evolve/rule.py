"""Baskets named by a rule: ``hyperliquid:perp``, at least ``1y`` of history, the ``30`` most traded.

A rule is resolved once, at the start of a run, from what the store holds; the run records the
rule (``EvolveConfig.universe``) beside the symbols it resolved to (``EvolveConfig.symbols``), both
in its checkpoint and in its MLflow params, and a resumed run uses the recorded symbols (the store
may have grown since; the rule is not resolved again).

- ``EXCHANGE:KIND``: the store's series of that exchange; ``perp`` keeps perpetuals (ccxt symbols
  ``BASE/QUOTE:SETTLE``), ``spot`` spot pairs (``BASE/QUOTE``), ``all`` everything.
- ``min_history``: a duration (``90d``, ``26w``, ``1y``, ``36h``; a year is 365 days) the series
  must span, first to last bar, at the timeframe evolution reads (the finest stage's, or the finer
  stored one it is resampled from). A delisted series that spanned it counts (no survivorship).
- ``top``: the ``top`` with the most notional volume (``volume * close`` of the bars) over the 30
  days before the hold-out starts (the newest ``holdout`` share of the candidates' whole span), or
  before a series' delisting if that came first: the choice uses no bar the hold-out will score
  (ranking by the newest volume would pick the coins that did well since). Ties go by symbol.

    from gaorg.evolve.rule import parse_rule, resolve
    basket = resolve(store, parse_rule("hyperliquid:perp", "1y", 30), "1h", holdout=0.2)
    config = EvolveConfig(symbols=basket.symbols, exchange=basket.exchange, universe=basket.rule)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from gaorg.data.timeframes import DAY_MS, TIMEFRAMES, can_resample, timeframe_ms
from gaorg.data.times import iso
from gaorg.errors import ConfigError, NotFoundError

KINDS = ("perp", "spot", "all")
VOLUME_WINDOW_MS = 30 * DAY_MS
_UNITS = {"h": 3_600_000, "d": DAY_MS, "w": 7 * DAY_MS, "mo": 30 * DAY_MS, "y": 365 * DAY_MS}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|d|w|mo|y)")


def parse_duration(text: str, what: str = "--min-history") -> int:
    """Milliseconds of a duration like ``90d``, ``26w``, ``6mo``, ``1y``, ``36h``; ConfigError otherwise."""
    got = _DURATION.fullmatch(text.strip().lower())
    if got and float(got.group(1)) <= 0:
        raise ConfigError(f"{what} {text!r} asks for no history; give a positive duration (e.g. 90d, 1y) "
                          f"or leave {what} out")
    if not got:
        raise ConfigError(f"{what} {text!r} is not a duration; give a number and a unit h, d, w, mo or y "
                          "(e.g. 90d, 26w, 1y)")
    return int(float(got.group(1)) * _UNITS[got.group(2)])


@dataclass(frozen=True)
class BasketRule:
    """Which stored series make the basket: an exchange, a kind, a least history, the most traded."""

    exchange: str
    kind: Literal["perp", "spot", "all"] = "perp"
    min_history: str = ""
    top: int | None = None

    @property
    def min_history_ms(self) -> int:
        return parse_duration(self.min_history) if self.min_history else 0

    def text(self) -> str:
        """The rule as recorded: ``hyperliquid:perp min-history=1y top=30``."""
        parts = [f"{self.exchange}:{self.kind}"]
        if self.min_history:
            parts.append(f"min-history={self.min_history}")
        if self.top is not None:
            parts.append(f"top={self.top}")
        return " ".join(parts)

    def matches(self, symbol: str) -> bool:
        if self.kind == "perp":
            return ":" in symbol
        if self.kind == "spot":
            return "/" in symbol and ":" not in symbol
        return True


def parse_rule(universe: str, min_history: str | None = None, top: int | None = None, *,
               flags: bool = True) -> BasketRule:
    """A :class:`BasketRule` from ``--universe EXCHANGE:KIND``, ``--min-history``, ``--top``
    (``flags=False``: the messages name the keys ``universe``, ``min_history``, ``top`` of a
    notebook's parameters or a nightly config instead)."""
    u, m, t = ("--universe", "--min-history", "--top") if flags else ("universe", "min_history", "top")
    exchange, sep, kind = universe.partition(":")
    kind = kind.strip().lower()  # PERP is perp
    if not sep or not exchange or kind not in KINDS:
        raise ConfigError(f"{u} {universe!r}: give EXCHANGE:KIND with KIND one of {', '.join(KINDS)} "
                          "(e.g. hyperliquid:perp)")
    if top is not None and top < 1:
        raise ConfigError(f"{t} {top}: give how many series the basket holds, at least 1 "
                          f"(e.g. {t + ' ' if flags else ''}30)")
    rule = BasketRule(exchange, kind, (min_history or "").strip().lower(), top)  # type: ignore[arg-type]
    if rule.min_history:
        parse_duration(min_history or "", m)  # checks the duration now, at the edge (named as given)
    return rule


def rule_of(universe: str | None, min_history: str | None = None, top: int | None = None, *,
            symbols: tuple[str, ...] = (), exchange: str | None = None) -> BasketRule | None:
    """The rule a notebook's parameters or a nightly universe name by their keys ``universe``,
    ``min_history``, ``top`` (None: the basket is named by ``symbols``), checked as ``gaorg evolve``
    checks its flags: ConfigError for a bad value, or a rule beside ``symbols`` or ``exchange``."""
    if universe is None:
        if min_history is not None or top is not None:
            raise ConfigError("min_history and top choose within a rule; add universe: EXCHANGE:KIND "
                              "(e.g. hyperliquid:perp)")
        return None
    if symbols or exchange:
        raise ConfigError("universe names the basket by rule; drop symbols and exchange (or drop universe)")
    return parse_rule(universe, min_history, top, flags=False)


def stored_symbols(store: Any, rule: BasketRule, timeframe: str) -> list[str]:
    """The symbols of ``rule``'s exchange and kind that ``store`` holds at ``timeframe``, by symbol:
    the series a nightly run brings up to date before the rule picks among them."""
    return sorted({s.symbol for s in store.series()
                   if s.exchange == rule.exchange and s.timeframe == timeframe and rule.matches(s.symbol)})


@dataclass(frozen=True)
class Candidate:
    """A stored series the rule looked at: its span, notional volume, and whether it was picked (or why not)."""

    symbol: str
    timeframe: str
    first: int
    last: int
    rows: int
    notional: float
    why: str = ""  # empty: picked

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "timeframe": self.timeframe, "first": iso(self.first), "last": iso(self.last),
                "rows": self.rows, "notional_30d": round(self.notional, 2), "picked": not self.why, "why": self.why}


@dataclass(frozen=True)
class Resolution:
    """A rule resolved against the store: the basket's symbols (most traded first) and every candidate."""

    rule: str
    exchange: str
    symbols: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    volume_until: int  # the volume ranked is the 30 days before this (the hold-out's start)

    def describe(self) -> str:
        picked = [c for c in self.candidates if not c.why]
        late = sum(1 for c in picked if c.first > min(p.first for p in picked))
        early = sum(1 for c in picked if c.last < max(p.last for p in picked))
        return (f"basket {self.rule}: {len(self.symbols)} of {len(self.candidates)} stored series "
                f"({late} start late, {early} end early; volume ranked before {iso(self.volume_until)}, "
                f"the hold-out): {', '.join(self.symbols[:10])}"
                f"{f' and {len(self.symbols) - 10} more' if len(self.symbols) > 10 else ''}")

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "exchange": self.exchange, "symbols": list(self.symbols),
                "volume_until": iso(self.volume_until), "candidates": [c.to_dict() for c in self.candidates]}


def resolve(store: Any, rule: BasketRule, timeframe: str, holdout: float = 0.2, *, flags: bool = True) -> Resolution:
    """The basket ``rule`` names among ``store``'s series that evolution can read at ``timeframe``
    (the finest stage's), volume ranked before the ``holdout`` share; NotFoundError when none
    qualifies, saying what the store holds (``flags=False``: naming the key ``min_history`` of a
    notebook's parameters or a nightly config, not the flag)."""
    from gaorg.evolve.folds import span_holdout_time

    tf_ms = timeframe_ms(timeframe)
    usable = _usable(store.activity(rule.exchange, VOLUME_WINDOW_MS), rule, timeframe)
    if not usable:
        raise NotFoundError(f"the store holds no {rule.kind} series of {rule.exchange!r} readable at {timeframe}; "
                            "`gaorg data list --summary` shows what it holds (fetch with `gaorg data fetch --universe`)")
    until = span_holdout_time(min(r[2] for r in usable.values()), max(r[3] for r in usable.values()), tf_ms, holdout)
    usable = _usable(store.activity(rule.exchange, VOLUME_WINDOW_MS, until=until), rule, timeframe)
    need = rule.min_history_ms
    candidates = []
    for _, (sym, tf, first, last, rows, notional) in sorted(usable.items()):
        span = last - first + timeframe_ms(tf)
        why = f"{span / DAY_MS:.0f} days of history, under {rule.min_history}" if span < need else ""
        candidates.append(Candidate(sym, tf, first, last, rows, notional, why))
    eligible = sorted((c for c in candidates if not c.why), key=lambda c: (-c.notional, c.symbol))
    if rule.top is not None:
        cut = {c.symbol for c in eligible[rule.top:]}
        candidates = [c if c.symbol not in cut else Candidate(c.symbol, c.timeframe, c.first, c.last, c.rows,
                                                               c.notional, f"not in the top {rule.top} by volume")
                      for c in candidates]
        eligible = eligible[:rule.top]
    if not eligible:
        longest = max(candidates, key=lambda c: c.last - c.first)
        raise NotFoundError(
            f"no {rule.kind} series of {rule.exchange!r} has {rule.min_history} of history at {timeframe} "
            f"(of {len(candidates)}; the longest, {longest.symbol}, spans "
            f"{(longest.last - longest.first + tf_ms) / DAY_MS:.0f} days); give a shorter "
            f"{'--min-history' if flags else 'min_history'}")
    return Resolution(rule.text(), rule.exchange, tuple(c.symbol for c in eligible), tuple(candidates), until)


def _usable(rows: list[tuple], rule: BasketRule, timeframe: str) -> dict[str, tuple]:
    """Per symbol the rule keeps, the series evolution reads at ``timeframe``: that timeframe's,
    else the coarsest finer one (as :func:`gaorg.evolve.basket.load_basket` picks it)."""
    usable: dict[str, tuple] = {}
    for row in rows:
        symbol, tf = row[0], row[1]
        if not rule.matches(symbol) or not (tf == timeframe or can_resample(tf, timeframe)):
            continue
        prev = usable.get(symbol)
        if prev is None or prev[1] != timeframe and (tf == timeframe or TIMEFRAMES[tf] > TIMEFRAMES[prev[1]]):
            usable[symbol] = row
    return usable
