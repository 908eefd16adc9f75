"""The notebooks' figures and widgets, without a kernel: bounds, redraws, clicks."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.backtest.run import backtest, backtest_genome
from gaorg.data.synth import synth_bars
from gaorg.errors import GenomeError
from gaorg.evolve.result import FrontMember
from gaorg.plots import ParetoExplorer, candles, correlation, drawdown, equity_figure, pareto_figure
from gaorg.research.lab import run_lab, starting_genome
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.genes import ChoiceGene, FloatGene, IntGene
from gaorg.strategies.genome import make_genome
from gaorg.widgets import GenomeBuilder, default_params


def test_every_gene_slider_spans_exactly_the_declared_bounds():
    builder = GenomeBuilder("stochastic", ["rsi_filter", "sma_trend"])
    for module, controls in builder.controls.items():
        for gene in CATALOGUE[module].genes:
            control = controls[gene.name]
            if isinstance(gene, (IntGene, FloatGene)):
                assert (control.min, control.max) == (gene.low, gene.high), (module, gene.name)
            else:
                assert isinstance(gene, ChoiceGene) and tuple(control.options) == gene.choices


def test_moving_a_slider_changes_the_genome_and_fires_the_redraw():
    builder = GenomeBuilder("ema_crossover", params={"ema_crossover": {"fast": 5, "slow": 30, "direction": "long"}})
    seen = []
    builder.on_change(lambda b: seen.append(b.genome()))
    builder.set_value("ema_crossover", "fast", 9)
    assert seen[-1].entry.as_dict()["fast"] == 9
    assert seen[-1].canonical_hash() == make_genome(("ema_crossover", {"fast": 9, "slow": 30,
                                                                       "direction": "long"})).canonical_hash()


def test_an_invalid_combination_shows_a_message_and_does_not_redraw():
    builder = GenomeBuilder("ema_crossover", params={"ema_crossover": {"fast": 5, "slow": 30, "direction": "long"}})
    seen = []
    builder.on_change(seen.append)
    builder.set_value("ema_crossover", "fast", 100)  # fast above slow: refused by the module's check
    assert seen == [] and builder.message.value
    with pytest.raises(GenomeError):
        builder.genome()


def test_default_params_are_valid_for_every_module():
    for name, spec in CATALOGUE.items():
        params = default_params(spec)
        assert spec.check is None or spec.check(params) is None, name


def test_lab_compares_the_genome_with_buy_and_hold_at_the_same_costs():
    bars = synth_bars("X", "1h", 800, seed=1)
    genome = starting_genome("", "donchian_breakout", ("sma_trend",))
    lab = run_lab(bars, genome, fee=0.002)
    assert lab.costs.fee == 0.002
    assert lab.comparison()["strategy"] == backtest_genome(genome, bars, lab.costs).metrics
    assert lab.comparison()["buy_and_hold"] == backtest(bars, np.ones(len(bars)), lab.costs).metrics
    fig = equity_figure(bars, lab.result, lab.benchmark)
    assert [t.name for t in fig.data][:3] == ["strategy", "buy and hold", "drawdown"]


def test_candles_have_price_volume_and_funding_panels():
    fig = candles(synth_bars("X", "1h", 50, seed=2))
    assert [t.type for t in fig.data] == ["candlestick", "bar", "bar"]


def test_drawdown_is_a_positive_fraction_from_the_running_peak():
    assert np.allclose(drawdown(np.array([100.0, 120.0, 90.0, 130.0])), [0.0, 0.0, 0.25, 0.0])


def test_correlation_of_identical_opposite_and_flat_returns():
    r = np.array([0.01, -0.02, 0.03, 0.0])
    corr = correlation({"a": r, "b": -r, "flat": np.zeros(4)})
    assert np.allclose(corr, [[1, -1, 0], [-1, 1, 0], [0, 0, 1]])


def _member(i: int, sharpe: float) -> FrontMember:
    g = make_genome(("ema_crossover", {"fast": 3 + i, "slow": 40, "direction": "long"}))
    return FrontMember(g, g.canonical_hash(), sharpe, 0.1 * (i + 1), 0.5, 0.9, {"sharpe": 1.0})


def test_clicking_a_front_point_draws_that_members_equity():
    front = [_member(0, 2.0), _member(1, 1.0)]
    curves = {0: ([1, 2], [10.0, 11.0]), 1: ([1, 2, 3], [10.0, 9.0, 12.0])}
    explorer = ParetoExplorer(front, lambda i: curves[i])
    assert explorer.selected == 0 and list(explorer.equity_fig.data[0].y) == [10.0, 11.0]

    class Points:
        point_inds = [1]

    explorer._clicked(explorer.front_fig.data[0], Points(), None)  # what plotly calls on a click
    assert explorer.selected == 1 and list(explorer.equity_fig.data[0].y) == [10.0, 9.0, 12.0]
    assert list(explorer.front_fig.data[0].marker.size) == [12, 22]
    assert list(pareto_figure(front).data[0].y) == [2.0, 1.0]


def test_the_series_picker_opens_on_the_asked_symbols_exchange_when_none_is_given():
    """01_data_explorer's ``exchange = None`` means the exchange that holds ``symbol``: after
    ``gaorg demo`` (local BTC/USDT beside synthetic SYNTH-BTC) it opened on local BTC/USDT instead."""
    from gaorg.data.store import SeriesInfo
    from gaorg.widgets import SeriesPicker

    series = [SeriesInfo("local", "BTC/USDT", "1h", 0, 1, 2, 0),
              SeriesInfo("synthetic", "SYNTH-BTC", "1h", 0, 1, 2, 0),
              SeriesInfo("synthetic", "SYNTH-BTC", "4h", 0, 1, 2, 0)]
    picked = SeriesPicker(series, None, "SYNTH-BTC", "4h").value
    assert (picked["exchange"], picked["symbol"], picked["timeframe"]) == ("synthetic", "SYNTH-BTC", "4h")
    assert SeriesPicker(series, "local", "SYNTH-BTC").value["symbol"] == "BTC/USDT"  # a given exchange wins
    assert SeriesPicker(series).value["exchange"] == "local"  # nothing asked: the first series


def test_the_front_table_shows_the_hold_out_as_gaorg_evolve_and_the_gates_count_it():
    """03_evolve's table showed per-asset means (10.5 trades) where `gaorg evolve` says 21, the total."""
    from gaorg.plots import front_rows

    g = make_genome(("ema_crossover", {"fast": 5, "slow": 40, "direction": "long"}))
    per = {"A": {"sharpe": 1.0, "max_drawdown": 0.1, "trades": 8, "total_return": 0.02},
           "B": {"sharpe": 3.0, "max_drawdown": 0.3, "trades": 13, "total_return": 0.04}}
    mean = {"sharpe": 2.0, "max_drawdown": 0.2, "trades": 10.5, "total_return": 0.03}
    (row,) = front_rows([FrontMember(g, g.canonical_hash(), 1.0, 0.1, 0.5, 0.9, mean, per)])
    assert (row["holdout_sharpe"], row["holdout_max_drawdown"], row["holdout_trades"]) == (2.0, 0.3, 21.0)
    assert row["holdout_return"] == pytest.approx(0.03)
