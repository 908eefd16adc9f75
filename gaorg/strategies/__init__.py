"""Strategies as genomes: the catalogue of the 12 seed families, validation, composition.

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
