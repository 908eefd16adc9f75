"""Hierarchical multi-objective evolution (DEAP NSGA-II) of genomes, Dask-parallel."""
