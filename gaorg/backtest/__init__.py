"""The backtest engine: a numba kernel of DESIGN.md's contract, and the metrics of a run."""
