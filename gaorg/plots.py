"""Plotly figures of the research notebooks (plotly is imported when a figure is made).

- :func:`candles`: candlesticks with volume and funding, gaps shaded.
- :func:`equity_figure`: equity against buy-and-hold, drawdown, and the trades on the price.
- :func:`generations_figure`: best and median of each objective and the hypervolume, per generation.
- :func:`pareto_figure` / :class:`ParetoExplorer`: the Pareto front; in a notebook, clicking a
  point draws that strategy's equity curve (a ``FigureWidget`` pair).
- :func:`correlation_figure`: correlation of candidates' returns.

Figures render from the file alone, without a kernel or the internet: a notebook's first cell calls
:func:`offline_figures` (plotly.js embedded once, every figure also as HTML), live charts redraw in
place through :class:`LiveFigure` (a display, not a widget), and ``ParetoExplorer`` carries a static
copy of itself for where widgets cannot run (an exported notebook).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from gaorg.data.bars import Bars

OFFLINE_RENDERER = "gaorg_offline"


def _figure_html(fig: Any) -> str:
    """A figure as an HTML fragment drawn by the page's ``Plotly`` (no script tag to fetch, no CDN)."""
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=False, include_mathjax=False, full_html=False,
                       default_width="100%", validate=False)


def offline_figures() -> str:
    """Make this kernel's plotly figures render from the notebook file alone (no kernel, no internet).

    Embeds plotly.js once in this cell's output and sets plotly's renderer to the JupyterLab
    mimetype plus an HTML fragment per figure: JupyterLab draws the first, an exported notebook
    (``jupyter nbconvert --to html``) the second. Returns the renderer name.
    """
    import plotly.io as pio
    from IPython.display import display
    from plotly.io.base_renderers import MimetypeRenderer
    from plotly.offline import get_plotlyjs

    class OfflineHtml(MimetypeRenderer):
        def to_mimebundle(self, fig_dict: Any) -> dict[str, str]:
            return {"text/html": _figure_html(fig_dict)}

    pio.renderers[OFFLINE_RENDERER] = OfflineHtml()
    pio.renderers.default = f"plotly_mimetype+{OFFLINE_RENDERER}"
    display({"text/html": f'<script type="text/javascript">{get_plotlyjs()}</script>'}, raw=True)
    return pio.renderers.default


class LiveFigure:
    """A figure in a notebook output that redraws in place (``update``): a display, not a widget.

    Unlike a ``FigureWidget`` it needs no widget manager, so the last drawing shows in an exported
    notebook too. ``show()`` displays it; ``update(fig)`` replaces it.
    """

    def __init__(self, figure: Any) -> None:
        self.figure = figure
        self._handle: Any = None

    def _bundle(self) -> dict[str, Any]:
        return self.figure._repr_mimebundle_()

    def show(self) -> LiveFigure:
        from IPython.display import display

        self._handle = display(self._bundle(), raw=True, display_id=True)
        return self

    def update(self, figure: Any) -> None:
        self.figure = figure
        if self._handle is not None:
            self._handle.update(self._bundle(), raw=True)


_OBJECTIVES = (("sharpe", "walk-forward Sharpe"), ("max_drawdown", "max drawdown"),
               ("consistency", "consistency"))


def _index(bars: Bars, start: int = 0, end: int | None = None) -> Any:
    """Bar open times as tz-naive UTC datetimes (numpy datetime64[ms])."""
    return bars.ts[start:end].astype("datetime64[ms]")


def candles(bars: Bars, gaps: Sequence[Any] = (), title: str | None = None) -> Any:
    """Candlesticks, volume and funding (basis points per bar) of ``bars``; ``gaps`` shaded red.

    ``gaps`` are the store's ``Gap`` records, e.g. ``store.gaps(exchange, symbol, timeframe)``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x = _index(bars)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.6, 0.2, 0.2], vertical_spacing=0.03,
                        subplot_titles=("price", "volume", "funding (bp per bar)"))
    fig.add_trace(go.Candlestick(x=x, open=bars.open, high=bars.high, low=bars.low, close=bars.close,
                                 name=bars.symbol), row=1, col=1)
    fig.add_trace(go.Bar(x=x, y=bars.volume, name="volume", marker_color="#7f8c8d"), row=2, col=1)
    fig.add_trace(go.Bar(x=x, y=bars.funding * 1e4, name="funding", marker_color="#8e44ad"), row=3, col=1)
    for gap in gaps:
        start, end = _gap_bounds(gap)
        fig.add_vrect(x0=start, x1=end, fillcolor="red", opacity=0.2, line_width=0)
    fig.update_layout(title=title or f"{bars.exchange} {bars.symbol} {bars.timeframe}", showlegend=False,
                      xaxis_rangeslider_visible=False, height=650)
    return fig


def _gap_bounds(gap: Any) -> tuple[Any, Any]:
    """A store ``Gap`` (epoch ms ``start``/``end``) as datetimes."""
    return np.datetime64(int(gap.start), "ms"), np.datetime64(int(gap.end), "ms")


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Drawdown from the running peak as a positive fraction per bar (0.25 = 25% below the peak)."""
    equity = np.asarray(equity, dtype=np.float64)
    if equity.size == 0:
        return equity
    peak = np.maximum.accumulate(equity)
    return 1.0 - equity / peak


