"""MLflow tracking: runs, the model registry, promotion gates and the safe genome loader."""
