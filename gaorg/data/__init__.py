"""Market data: a DuckDB store of validated OHLCV and funding, its sources and resampling."""
