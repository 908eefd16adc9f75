"""The nightly pipeline's configuration: a YAML file read once into typed, frozen configs.

``pipelines/nightly.yaml`` (see docs/nightly.md) becomes a :class:`NightlyConfig` of
:class:`UniverseConfig` s, each with its :class:`FetchConfig`; unknown keys, bad rules, bad
search settings and model names MLflow refuses are refused at load, naming the universe, before
anything runs. The pipeline itself is :mod:`gaorg.nightly`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaorg.config import parse_config
from gaorg.errors import ConfigError

DEFAULT_CONFIG = Path("pipelines") / "nightly.yaml"


def default_notebook() -> Path:
    """``notebooks/03_evolve.ipynb`` of the source tree gaorg runs from."""
    return Path(__file__).resolve().parents[1] / "notebooks" / "03_evolve.ipynb"


@dataclass(frozen=True)
class FetchConfig:
    """How a universe gets new bars: from its ``exchange`` (ccxt), unless ``enabled`` is false.

    ``timeframe`` defaults to the universe's finest stage; ``api_url`` sends requests elsewhere
    (a proxy, a stand-in exchange in tests); ``retries``/``backoff`` bound the wait on faults;
    ``rate_limit_ms`` overrides ccxt's throttle (ms a unit of request weight) as ``gaorg data fetch``'s does.
    """

    enabled: bool = True
    timeframe: str | None = None
    api_url: str | None = None
    testnet: bool = False
    retries: int = 3
    backoff: float = 1.0
    timeout_ms: int | None = None
    rate_limit_ms: float | None = None

    def __post_init__(self) -> None:
        if self.rate_limit_ms is not None and self.rate_limit_ms < 0:
            raise ValueError(f"rate_limit_ms {self.rate_limit_ms} cannot be negative (0: no throttle)")


@dataclass(frozen=True)
class UniverseConfig:
    """One universe: a basket evolved together and registered as model ``register``; the basket is
    ``symbols``, or a rule (``universe``, ``min_history``, ``top``: :func:`gaorg.evolve.rule.rule_of`)
    the notebook resolves once."""

    name: str
    symbols: tuple[str, ...] = ()
    exchange: str | None = None
    universe: str | None = None
    min_history: str | None = None
    top: int | None = None
    timeframes: tuple[str, ...] = ("4h", "1h")
    population: int = 64
    generations: int = 10
    seed: int = 0
    folds: int = 4
    holdout: float = 0.2
    register: str = ""
    top_k: int = 5
    parsimony: float | None = None  # EvolveConfig.parsimony (None: its default)
    reject_below: float | None = 0.0  # EvolveConfig's default (None: score every genome on every asset)
    initial_factor: float = 2.0  # EvolveConfig's default
    pipelined: bool = False  # EvolveConfig.pipelined: each half generation bred while the one before is evaluated
    fetch: FetchConfig = FetchConfig()

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "/\\ "):
            raise ValueError(f"name: {self.name!r} must be a non-empty word (it names files), e.g. majors")
        from gaorg.evolve.config import EvolveConfig

        search = {"reject_below": self.reject_below, "initial_factor": self.initial_factor,
                  "pipelined": self.pipelined}
        if self.parsimony is not None:
            search["parsimony"] = self.parsimony
        try:  # a bad rule or search setting fails here, at load, with the run's own checks
            self.rule  # noqa: B018
            EvolveConfig(symbols=("-",), **search)
        except ConfigError as exc:
            raise ValueError(f"universe {self.name}: {exc}") from None
        if not self.symbols and self.universe is None:
            raise ValueError(f"universe {self.name}: symbols is empty; list at least one symbol (or a universe rule)")
        from gaorg.errors import InputError
        from gaorg.tracking.registry import check_model_name

        try:  # a name MLflow refuses fails here, at load, not at the end of the universe's run
            check_model_name(self.model, "register")
        except InputError as exc:
            raise ValueError(f"universe {self.name}: {exc}") from None

    @functools.cached_property
    def rule(self) -> Any:
        """The basket's :class:`gaorg.evolve.rule.BasketRule` (None: the basket is ``symbols``)."""
        from gaorg.evolve.rule import rule_of

        return rule_of(self.universe, self.min_history, self.top, symbols=self.symbols, exchange=self.exchange)

    @property
    def store_exchange(self) -> str | None:
        """The exchange name the store keeps this universe's bars under: ``EXCHANGE-testnet`` when
        ``fetch.testnet`` (as ``gaorg data fetch --testnet`` stores them), so the evolution reads
        the bars its fetch wrote, never the main exchange's."""
        source = self.exchange or (self.rule.exchange if self.rule else None)
        return f"{source}-testnet" if source and self.fetch.testnet else source

    @property
    def model(self) -> str:
        """The registered model name (``register``, default ``gaorg-NAME``)."""
        return self.register or f"gaorg-{self.name}"

    def notebook_parameters(self, config: NightlyConfig, output_dir: Path) -> dict[str, Any]:
        """The papermill parameters of ``03_evolve`` for this universe."""
        rule = self.rule
        return {
            "symbols": list(self.symbols), "timeframes": list(self.timeframes),
            "exchange": None if rule else self.store_exchange,
            "universe": f"{self.store_exchange}:{rule.kind}" if rule else None,
            "min_history": self.min_history, "top": self.top,
            "population": self.population, "generations": self.generations, "seed": self.seed,
            "folds": self.folds, "holdout": self.holdout, "scheduler": config.scheduler,
            "workers": config.workers, "register": self.model, "top_k": self.top_k,
            "parsimony": self.parsimony, "reject_below": self.reject_below,
            "initial_factor": self.initial_factor, "pipelined": self.pipelined, "output_dir": str(output_dir),
        }


@dataclass(frozen=True)
class NightlyConfig:
    """The whole nightly run. Relative paths resolve against the config file's directory.

    - ``universes``: run in order, each on its own (a failure does not stop the next).
    - ``notebook``: the evolve notebook (default: ``notebooks/03_evolve.ipynb``).
    - ``scheduler``/``workers``: the Dask cluster every universe uses (None: a LocalCluster).
    - ``promote``: run the promotion gates on each universe's best candidate (never ``--force``).
    - ``cell_timeout``: seconds one notebook cell may run before it is stopped.
    """

    universes: tuple[UniverseConfig, ...]
    notebook: Path | None = None
    scheduler: str | None = None
    workers: int | None = None
    promote: bool = False
    cell_timeout: float = 4 * 3600.0
    kernel: str = "python3"

    def __post_init__(self) -> None:
        if not self.universes:
            raise ValueError("universes: give at least one universe (name, symbols)")
        names = [u.name for u in self.universes]
        if len(set(names)) != len(names):
            raise ValueError(f"universes: names must be unique, got {', '.join(names)}")


def load_config(path: str | Path) -> NightlyConfig:
    """Read and check a nightly YAML file (ConfigError names the file and the bad key)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no nightly config at {path}; pass --config FILE "
                          f"(an example is pipelines/nightly.yaml, see docs/nightly.md)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    config = parse_config(NightlyConfig, data, str(path))
    notebook = config.notebook or default_notebook()
    if not notebook.is_absolute():
        notebook = (path.parent / notebook).resolve()
    if not notebook.exists():
        raise ConfigError(f"{path}: notebook {notebook} does not exist")
    return dataclasses.replace(config, notebook=notebook)
