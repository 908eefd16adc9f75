"""Discovery: how often the whole path finds a planted edge (power) and promotes noise (false discoveries).

One *run* is what a researcher does: a seeded market is written to the store, evolved (hierarchical
stages, walk-forward folds, a hold-out), the front registered in MLflow, and the registered versions
gated best first, the first to pass promoted (:func:`~gaorg.tracking.promote.promote_first_passing`,
as the demo does). Then every candidate trades a fresh continuation of the same process that nothing
has seen, beside the planted rule itself (the *oracle*, same costs).

- A planted run is a **discovery** when it promotes a strategy whose fresh Sharpe (mean over the
  basket) is at least half the oracle's. **Power** is the share of planted runs that discover.
- A null run (a random walk, random walks correlated 0.8 as crypto assets are, a bootstrap of real
  returns with no edge, or a planted edge that stops where the hold-out starts) promotes anything:
  a **false discovery**. **FDR** here is their share: the issue's name for what is, per run, a
  false-positive rate (the share of promotions that are false is reported beside it).

:func:`run_discovery` runs one cell (market kind × edge strength × basket) over seeds;
:func:`summarise` makes the table; :func:`gate_curve` replays the gates at other thresholds on the
recorded candidates (no re-run), which is how the power / false-discovery trade-off is drawn.
``tests/bench/bench_discovery.py`` runs the figures of record.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gaorg.config import Settings

PLANTED_KINDS = ("trend", "reversion", "breakout")
NULL_KINDS = ("walk", "bootstrap", "decay", "corrwalk")
STRENGTHS = (0.001, 0.0015, 0.0025)
"""Planted edges per bar (in 1% noise); the demo's is 0.0015."""


@dataclass(frozen=True)
class Cell:
    """A market kind, its edge per bar (0 for walk and bootstrap) and the basket size."""

    kind: str
    edge: float
    assets: int

    @property
    def null(self) -> bool:
        return self.kind in NULL_KINDS

    @property
    def label(self) -> str:
        return f"{self.kind} edge {self.edge:g} x{self.assets}" if self.edge else f"{self.kind} x{self.assets}"


@dataclass(frozen=True)
class Setup:
    """The run's sizes: the demo's evolution on ``bars`` stored bars, then ``fresh`` unseen ones."""

    bars: int = 4000
    fresh: int = 4000
    sigma: float = 0.01
    timeframes: tuple[str, ...] = ("4h", "1h")
    population: int = 24
    generations: int = 3
    folds: int = 3
    holdout: float = 0.2
    top_k: int = 5
    parsimony: float | None = None  # EvolveConfig.parsimony of the evolution (None: its default)
    pipelined: bool = False  # EvolveConfig.pipelined of the evolution


@dataclass(frozen=True)
class Candidate:
    """A registered version's gate figures (as recorded) and its Sharpe on the fresh continuation."""

    version: str
    modules: str
    deflated_sharpe: float
    holdout_dsr: float
    holdout_sharpe: float
    holdout_max_drawdown: float
    holdout_trades: float
    fresh_sharpe: float


@dataclass(frozen=True)
class RunRecord:
    """One run: its cell and seed, what was promoted, and whether that was a discovery."""

    kind: str
    edge: float
    assets: int
    seed: int
    promoted: str | None
    discovered: bool
    fresh_sharpe: float
    oracle_sharpe: float
    evaluations: int
    trials: int
    seconds: float
    candidates: tuple[Candidate, ...] = field(default=())

    @property
    def cell(self) -> Cell:
        return Cell(self.kind, self.edge, self.assets)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        return cls(**{**data, "candidates": tuple(Candidate(**c) for c in data.get("candidates", ()))})


def cells(strengths: Sequence[float] = STRENGTHS, baskets: Sequence[int] = (1, 3)) -> list[Cell]:
    """Every planted kind at every strength, and every null kind, on each basket size."""
    out = [Cell(k, e, a) for a in baskets for k in PLANTED_KINDS for e in strengths]
    out += [Cell(k, 0.0015 if k == "decay" else 0.0, a) for a in baskets for k in NULL_KINDS
            if k != "corrwalk" or a > 1]
    return out


def markets(cell: Cell, seed: int, setup: Setup, prefix: str) -> list[Any]:
    """The cell's seeded series (stored part + fresh continuation), one per basket asset.

    The trend market keeps the demo's mild pull of the price back to its start (``revert``), which
    is itself a little predictable; the decay null has none, so after its stop it is a pure walk.
    """
    from gaorg.data.planted import correlated_walks, planted_market
    from gaorg.evolve.folds import holdout_start

    if cell.kind == "corrwalk":
        return correlated_walks([f"{prefix}-{i}" for i in range(cell.assets)], setup.bars + setup.fresh,
                                rho=0.8, sigma=setup.sigma, seed=seed * 1000, timeframe=setup.timeframes[-1])
    out = []
    for i in range(cell.assets):
        kind = "trend" if cell.kind == "decay" else cell.kind
        until = holdout_start(setup.bars, setup.holdout) if cell.kind == "decay" else None
        out.append(planted_market(kind, f"{prefix}-{i}", setup.bars + setup.fresh, edge=cell.edge,
                                  sigma=setup.sigma, seed=seed * 1000 + i, timeframe=setup.timeframes[-1],
                                  revert=0.005 if cell.kind == "trend" else 0.0, edge_until=until))
    return out


