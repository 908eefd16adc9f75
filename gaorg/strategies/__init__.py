"""Strategies as genomes: the catalogue of the 12 seed families, validation, composition.

Roles (``spec.py``): entries (EMA crossover, Donchian breakout, stochastic, Ichimoku, VWAP
reversion, funding-rate carry, and the learned linear SVC and PCA + tree), filters (RSI,
SMA trend), an exit (ATR stop-loss) and a sizing (volatility scaling). Kernels live in
``indicators.py`` (rolling building blocks) and ``signals.py`` (fused entries); the learned
modules share ``learned.py`` (features, walk-forward refits). ``catalogue.format_catalogue()``
lists every module and gene.

Light entry points (numba-compiled code loads only when targets are computed)::

    from gaorg.strategies.genome import parse_genome, load_genome, save_genome, Genome
    from gaorg.strategies.compose import targets
    from gaorg.strategies.catalogue import CATALOGUE
    from gaorg.strategies import random_genome   # (lazy) gaorg.strategies.sampling.random_genome
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "random_genome":  # lazy: the catalogue loads numba
        from gaorg.strategies.sampling import random_genome

        return random_genome
    raise AttributeError(f"module 'gaorg.strategies' has no attribute {name!r}")
