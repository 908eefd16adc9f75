"""``02_strategy_lab``: a genome on a stored series, against buy-and-hold, with the same costs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gaorg.config import Settings
from gaorg.data.bars import Bars


def starting_genome(genome_file: str = "", entry: str = "ema_crossover", filters: tuple[str, ...] = ()) -> Any:
    """The genome to start from: ``genome_file`` if given, else ``entry`` + ``filters`` at default values."""
    from gaorg.strategies.catalogue import CATALOGUE
    from gaorg.strategies.genome import load_genome, make_genome
    from gaorg.widgets import default_params

    if genome_file:
        return load_genome(genome_file)
    for name in (entry, *filters):
        if name not in CATALOGUE:
            from gaorg.config import did_you_mean
            from gaorg.errors import GenomeError

            raise GenomeError(f"unknown module {name!r}{did_you_mean(name, CATALOGUE)}")
    return make_genome((entry, default_params(CATALOGUE[entry])),
                       filters=tuple((f, default_params(CATALOGUE[f])) for f in filters))


def builder_params(genome: Any) -> dict[str, dict[str, Any]]:
    """The genome's parameters by module, to seed a :class:`gaorg.widgets.GenomeBuilder`."""
    return {slot.module: slot.as_dict() for slot in genome.slots}


@dataclass(frozen=True)
class LabRun:
    """A genome's backtest over ``bars`` and buy-and-hold over the same bars and costs."""

    bars: Bars
    genome: Any
    result: Any
    benchmark: Any
    costs: Any

    def comparison(self) -> dict[str, dict[str, float]]:
        """Metrics side by side: strategy and buy-and-hold (keys of ``gaorg backtest``)."""
        return {"strategy": dict(self.result.metrics), "buy_and_hold": dict(self.benchmark.metrics)}


def costs_of(fee: float | None, slippage: float) -> Any:
    from gaorg.backtest.engine import Costs

    return Costs(slippage=slippage) if fee is None else Costs(fee=fee, slippage=slippage)


def run_lab(bars: Bars, genome: Any, fee: float | None = None, slippage: float = 0.0) -> LabRun:
    """Backtest ``genome`` on ``bars`` and buy-and-hold (target 1 from the first bar) beside it."""
    from gaorg.backtest.run import backtest, backtest_genome

    costs = costs_of(fee, slippage)
    result = backtest_genome(genome, bars, costs)
    benchmark = backtest(bars, np.ones(len(bars)), costs)
    return LabRun(bars, genome, result, benchmark, costs)


def read_series(settings: Settings, symbol: str, timeframe: str, exchange: str | None = None) -> Bars:
    from gaorg.data.store import open_store

    with open_store(settings, read_only=True) as store:
        return store.read_bars(exchange, symbol, timeframe)


@dataclass(frozen=True)
class VectorbtCheck:
    """gaorg against vectorbt like with like, then what funding adds.

    vectorbt charges no funding, so the comparison runs gaorg with funding off (the same genome on
    the same bars, funding zeroed) and rebuilds that run's fills as a vectorbt ``Portfolio``: the two
    total returns agree. ``with_funding`` is gaorg's own figure (the lab's run), funding charged.
    """

    portfolio: Any
    gaorg_no_funding: float
    vectorbt: float
    with_funding: float
    funding_paid: float
    stats: Any

    @property
    def gap(self) -> float:
        return self.vectorbt - self.gaorg_no_funding

    def agrees(self, tol: float = 1e-9) -> bool:
        return abs(self.gap) <= tol

    def text(self) -> str:
        verdict = "they agree" if self.agrees() else "they DISAGREE: report this as a bug"
        return "\n".join([
            "total return, like with like (funding off: vectorbt charges none):",
            f"  gaorg    {self.gaorg_no_funding:+.4%}",
            f"  vectorbt {self.vectorbt:+.4%}   ({verdict}: difference {self.gap:.1e})",
            "what funding adds (gaorg charges it at every bar's close):",
            f"  gaorg with funding {self.with_funding:+.4%}: funding moved the return by "
            f"{self.with_funding - self.gaorg_no_funding:+.4%} (funding paid {self.funding_paid:,.2f}; < 0: received)",
        ])


def vectorbt_check(lab: LabRun, progress: Any = print) -> VectorbtCheck:
    """Compare ``lab``'s run with vectorbt funding off, then with funding; ``progress`` hears each step.

    Importing vectorbt and compiling its numba functions takes 10-40 s the first time in a
    process; every step says what it is doing and how long it took.
    """
    import dataclasses
    import time

    from gaorg.backtest.run import backtest_genome

    def step(what: str, fn: Any) -> Any:
        progress(f"vectorbt: {what} ...")
        t0 = time.monotonic()
        out = fn()
        progress(f"vectorbt: {what}: done in {time.monotonic() - t0:.1f} s")
        return out

    step("importing (10-20 s the first time in a kernel)", lambda: __import__("vectorbt"))
    from gaorg.backtest.vbt import to_portfolio

    flat = dataclasses.replace(lab.bars, funding=np.zeros(len(lab.bars)))
    no_funding = backtest_genome(lab.genome, flat, lab.costs)
    portfolio = step("building the portfolio from gaorg's fills (funding off)",
                     lambda: to_portfolio(flat, no_funding, lab.costs))
    stats = step("computing its stats (numba compiles them on first use)", portfolio.stats)
    return VectorbtCheck(portfolio, float(no_funding.metrics["total_return"]), float(portfolio.total_return()),
                         float(lab.result.metrics["total_return"]), float(lab.result.metrics["funding_paid"]), stats)
