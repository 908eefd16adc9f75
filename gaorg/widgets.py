"""ipywidgets of the research notebooks (ipywidgets is imported when a widget is made).

- :class:`SeriesPicker`: exchange, symbol and timeframe dropdowns over what the store holds,
  and a date range.
- :class:`GenomeBuilder`: pick an entry and filters from the catalogue; one slider per gene,
  bounded by the gene's declared bounds (dropdowns for choices); ``genome()`` builds and
  validates the genome; ``on_change`` redraws whatever depends on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gaorg.strategies.catalogue import CATALOGUE, modules_for
from gaorg.strategies.genes import ChoiceGene, FloatGene, IntGene
from gaorg.strategies.spec import ModuleSpec, Role


class SeriesPicker:
    """Dropdowns over the store's series (``store.series()``); ``value`` is the chosen key."""

    def __init__(self, series: Sequence[Any], exchange: str | None = None, symbol: str | None = None,
                 timeframe: str | None = None) -> None:
        import ipywidgets as w

        if not series:
            from gaorg.errors import NotFoundError

            raise NotFoundError("the market store is empty; add series with `gaorg data synth` or `gaorg data fetch`")
        self.series = list(series)
        exchanges = sorted({s.exchange for s in self.series})
        if exchange not in exchanges:  # None: the exchange that holds ``symbol`` (else the first one)
            exchange = min((s.exchange for s in self.series if s.symbol == symbol), default=exchanges[0])
        self.exchange = w.Dropdown(description="exchange", options=exchanges, value=exchange)
        self.symbol = w.Dropdown(description="symbol")
        self.timeframe = w.Dropdown(description="timeframe")
        self.start = w.Text(description="start", placeholder="ISO date, blank: first bar")
        self.end = w.Text(description="end", placeholder="ISO date, blank: last bar")
        self._refresh_symbols(symbol)
        self._refresh_timeframes(timeframe)
        self.exchange.observe(lambda _: self._refresh_symbols(None), names="value")
        self.symbol.observe(lambda _: self._refresh_timeframes(None), names="value")
        self.widget = w.VBox([w.HBox([self.exchange, self.symbol, self.timeframe]), w.HBox([self.start, self.end])])

    def _refresh_symbols(self, prefer: str | None) -> None:
        symbols = sorted({s.symbol for s in self.series if s.exchange == self.exchange.value})
        self.symbol.options = symbols
        self.symbol.value = prefer if prefer in symbols else symbols[0]

    def _refresh_timeframes(self, prefer: str | None) -> None:
        tfs = sorted({s.timeframe for s in self.series
                      if s.exchange == self.exchange.value and s.symbol == self.symbol.value})
        self.timeframe.options = tfs
        if tfs:
            self.timeframe.value = prefer if prefer in tfs else tfs[0]

    @property
    def value(self) -> dict[str, Any]:
        """The chosen series and range: exchange, symbol, timeframe, start, end (None: open)."""
        return {"exchange": self.exchange.value, "symbol": self.symbol.value, "timeframe": self.timeframe.value,
                "start": self.start.value or None, "end": self.end.value or None}


def gene_control(gene: Any, value: Any = None) -> Any:
    """A slider within the gene's declared bounds (a dropdown for a choice), set to ``value``."""
    import ipywidgets as w

    style = {"description_width": "initial"}
    if isinstance(gene, IntGene):
        v = gene.low if value is None else value
        return w.IntSlider(description=gene.name, min=gene.low, max=gene.high, value=v, style=style,
                           tooltip=gene.doc, continuous_update=False)
    if isinstance(gene, FloatGene):
        v = (gene.low + gene.high) / 2 if value is None else value
        step = (gene.high - gene.low) / 100 or 0.01
        return w.FloatSlider(description=gene.name, min=gene.low, max=gene.high, value=v, step=step,
                             style=style, tooltip=gene.doc, continuous_update=False, readout_format=".4g")
    if isinstance(gene, ChoiceGene):
        return w.Dropdown(description=gene.name, options=list(gene.choices),
                          value=gene.choices[0] if value is None else value, style=style)
    raise TypeError(f"no widget for gene {gene!r}")


