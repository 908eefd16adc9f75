"""Series keys in the market store: the name check, and a key's id in the ``series`` table.

Shared by :class:`~gaorg.data.store.MarketStore` (reads) and :class:`~gaorg.data.writer.BarsWriter`
(writes), so the writer needs only the store's connection.
"""

from __future__ import annotations

from typing import Any

from gaorg.errors import InputError


def check_key(exchange: str, symbol: str) -> None:
    """InputError unless exchange and symbol are non-empty names without surrounding spaces."""
    if not exchange or not symbol or exchange != exchange.strip() or symbol != symbol.strip():
        raise InputError(f"exchange and symbol must be non-empty names without surrounding spaces: {exchange!r} {symbol!r}")


def series_id(con: Any, exchange: str, symbol: str, timeframe: str, create: bool) -> int | None:
    """The id of a series on DuckDB connection ``con``; None when absent, unless ``create`` adds it."""
    q = "SELECT id FROM series WHERE exchange = ? AND symbol = ? AND timeframe = ?"
    got = con.execute(q, [exchange, symbol, timeframe]).fetchall()
    if got:
        return int(got[0][0])
    if not create:
        return None
    con.execute("INSERT INTO series (exchange, symbol, timeframe) VALUES (?, ?, ?)", [exchange, symbol, timeframe])
    return int(con.execute(q, [exchange, symbol, timeframe]).fetchall()[0][0])
