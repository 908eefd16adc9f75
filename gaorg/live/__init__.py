"""The live path: runner, executor, risk gate, brokers (paper and ccxt) and crash-safe state."""