def run_one(settings: Settings, cell: Cell, seed: int, setup: Setup = Setup(), gates: Any = None) -> RunRecord:
    """Store, evolve, register, gate and promote on one seeded market; score on its fresh continuation."""
    from gaorg.backtest.run import backtest, backtest_genome
    from gaorg.data.store import open_store
    from gaorg.evolve.run import costs_of
    from gaorg.evolve.stats import deflated_sharpe_of
    from gaorg.research.evolution import run_evolution
    from gaorg.research.params import EvolveParams
    from gaorg.tracking.promote import Gates, promote_first_passing

    gates = gates or Gates()
    prefix = f"{cell.kind[:3].upper()}{int(round(cell.edge * 1e4)):02d}X{cell.assets}S{seed}"
    series = markets(cell, seed, setup, prefix)
    with open_store(settings) as store:
        for m in series:
            b = m.head(setup.bars)
            store.write_bars(b.exchange, b.symbol, b.timeframe, b.columns())
    params = EvolveParams(symbols=tuple(m.bars.symbol for m in series), timeframes=setup.timeframes,
                          exchange="synthetic", population=setup.population, generations=setup.generations,
                          seed=seed, folds=setup.folds, holdout=setup.holdout, workers=0,
                          register=f"disc-{prefix}".lower(), top_k=setup.top_k, parsimony=setup.parsimony,
                          pipelined=setup.pipelined)
    start = time.perf_counter()
    evo = run_evolution(settings, params, progress=False)
    _, promoted = promote_first_passing(params.register, evo.versions, settings, gates, reason="discovery")
    seconds = time.perf_counter() - start
    costs = costs_of(params.evolve_config())
    oracle = float(np.mean([backtest(m.bars, m.oracle, costs, start=setup.bars).metrics["sharpe"]
                            for m in series]))
    candidates = []
    for version, member in zip(evo.versions, evo.result.front, strict=False):
        fresh = float(np.mean([backtest_genome(member.genome, m.bars, costs, start=setup.bars).metrics["sharpe"]
                               for m in series]))
        per_asset = member.holdout_per_asset.values()
        candidates.append(Candidate(
            str(version), "+".join(member.genome.modules), member.deflated_sharpe,
            deflated_sharpe_of(member.holdout_sums, len(evo.versions)), member.holdout.get("sharpe", math.nan),
            max((m["max_drawdown"] for m in per_asset), default=math.nan),
            float(sum(m["trades"] for m in per_asset)), fresh))
    chosen = next((c for c in candidates if c.version == promoted), None)
    fresh_sharpe = chosen.fresh_sharpe if chosen else math.nan
    discovered = chosen is not None and not cell.null and fresh_sharpe >= 0.5 * oracle
    return RunRecord(cell.kind, cell.edge, cell.assets, seed, promoted, discovered, fresh_sharpe, oracle,
                     int(sum(s.evaluations for s in evo.result.stages)), int(evo.result.trials), seconds,
                     tuple(candidates))


def oracle_ceiling(cell: Cell, seed: int, setup: Setup = Setup()) -> tuple[float, float]:
    """The planted rule's own hold-out Sharpe and hold-out deflated Sharpe (among ``top_k`` candidates).

    What the hold-out can show of the edge at all: a search that found the planted rule exactly
    would still fail the hold-out gate when this fails, so the share of seeds where it passes is
    the ceiling of power for this cell and these sizes (the hold-out's length sets it).
    """
    from gaorg.backtest.run import backtest
    from gaorg.evolve.config import EvolveConfig
    from gaorg.evolve.folds import holdout_start
    from gaorg.evolve.run import costs_of
    from gaorg.evolve.stats import deflated_sharpe_of, design_effect, return_sums

    series = markets(cell, seed, setup, "ORACLE")
    costs = costs_of(EvolveConfig(symbols=tuple(m.bars.symbol for m in series)))
    start = holdout_start(setup.bars, setup.holdout)
    sums, sharpes, held = np.zeros(5), [], []
    for m in series:
        head = m.head(setup.bars)
        result = backtest(head, m.oracle[: setup.bars], costs, start=start)
        sums += return_sums(result.equity)
        sharpes.append(float(result.metrics["sharpe"]))
        held.append((head.ts[start:], head.close[start:]))
    return float(np.mean(sharpes)), deflated_sharpe_of(sums / design_effect(held), setup.top_k)


def run_discovery(settings: Settings, cell: Cell, seeds: Iterable[int], setup: Setup = Setup(),
                  gates: Any = None) -> list[RunRecord]:
    """:func:`run_one` for each seed."""
    return [run_one(settings, cell, seed, setup, gates) for seed in seeds]


