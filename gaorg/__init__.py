"""gaorg: crypto trading strategies discovered by a multi-objective genetic algorithm.

The package root stays light (``import gaorg`` loads no numba, pandas, MLflow, Dask or ccxt):
each domain package imports its heavy libraries where it uses them.

Domains: ``gaorg.data`` (market data in DuckDB), ``gaorg.strategies`` (genomes, the 12 seed
families), ``gaorg.backtest`` (numba engine, metrics), ``gaorg.evolve`` (NSGA-II, Dask),
``gaorg.tracking`` (MLflow runs, registry, promotion), ``gaorg.live`` (runner, executor, risk,
brokers), ``gaorg.monitor`` (Prometheus metrics, operator API).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
