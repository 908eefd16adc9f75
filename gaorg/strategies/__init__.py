"""Strategies as genomes: the catalogue of the 12 seed families, validation, composition.

Light entry points (numba-compiled code loads only when targets are computed)::

    from gaorg.strategies.genome import parse_genome, load_genome, save_genome, Genome
    from gaorg.strategies.compose import targets
    from gaorg.strategies.catalogue import CATALOGUE
"""
