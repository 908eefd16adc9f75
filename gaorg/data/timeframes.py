"""Timeframes: names, lengths in milliseconds, and which can be resampled to which."""

from __future__ import annotations

from gaorg.config import did_you_mean
from gaorg.errors import InputError

MINUTE_MS = 60_000
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS  # crypto trades 24/7: annualise with 365 days

TIMEFRAMES: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": DAY_MS,
}


def timeframe_ms(timeframe: str) -> int:
    """Length of one bar of ``timeframe`` in ms; an unknown name raises InputError."""
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        raise InputError(
            f"unknown timeframe {timeframe!r}{did_you_mean(timeframe, TIMEFRAMES)}; "
            f"use one of {', '.join(TIMEFRAMES)}"
        ) from None


def bars_per_year(timeframe: str) -> float:
    """Bars in a year of 24/7 trading (365 days): the annualisation factor of Sharpe and Sortino."""
    return YEAR_MS / timeframe_ms(timeframe)


def can_resample(source: str, target: str) -> bool:
    """True when bars of ``source`` aggregate exactly into bars of ``target``."""
    src, dst = timeframe_ms(source), timeframe_ms(target)
    return dst >= src and dst % src == 0
