"""Hold-out figures for the promotion gates, re-scored on the newest data in the market store.

A version records, when registered, the series of its hold-out and where each hold-out starts
(``rescore.series``) and the trading costs (``rescore.costs``). Re-scoring reads each series from
the store as it is now (resampled like evolution if only a finer timeframe is stored), composes
the genome over all of it (history warms the indicators) and simulates from flat from the
recorded hold-out start to the newest bar: the original hold-out plus every bar stored since.
Figures over the basket: mean Sharpe, worst max drawdown, total trades, and the hold-out's deflated
Sharpe ratio: the probability that the strategy's true Sharpe on the pooled hold-out returns is above
what the best of the run's registered candidates (each one look at the same hold-out) would show by
luck. The count of candidates is read from the source run's unchangeable record (run param
``gaorg.registered``), never from the editable ``holdout.candidates`` tag; so are the series, hold-out
starts and costs (run param ``gaorg.rescore``), not the ``rescore.*`` tags, except for runs registered
before that param existed. A tag that is not what gaorg wrote (not JSON, the wrong shape) is a
TagError naming the version and the tag.
"""

from __future__ import annotations

import json
import math
from typing import Any

from gaorg.config import Settings
from gaorg.errors import InputError, NotFoundError
from gaorg.evolve.stats import deflated_sharpe_of
from gaorg.strategies.genome import Genome
from gaorg.tracking.registry import HOLDOUT_MDD, HOLDOUT_TRADES, VersionInfo, json_tag, tag_error

SERIES_TAG = "rescore.series"
COSTS_TAG = "rescore.costs"
MAX_SERIES = 1000
"""More series than any basket: a longer ``rescore.series`` was not written by gaorg."""


def holdout_figures(genome: Genome, own: VersionInfo, basis: VersionInfo, settings: Settings,
                    rescore: bool = True, candidates: int | None = None) -> tuple[dict[str, float], str]:
    """(sharpe, max_drawdown, trades, deflated_sharpe) of ``genome`` on the hold-out of ``basis``,
    and how they were measured.

    ``own`` is the version ``genome`` belongs to (its recorded figures are used when
    ``rescore=False`` or when ``basis`` recorded no hold-out range). ``candidates``: how many
    candidates the run of ``own`` registered (read from that run's record when None).
    """
    k = candidates_of(own, settings) if candidates is None else candidates
    series, costs, source = rescore_basis(basis, settings) if rescore else ([], None, "")
    if not rescore or not series:
        why = "recorded at registration" + ("" if rescore else " (--no-rescore)")
        if rescore:
            why += f"; version {basis.version} recorded no hold-out range to re-score"
        return recorded_figures(own, k), why
    if not settings.market_db.exists():
        raise NotFoundError(
            f"no market store at {settings.market_db} to re-score the hold-out on; point GAORG_HOME at "
            "the store the strategies were evolved on, or pass --no-rescore to use the recorded figures"
        )
    metrics, sums = _rescore(genome, series, costs, settings)
    figures = {"sharpe": float(sum(m["sharpe"] for m in metrics) / len(metrics)),
               "max_drawdown": float(max(m["max_drawdown"] for m in metrics)),
               "trades": float(sum(m["trades"] for m in metrics)),
               "deflated_sharpe": deflated_sharpe_of(sums, k)}
    return figures, (f"re-scored on the newest data ({series_text(series)}, {int(sum(m['bars'] for m in metrics))} bars; "
                     f"series and costs {source})")


def series_text(series: list, most: int = 4) -> str:
    """The re-scored series as a gate's detail names them: all of a small basket, the first three and a
    count of a larger one (each gate repeats it: a universe's 30 series made every gate line a wall)."""
    keys = [f"{s[1]} {s[2]}" for s in series]
    if len(keys) <= most:
        return ", ".join(keys)
    return f"{len(keys)} series: {', '.join(keys[:3])} and {len(keys) - 3} more"


def recorded_figures(info: VersionInfo, candidates: int) -> dict[str, float]:
    """The hold-out figures recorded on a version when it was registered (NaN where absent): mean
    Sharpe, worst max drawdown and total trades over the basket (versions registered before these
    were recorded give the means they recorded).

    ``candidates``: how many the version's run registered (:func:`candidates_of`).
    """
    raw = json_tag(info, "holdout.sums", [])
    if not isinstance(raw, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in raw):
        raise tag_error(info, "holdout.sums", "is not a list of numbers")
    sums = [float(x) for x in raw]
    dsr = deflated_sharpe_of(sums, candidates) if len(sums) == 5 else math.nan
    mdd, trades = info.figure(HOLDOUT_MDD), info.figure(HOLDOUT_TRADES)
    if HOLDOUT_MDD not in info.tags:  # registered before: the means over the basket were recorded
        mdd, trades = info.figure("holdout.max_drawdown"), info.figure("holdout.trades")
    return {"sharpe": info.figure("holdout.sharpe"), "max_drawdown": mdd, "trades": trades, "deflated_sharpe": dsr}


