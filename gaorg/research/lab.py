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