def equity_figure(bars: Bars, result: Any, benchmark: Any = None, title: str = "") -> Any:
    """Equity (against ``benchmark``, e.g. buy-and-hold), drawdown, and the trades on the price.

    ``result`` and ``benchmark`` are ``BacktestResult``s over the same window of ``bars``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    start, end = result.start, result.end
    x = _index(bars, start, end)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.45, 0.2, 0.35], vertical_spacing=0.03,
                        subplot_titles=("equity", "drawdown", "trades"))
    fig.add_trace(go.Scatter(x=x, y=result.equity, name="strategy", line_color="#2c7fb8"), row=1, col=1)
    if benchmark is not None:
        fig.add_trace(go.Scatter(x=x, y=benchmark.equity, name="buy and hold", line_color="#999999"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=-drawdown(result.equity), name="drawdown", fill="tozeroy",
                             line_color="#d7301f"), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=bars.close[start:end], name="close", line_color="#555555"), row=3, col=1)
    for side, color, symbol in (("long", "#1a9850", "triangle-up"), ("short", "#d73027", "triangle-down")):
        times, prices = _entries(bars, result.trades, side)
        fig.add_trace(go.Scatter(x=times, y=prices, mode="markers", name=f"{side} entry",
                                 marker=dict(color=color, symbol=symbol, size=9)), row=3, col=1)
    fig.update_layout(title=title, height=650, hovermode="x unified")
    return fig


def _entries(bars: Bars, trades: np.ndarray, side: str) -> tuple[Any, Any]:
    """Entry times and fill prices of the engine's trade records on ``side`` (long: units > 0)."""
    if trades is None or len(trades) == 0:
        return [], []
    mask = trades["units"] > 0 if side == "long" else trades["units"] < 0
    idx = trades["entry_idx"][mask].astype(np.int64)
    return bars.ts[idx].astype("datetime64[ms]"), trades["entry_price"][mask]


def generations_figure(history: Sequence[Any]) -> Any:
    """Best and median of each objective and the hypervolume, per generation (all stages in a row)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=4, subplot_titles=[t for _, t in _OBJECTIVES] + ["hypervolume"])
    steps = [h.step for h in history]
    for col, (key, label) in enumerate(_OBJECTIVES, start=1):
        fig.add_trace(go.Scatter(x=steps, y=[h.best[key] for h in history], name=f"best {label}",
                                 mode="lines+markers"), row=1, col=col)
        fig.add_trace(go.Scatter(x=steps, y=[h.median[key] for h in history], name=f"median {label}",
                                 line=dict(dash="dot")), row=1, col=col)
    fig.add_trace(go.Scatter(x=steps, y=[h.hypervolume for h in history], name="hypervolume",
                             mode="lines+markers"), row=1, col=4)
    for h in history:
        if h.generation == 0 and h.step > 0:
            fig.add_vline(x=h.step - 0.5, line_dash="dash", line_color="#aaaaaa")
    fig.update_layout(height=320, showlegend=False, title="per generation (dashed line: next stage)")
    return fig


def front_rows(front: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per front member: objectives, deflated Sharpe, hold-out figures, modules. The
    hold-out's are the basket's as ``gaorg evolve`` prints them and the gates count them (Sharpe
    and return mean, max drawdown worst, trades total), not per-asset means."""
    rows = []
    for i, m in enumerate(front):
        held = m.holdout_summary()
        rows.append({
            "#": i, "hash": m.genome_hash[:10], "modules": " + ".join(m.genome.modules),
            "sharpe": m.sharpe, "max_drawdown": m.max_drawdown, "consistency": m.consistency,
            "deflated_sharpe": m.deflated_sharpe, "holdout_sharpe": held["sharpe"],
            "holdout_max_drawdown": held["max_drawdown"], "holdout_return": held["total_return"],
            "holdout_trades": held["trades"], "stage": m.timeframe,
        })
    return rows


