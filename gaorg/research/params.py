"""Typed parameters of the notebooks, checked in the first cell after the ``parameters`` cell.

papermill injects parameters as Python literals; :func:`notebook_params` builds the notebook's
frozen dataclass from them with :func:`gaorg.config.parse_config`, so a wrong type fails at once
with the parameter's name, and :func:`check_symbols` turns an unknown symbol into a clear
error naming what the store holds. :func:`write_record` leaves a JSON record of what the
notebook used and produced in ``output_dir`` (the nightly pipeline and the tests read it).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gaorg.config import Settings, parse_config
from gaorg.errors import ConfigError, NotFoundError

T = TypeVar("T")


@dataclass(frozen=True)
class ExplorerParams:
    """``01_data_explorer``: one series, an optional time range, the resampled views to show."""

    symbol: str = "SYNTH-BTC"
    timeframe: str = "1h"
    exchange: str | None = None
    start: str | None = None
    end: str | None = None
    resample_to: tuple[str, ...] = ("4h", "1d")
    output_dir: str = ""


@dataclass(frozen=True)
class LabParams:
    """``02_strategy_lab``: a series and a genome (a file, or built from the named modules)."""

    symbol: str = "SYNTH-BTC"
    timeframe: str = "1h"
    exchange: str | None = None
    genome_file: str = ""
    entry: str = "ema_crossover"
    filters: tuple[str, ...] = ()
    fee: float | None = None
    slippage: float = 0.0
    output_dir: str = ""


@dataclass(frozen=True)
class EvolveParams:
    """``03_evolve``: the run (basket, stages, sizes, seed, cluster) and the model to register.

    The basket is ``symbols``, or a rule (``universe``, with ``min_history`` and ``top``) as
    ``gaorg evolve --universe`` takes it: checked here, resolved once by :meth:`basket`. A rule
    replaces ``symbols`` (the notebook's default basket cannot be told from a chosen one).
    """

    symbols: tuple[str, ...] = ("SYNTH-BTC", "SYNTH-ETH")
    timeframes: tuple[str, ...] = ("4h", "1h")
    exchange: str | None = None
    universe: str | None = None
    min_history: str | None = None
    top: int | None = None
    population: int = 32
    generations: int = 4
    seed: int = 0
    folds: int = 3
    holdout: float = 0.2
    scheduler: str | None = None
    workers: int | None = None
    register: str = ""
    top_k: int = 5
    output_dir: str = ""
    parsimony: float | None = None  # EvolveConfig.parsimony (None: its default)
    reject_below: float | None = 0.0  # EvolveConfig's default; None scores every genome on every asset
    initial_factor: float = 2.0  # EvolveConfig's default
    pipelined: bool = False  # EvolveConfig.pipelined: each half generation bred while the one before is evaluated

    def __post_init__(self) -> None:
        if self.universe is not None:
            object.__setattr__(self, "symbols", ())
        self.rule  # noqa: B018 - a bad rule fails here, at the edge
        if self.register:  # a name MLflow refuses fails here, not after the run
            from gaorg.errors import InputError
            from gaorg.tracking.registry import check_model_name

            try:
                check_model_name(self.register, "register")
            except InputError as exc:
                raise ValueError(str(exc)) from None

    @functools.cached_property
    def rule(self) -> Any:
        """The :class:`gaorg.evolve.rule.BasketRule` of ``universe`` (None: the basket is ``symbols``)."""
        from gaorg.evolve.rule import rule_of

        return rule_of(self.universe, self.min_history, self.top, exchange=self.exchange)

    def basket(self, settings: Settings) -> Basket:
        """The basket, fixed now: ``symbols`` checked against the store, or the rule resolved once
        from it (at the finest stage, volume ranked before the hold-out) as ``gaorg evolve`` does."""
        if self.rule is None:
            return Basket(self.symbols, self.exchange, check_symbols(settings, self.symbols, self.exchange))
        from gaorg.data.store import open_store
        from gaorg.evolve.rule import resolve

        _need_store(settings)
        with open_store(settings, read_only=True) as store:
            found = resolve(store, self.rule, self.timeframes[-1], self.holdout, flags=False)
        return Basket(found.symbols, found.exchange, {s: found.exchange for s in found.symbols}, found.rule, found)

    def evolve_config(self, basket: Basket | None = None) -> Any:
        """The library's ``EvolveConfig`` for these parameters and ``basket`` (default: ``symbols``
        as given; a rule must be resolved first), its own checks applied."""
        from gaorg.evolve.config import EvolveConfig

        if basket is None:
            if self.rule is not None:
                raise ConfigError(f"universe {self.universe!r} is a rule: resolve it once with "
                                  "params.basket(settings) and pass that basket")
            basket = Basket(self.symbols, self.exchange, {})
        data = {k: getattr(self, k) for k in ("timeframes", "population", "generations",
                                                "seed", "folds", "holdout", "scheduler", "workers",
                                                "reject_below", "initial_factor", "pipelined")}
        data.update(symbols=basket.symbols, exchange=basket.exchange, universe=basket.universe)
        if self.parsimony is not None:
            data["parsimony"] = self.parsimony
        return parse_config(EvolveConfig, data, "notebook parameters")


@dataclass(frozen=True)
class Basket:
    """What a run evolves on: its symbols, each with the exchange that holds it, and the rule they
    were resolved from (``universe``, as the run records it; empty when named) with what the rule
    looked at (``resolution``: a :class:`gaorg.evolve.rule.Resolution`)."""

    symbols: tuple[str, ...]
    exchange: str | None
    held: Mapping[str, str]
    universe: str = ""
    resolution: Any = None

    def describe(self) -> str:
        if self.resolution is not None:
            return self.resolution.describe()
        return f"basket: {', '.join(self.symbols)}"

    def to_dict(self) -> dict[str, Any]:
        """As ``gaorg evolve --json`` reports its basket: symbols, exchange, universe (and what a rule looked at)."""
        out: dict[str, Any] = {"symbols": list(self.symbols), "exchange": self.exchange, "universe": self.universe}
        if self.resolution is not None:
            found = self.resolution.to_dict()
            out.update(volume_until=found["volume_until"], candidates=found["candidates"])
        return out


@dataclass(frozen=True)
class CompareParams:
    """``04_compare_promote``: a registered model, which versions, and whether to act."""

    model: str = "gaorg-demo"
    versions: tuple[int, ...] = ()
    symbol: str = ""
    timeframe: str = ""
    action: str = "none"
    version: int = 0
    reason: str = ""
    output_dir: str = ""

    def __post_init__(self) -> None:
        if self.action not in ("none", "promote", "rollback"):
            raise ValueError(f"action: {self.action!r} is not one of 'none', 'promote', 'rollback'")
        if self.action == "promote" and self.version < 1:
            raise ValueError("action 'promote' needs version: the registered version to promote (e.g. 3)")


def notebook_params(cls: type[T], namespace: Mapping[str, Any]) -> T:
    """Build ``cls`` from the notebook's globals: only its fields are read, each type-checked.

    Called as ``params = notebook_params(EvolveParams, globals())`` right after the parameters
    cell; a wrong type raises :class:`gaorg.errors.ConfigError` naming the parameter. MLflow's
    INFO lines and download bars are turned off for the kernel (:func:`gaorg.tracking.store.quiet_mlflow`).
    """
    from gaorg.tracking.store import quiet_mlflow

    quiet_mlflow()
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    data = {name: namespace[name] for name in names if name in namespace}
    return parse_config(cls, data, "notebook parameter")


def check_symbols(settings: Settings, symbols: tuple[str, ...] | list[str], exchange: str | None = None,
                  timeframe: str | None = None) -> dict[str, str]:
    """Map each symbol to the exchange that holds it; an unknown symbol is a NotFoundError.

    The message names the symbol and what the store holds, so a notebook (and the nightly
    summary that quotes it) says what to fix.
    """
    from gaorg.data.store import open_store

    _need_store(settings)
    out: dict[str, str] = {}
    with open_store(settings, read_only=True) as store:
        known = sorted({s.symbol for s in store.series()})
        held = {(s.exchange, s.symbol) for s in store.series()}
        for symbol in symbols:
            try:
                out[symbol] = store.resolve_exchange(symbol, exchange)
                if (out[symbol], symbol) not in held:
                    raise NotFoundError(f"no stored series of {symbol} on {out[symbol]}")
            except NotFoundError as exc:
                raise NotFoundError(f"notebook parameter symbols: unknown symbol {symbol!r}; the store holds "
                                    f"{', '.join(known) or 'nothing'} ({exc})") from None
    return out


def _need_store(settings: Settings) -> None:
    if not settings.market_db.exists():
        raise NotFoundError(f"no market store at {settings.market_db}; create one with `gaorg data synth` "
                            "or `gaorg data fetch` (GAORG_HOME is " f"{settings.home})")


RECORD = "record.json"


def write_record(output_dir: str | Path, name: str, params: Any, **produced: Any) -> Path | None:
    """Write ``output_dir/record.json``: notebook ``name``, the parameters used, the interpreter
    and what was produced.

    Nothing is written when ``output_dir`` is empty (an interactive session).
    """
    if not output_dir:
        return None
    path = Path(output_dir) / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"notebook": name, "params": plain(dataclasses.asdict(params)), "python": sys.executable,
              "prefix": sys.prefix, **plain(produced)}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str, allow_nan=False))
    tmp.replace(path)
    return path


def read_record(path: str | Path) -> dict[str, Any]:
    """Read a record written by :func:`write_record` (ConfigError when missing or malformed)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: the notebook wrote no record (did it run to the end?)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not a JSON record ({exc})") from None


def plain(value: Any) -> Any:
    """Tuples to lists and NaN to None, so records are strict JSON."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return plain(value.item())
    return value
