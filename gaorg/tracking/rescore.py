"""Hold-out figures for the promotion gates, re-scored on the newest data in the market store.

A version records, when registered, the series of its hold-out and where each hold-out starts
(``rescore.series``) and the trading costs (``rescore.costs``). Re-scoring reads each series from
the store as it is now (resampled like evolution if only a finer timeframe is stored), composes
the genome over all of it (history warms the indicators) and simulates from flat from the
recorded hold-out start to the newest bar: the original hold-out plus every bar stored since.
Figures over the basket: mean Sharpe, worst max drawdown, total trades, and the hold-out's deflated
Sharpe ratio: the probability that the strategy's true Sharpe on the pooled hold-out returns is above
what the best of the run's registered candidates (each one look at the same hold-out, tag
``holdout.candidates``) would show by luck.
"""

from __future__ import annotations

import json
import math
from typing import Any

from gaorg.config import Settings
from gaorg.errors import NotFoundError
from gaorg.evolve.stats import deflated_sharpe_of
from gaorg.strategies.genome import Genome
from gaorg.tracking.registry import VersionInfo


def holdout_figures(genome: Genome, own: VersionInfo, basis: VersionInfo, settings: Settings,
                    rescore: bool = True) -> tuple[dict[str, float], str]:
    """(sharpe, max_drawdown, trades, deflated_sharpe) of ``genome`` on the hold-out of ``basis``,
    and how they were measured.

    ``own`` is the version ``genome`` belongs to (its recorded figures are used when
    ``rescore=False`` or when ``basis`` recorded no hold-out range).
    """
    series = json.loads(basis.tags.get("rescore.series", "[]"))
    if not rescore or not series:
        why = "recorded at registration" + ("" if rescore else " (--no-rescore)")
        if rescore:
            why += f"; version {basis.version} recorded no hold-out range to re-score"
        return recorded_figures(own), why
    if not settings.market_db.exists():
        raise NotFoundError(
            f"no market store at {settings.market_db} to re-score the hold-out on; point GAORG_HOME at "
            "the store the strategies were evolved on, or pass --no-rescore to use the recorded figures"
        )
    costs = costs_from_tag(basis.tags.get("rescore.costs"))
    metrics, sums = _rescore(genome, series, costs, settings)
    figures = {"sharpe": float(sum(m["sharpe"] for m in metrics) / len(metrics)),
               "max_drawdown": float(max(m["max_drawdown"] for m in metrics)),
               "trades": float(sum(m["trades"] for m in metrics)),
               "deflated_sharpe": deflated_sharpe_of(sums, candidates_of(own))}
    keys = ", ".join(f"{s[1]} {s[2]}" for s in series)
    return figures, f"re-scored on the newest data ({keys}, {int(sum(m['bars'] for m in metrics))} bars)"


def recorded_figures(info: VersionInfo) -> dict[str, float]:
    """The hold-out figures recorded on a version when it was registered (NaN where absent)."""
    try:
        sums = [float(x) for x in json.loads(info.tags.get("holdout.sums", "[]"))]
    except (ValueError, TypeError):
        sums = []
    dsr = deflated_sharpe_of(sums, candidates_of(info)) if len(sums) == 5 else math.nan
    return {"sharpe": info.figure("holdout.sharpe"), "max_drawdown": info.figure("holdout.max_drawdown"),
            "trades": info.figure("holdout.trades"), "deflated_sharpe": dsr}


def candidates_of(info: VersionInfo) -> int:
    """How many versions the run that made ``info`` registered (looks at the same hold-out); 1 if unknown."""
    value = info.figure("holdout.candidates")
    return max(int(value), 1) if math.isfinite(value) else 1


def _rescore(genome: Genome, series: list, costs: Any, settings: Settings) -> tuple[list[dict[str, float]], Any]:
    import numpy as np

    from gaorg.backtest.run import backtest_genome
    from gaorg.data.store import open_store
    from gaorg.evolve.basket import load_basket
    from gaorg.evolve.stats import design_effect, return_sums

    out = []
    sums = np.zeros(5)
    held: list[tuple[Any, Any]] = []
    with open_store(settings, read_only=True) as store:
        for exchange, symbol, timeframe, start_ms in series:
            (bars,) = load_basket(store, (symbol,), timeframe, exchange)
            start = int(np.searchsorted(bars.ts, int(start_ms)))
            if start >= len(bars):
                raise NotFoundError(
                    f"{exchange} {symbol} {timeframe}: the store has no bars from the hold-out start "
                    f"({start_ms}) on; it no longer holds the data this version was evolved on"
                )
            result = backtest_genome(genome, bars, costs, start=start)
            metrics = result.metrics
            out.append({k: float(metrics[k]) for k in ("sharpe", "max_drawdown", "trades")}
                       | {"bars": float(len(bars) - start)})
            sums += return_sums(result.equity)
            held.append((bars.ts[start:], bars.close[start:]))
    return out, sums / design_effect(held)


def costs_from_tag(text: str | None) -> Any:
    """The engine's ``Costs`` from a version's ``rescore.costs`` tag (the default costs if absent)."""
    from gaorg.backtest.engine import Costs

    if not text:
        return Costs()
    raw = json.loads(text)
    fee, slippage = raw.get("fee"), float(raw.get("slippage") or 0.0)
    if fee is None or not math.isfinite(float(fee)):
        return Costs(slippage=slippage)
    return Costs(fee=float(fee), slippage=slippage)


_costs = costs_from_tag  # the name gaorg.research.compare imports