def pareto_figure(front: Sequence[Any], widget: bool = False) -> Any:
    """Sharpe against max drawdown, coloured by consistency; ``widget=True`` gives a FigureWidget."""
    import plotly.graph_objects as go

    rows = front_rows(front)
    trace = go.Scatter(
        x=[r["max_drawdown"] for r in rows], y=[r["sharpe"] for r in rows], mode="markers",
        customdata=[r["#"] for r in rows], text=[f"#{r['#']} {r['modules']}" for r in rows],
        marker=dict(size=12, color=[r["consistency"] for r in rows], colorscale="Viridis", showscale=True,
                    colorbar=dict(title="consistency")),
        hovertemplate="%{text}<br>Sharpe %{y:.2f}, drawdown %{x:.1%}<extra></extra>", name="front",
    )
    layout = dict(title="Pareto front (click a point for its equity)", xaxis_title="max drawdown",
                  yaxis_title="walk-forward Sharpe", height=420)
    return go.FigureWidget(data=[trace], layout=layout) if widget else go.Figure(data=[trace], layout=layout)


class ParetoExplorer:
    """The front and one equity curve side by side; clicking a point shows that member's equity.

    ``equity_of(i)`` returns ``(x, y)`` of member ``i``'s equity (e.g. on the hold-out slice).
    Use ``explorer.widget`` in a notebook; :meth:`select` is what a click calls.
    """

    def __init__(self, front: Sequence[Any], equity_of: Callable[[int], tuple[Any, Any]]) -> None:
        import plotly.graph_objects as go

        self.front = list(front)
        self.equity_of = equity_of
        self.front_fig = pareto_figure(self.front, widget=True)
        self.equity_fig = go.FigureWidget(data=[go.Scatter(x=[], y=[], name="equity")],
                                          layout=dict(title="equity", height=420))
        self.selected: int | None = None
        self.front_fig.data[0].on_click(self._clicked)
        if self.front:
            self.select(0)

    def _clicked(self, trace: Any, points: Any, state: Any) -> None:
        if points.point_inds:
            self.select(int(points.point_inds[0]))

    def select(self, i: int) -> None:
        """Draw member ``i``'s equity curve and highlight its point."""
        x, y = self.equity_of(i)
        member = self.front[i]
        with self.equity_fig.batch_update():
            self.equity_fig.data[0].x, self.equity_fig.data[0].y = x, y
            self.equity_fig.layout.title = f"#{i} {' + '.join(member.genome.modules)}"
        sizes = [12] * len(self.front)
        sizes[i] = 22
        self.front_fig.data[0].marker.size = sizes
        self.selected = i

    @property
    def widget(self) -> Any:
        import ipywidgets

        return ipywidgets.HBox([self.front_fig, self.equity_fig])

    def snapshot(self) -> Any:
        """The front and the selected member's equity as one static figure (what an export shows)."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=1, cols=2, subplot_titles=(self.front_fig.layout.title.text,
                                                             self.equity_fig.layout.title.text))
        fig.add_trace(go.Scatter(self.front_fig.data[0]), row=1, col=1)
        fig.add_trace(go.Scatter(self.equity_fig.data[0]), row=1, col=2)
        fig.update_layout(height=420, showlegend=False)
        fig.update_xaxes(title_text="max drawdown", row=1, col=1)
        fig.update_yaxes(title_text="walk-forward Sharpe", row=1, col=1)
        return fig

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The clickable widget, with a static copy as HTML for where no widget manager runs.

        JupyterLab draws the widget; an exported notebook without widget state (gaorg's runs store
        none) falls back to the HTML, which needs :func:`offline_figures` run first in the kernel.
        """
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = _figure_html(self.snapshot())
        return bundle


def correlation_figure(returns: Mapping[str, np.ndarray]) -> Any:
    """Heatmap of the correlation of per-bar returns between candidates (same window)."""
    import plotly.graph_objects as go

    labels = list(returns)
    corr = correlation(returns)
    return go.Figure(go.Heatmap(z=corr, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu",
                                text=np.round(corr, 2), texttemplate="%{text}"),
                     layout=dict(title="correlation of returns", height=400))


def correlation(returns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Correlation matrix of equal-length return series (a flat series correlates 0 with others)."""
    data = np.vstack([np.asarray(r, dtype=np.float64) for r in returns.values()])
    std = data.std(axis=1)
    flat = std == 0
    data = data.copy()
    data[flat] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(data) if len(data) > 1 else np.ones((1, 1))
    corr = np.nan_to_num(corr, nan=0.0)
    np.fill_diagonal(corr, 1.0)
    return corr