def candidates_of(info: VersionInfo, settings: Settings) -> int:
    """How many candidates (looks at the same hold-out) the run that made ``info`` registered.

    Read from the run's unchangeable record, not the ``holdout.candidates`` tag anyone can edit.
    """
    from gaorg.tracking.registry import run_record
    from gaorg.tracking.store import make_client

    return int(run_record(make_client(settings), settings, info)["holdout_candidates"])


def rescore_basis(info: VersionInfo, settings: Settings) -> tuple[list[tuple[str, str, str, int]], Any, str]:
    """What the hold-out of ``info`` is re-scored on: (series, costs, where they were read from).

    From the source run's record (run param ``gaorg.rescore``, the genome's timeframe from
    ``gaorg.registered``), which cannot be edited; from the version's tags for runs registered
    before that param was written. The tags are checked for shape either way (TagError: a version
    whose tags were edited into junk is refused); valid tags that differ from the record are ignored.
    """
    from gaorg.errors import GenomeError
    from gaorg.tracking.registry import RESCORE_PARAM, run_record
    from gaorg.tracking.store import make_client, tracking_errors

    tagged_series, tagged_costs = series_of(info), costs_of(info)
    client = make_client(settings)
    entry = run_record(client, settings, info)
    with tracking_errors(settings, f"reading the run of {info.name} version {info.version}"):
        text = client.get_run(info.run_id).data.params.get(RESCORE_PARAM)
    if text is None:
        return tagged_series, tagged_costs, f"from the version's tags (run {info.run_id} recorded none)"

    def problem(what: str) -> GenomeError:
        return GenomeError(f"refusing {info.name} version {info.version}: run {info.run_id}'s {RESCORE_PARAM} "
                           f"{what}; register the strategies again")

    try:
        raw = json.loads(text)
        series, costs = raw["series"][entry["timeframe"]], raw["costs"]
    except (ValueError, TypeError, KeyError, RecursionError):
        raise problem(f"has no series for the genome's timeframe {entry.get('timeframe')!r}") from None
    return _series(series, problem), _costs(costs, problem), f"recorded by run {info.run_id}"


def series_of(info: VersionInfo) -> list[tuple[str, str, str, int]]:
    """The version's ``rescore.series`` tag, checked: ``(exchange, symbol, timeframe, hold-out start ms)``
    per series ([] when absent); TagError naming the version if it is not that shape."""
    return _series(json_tag(info, SERIES_TAG, []), lambda what: tag_error(info, SERIES_TAG, what))


def costs_of(info: VersionInfo) -> Any:
    """The engine's ``Costs`` from the version's ``rescore.costs`` tag (default costs if absent)."""
    return _costs(json_tag(info, COSTS_TAG), lambda what: tag_error(info, COSTS_TAG, what))


def _series(raw: Any, problem: Any) -> list[tuple[str, str, str, int]]:
    shape = "a list of [exchange, symbol, timeframe, hold-out start in ms]"
    if not isinstance(raw, list) or len(raw) > MAX_SERIES:
        raise problem(f"is not {shape}")
    out = []
    for item in raw:
        ok = (isinstance(item, list) and len(item) == 4 and all(isinstance(x, str) and x for x in item[:3])
              and isinstance(item[3], int) and not isinstance(item[3], bool) and item[3] >= 0)
        if not ok:
            raise problem(f"holds {json.dumps(item)[:80]}, not {shape}")
        out.append((item[0], item[1], item[2], item[3]))
    return out


def _costs(raw: Any, problem: Any) -> Any:
    try:
        return _costs_from(raw)
    except (InputError, TypeError, ValueError) as exc:
        raise problem(f'is not {{"fee": x, "slippage": y}} with fractions in [0, 0.1] ({exc})') from None


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


def _costs_from(raw: Any) -> Any:
    from gaorg.backtest.engine import Costs

    if raw is None:
        return Costs()
    if not isinstance(raw, dict):
        raise TypeError(f"got {type(raw).__name__}")
    fee, slippage = raw.get("fee"), raw.get("slippage") or 0.0
    for value in (fee, slippage):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{value!r} is not a number")
    if fee is None or not math.isfinite(float(fee)):
        return Costs(slippage=float(slippage))
    return Costs(fee=float(fee), slippage=float(slippage))
