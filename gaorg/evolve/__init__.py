"""Hierarchical multi-objective evolution (DEAP NSGA-II) of genomes, Dask-parallel.

Light entry points (DEAP, Dask and numba load only when a run starts)::

    from gaorg.evolve.config import EvolveConfig        # typed, frozen settings of a run
    from gaorg.evolve.run import evolve                 # the run: stages, hold-out, DSR, PBO
    from gaorg.evolve.result import EvolutionResult     # what it returns (frozen, picklable)
    from gaorg.evolve.parallel import open_client       # a LocalCluster, or join a scheduler

Pieces: ``operators`` (mutation, crossover), ``selection`` (NSGA-II over frozen individuals),
``folds`` (walk-forward and hold-out), ``fitness`` (the engine's fold statistics), ``stats``
(deflated Sharpe, PBO by CSCV, hypervolume), ``loop`` (one stage over toolbox aliases),
``checkpoint`` (atomic save and verified resume), ``basket`` (series from bars or the store).
"""