def default_params(spec: ModuleSpec) -> dict[str, Any]:
    """Starting values for a module's genes: mid-range floats, short periods, the first choice.

    Modules with a cross-gene rule (``spec.check``, e.g. fast < slow) get a valid combination.
    """
    params: dict[str, Any] = {}
    for g in spec.genes:
        if isinstance(g, IntGene):
            params[g.name] = g.low + (g.high - g.low) // 20
        elif isinstance(g, FloatGene):
            params[g.name] = g.canonical((g.low + g.high) / 2)
        else:
            params[g.name] = g.choices[0]
    if spec.check is not None and spec.check(params):
        import random

        rng = random.Random(0)
        for _ in range(1000):
            params = {g.name: g.sample(rng) for g in spec.genes}
            if not spec.check(params):
                break
    return params


class GenomeBuilder:
    """Build a genome from the catalogue with widgets: module pickers and per-gene sliders.

    ``params`` seeds the sliders (module name -> {gene: value}); :meth:`genome` validates the
    current choice; :meth:`on_change` registers a callback fired when any control changes.
    """

    def __init__(self, entry: str = "ema_crossover", filters: Sequence[str] = (),
                 params: Mapping[str, Mapping[str, Any]] | None = None,
                 catalogue: Mapping[str, ModuleSpec] = CATALOGUE) -> None:
        import ipywidgets as w

        self.catalogue = catalogue
        self._seed = {k: dict(v) for k, v in (params or {}).items()}
        self._callbacks: list[Callable[[GenomeBuilder], None]] = []
        self.entry = w.Dropdown(description="entry", options=list(modules_for(Role.ENTRY, catalogue)), value=entry)
        self.filters = w.SelectMultiple(description="filters", options=list(modules_for(Role.FILTER, catalogue)),
                                        value=tuple(filters))
        self.controls: dict[str, dict[str, Any]] = {}
        self.box = w.VBox()
        self.message = w.HTML()
        self._rebuild()
        self.entry.observe(lambda _: self._rebuild(), names="value")
        self.filters.observe(lambda _: self._rebuild(), names="value")
        self.widget = w.VBox([w.HBox([self.entry, self.filters]), self.box, self.message])

    def modules(self) -> list[str]:
        return [self.entry.value, *self.filters.value]

    def _rebuild(self) -> None:
        import ipywidgets as w

        self.controls = {}
        rows = []
        for name in self.modules():
            spec = self.catalogue[name]
            values = {**default_params(spec), **self._seed.get(name, {})}
            controls = {g.name: gene_control(g, values[g.name]) for g in spec.genes}
            for c in controls.values():
                c.observe(lambda _: self._changed(), names="value")
            self.controls[name] = controls
            rows.append(w.VBox([w.HTML(f"<b>{name}</b> <i>{spec.doc}</i>"), *controls.values()]))
        self.box.children = rows
        self._changed()

    def set_value(self, module: str, gene: str, value: Any) -> None:
        """Move one control (what a person does with the slider)."""
        self.controls[module][gene].value = value

    def params(self) -> dict[str, dict[str, Any]]:
        return {m: {g: c.value for g, c in controls.items()} for m, controls in self.controls.items()}

    def genome(self) -> Any:
        """The genome of the current choice, validated (GenomeError names the bad value)."""
        from gaorg.strategies.genome import make_genome

        p = self.params()
        return make_genome((self.entry.value, p[self.entry.value]),
                           filters=tuple((f, p[f]) for f in self.filters.value), catalogue=self.catalogue)

    def on_change(self, callback: Callable[[GenomeBuilder], None]) -> None:
        self._callbacks.append(callback)

    def _changed(self) -> None:
        from gaorg.errors import GenomeError

        try:
            self.genome()
        except GenomeError as exc:
            self.message.value = f"<span style='color:#c0392b'>{exc}</span>"
            return
        self.message.value = ""
        for callback in self._callbacks:
            callback(self)