def passes(c: Candidate, dsr: float = 0.95, holdout_dsr: float = 0.95, gates: Any = None) -> bool:
    """Whether ``c`` passes the default gates (first champion), with the two DSR thresholds given."""
    from gaorg.tracking.promote import Gates

    g = gates or Gates()
    return (c.holdout_sharpe > g.min_holdout_sharpe and c.deflated_sharpe >= dsr and c.holdout_dsr >= holdout_dsr
            and c.holdout_max_drawdown <= g.max_drawdown and c.holdout_trades >= g.min_trades)


def replay(record: RunRecord, dsr: float = 0.95, holdout_dsr: float = 0.95) -> tuple[str | None, bool]:
    """The version the gates would promote at these thresholds, and whether that is a discovery."""
    for c in record.candidates:
        if passes(c, dsr, holdout_dsr):
            return c.version, (not record.cell.null) and c.fresh_sharpe >= 0.5 * record.oracle_sharpe
    return None, False


def summarise(records: Sequence[RunRecord], ceiling: Any = None) -> list[dict[str, Any]]:
    """One row per cell: runs, promotions, power (planted) or FDR (null), evaluations, seconds.

    ``ceiling(cell, seed) -> bool`` (e.g. the planted rule passing the hold-out gate, from
    :func:`oracle_ceiling`) adds the share of each planted cell's runs where it holds.
    """
    rows = []
    for cell in dict.fromkeys(r.cell for r in records):
        rs = [r for r in records if r.cell == cell]
        promoted = sum(r.promoted is not None for r in rs)
        rows.append({
            "cell": cell.label, "kind": cell.kind, "edge": cell.edge, "assets": cell.assets, "runs": len(rs),
            "promoted": promoted, "discoveries": sum(r.discovered for r in rs),
            "power": None if cell.null else sum(r.discovered for r in rs) / len(rs),
            "fdr": promoted / len(rs) if cell.null else None,
            "oracle_sharpe": float(np.mean([r.oracle_sharpe for r in rs])),
            "evaluations": float(np.mean([r.evaluations for r in rs])),
            "trials": float(np.mean([r.trials for r in rs])),
            "seconds": float(np.mean([r.seconds for r in rs])),
            "ceiling": None if cell.null or ceiling is None else sum(bool(ceiling(cell, r.seed)) for r in rs) / len(rs),
        })
    return rows


def gate_curve(records: Sequence[RunRecord], thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """Power per planted strength and FDR per null kind, with both DSR gates at each threshold."""
    out = []
    for t in thresholds:
        row: dict[str, Any] = {"threshold": float(t)}
        for kind in NULL_KINDS:
            rs = [r for r in records if r.kind == kind]
            if rs:
                row[f"fdr {kind}"] = sum(replay(r, t, t)[0] is not None for r in rs) / len(rs)
        for edge in sorted({r.edge for r in records if not r.cell.null}):
            rs = [r for r in records if not r.cell.null and r.edge == edge]
            row[f"power {edge:g}"] = sum(replay(r, t, t)[1] for r in rs) / len(rs)
        out.append(row)
    return out


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The summary as a Markdown table."""
    lines = ["| cell | runs | promoted | power | FDR | oracle Sharpe | planted rule passes hold-out gate "
             "| evaluations | trials | s/run |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        power = "" if r["power"] is None else f"{r['power']:.0%} ({r['discoveries']}/{r['runs']})"
        fdr = "" if r["fdr"] is None else f"{r['fdr']:.0%} ({r['promoted']}/{r['runs']})"
        ceiling = "" if r.get("ceiling") is None else f"{r['ceiling']:.0%}"
        lines.append(f"| {r['cell']} | {r['runs']} | {r['promoted']} | {power} | {fdr} | {r['oracle_sharpe']:.2f} "
                     f"| {ceiling} | {r['evaluations']:.0f} | {r['trials']:.0f} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def curve_figure(curve: Sequence[dict[str, Any]]) -> Any:
    """A plotly figure: gate threshold (both DSR gates) against power and FDR."""
    import plotly.graph_objects as go

    fig = go.Figure()
    x = [row["threshold"] for row in curve]
    for key in (k for k in curve[0] if k != "threshold"):
        dash = "dot" if key.startswith("fdr") else "solid"
        fig.add_trace(go.Scatter(x=x, y=[row[key] for row in curve], name=key, mode="lines+markers",
                                 line={"dash": dash}))
    fig.add_hline(y=0.05, line_dash="dash", line_color="grey", annotation_text="FDR goal 5%")
    fig.add_hline(y=0.8, line_dash="dash", line_color="grey", annotation_text="power goal 80%")
    fig.update_layout(title="Promotion gates: power and false discoveries against the DSR threshold",
                      xaxis_title="deflated Sharpe threshold (walk-forward and hold-out gates)",
                      yaxis_title="share of runs", yaxis_range=[-0.02, 1.02], template="plotly_white")
    return fig
