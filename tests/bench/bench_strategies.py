"""Benchmark: time of one module compute and of compose.targets, warm, per catalogue module.

Run: .venv/bin/python tests/bench/bench_strategies.py [n_bars]
Rule-based modules on n_bars (default 100,000); the learned ones on 20,000 bars with their
costliest settings (refit every 250 bars, 2,000-sample window), their caches emptied before each
call (cold: a repeated call would only be a cache hit; bench_learned.py times the learned modules
against their reference). Compilation is reported apart.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gaorg.strategies import learned_cache  # noqa: E402
from gaorg.strategies.catalogue import CATALOGUE  # noqa: E402
from gaorg.strategies.compose import targets  # noqa: E402
from gaorg.strategies.genome import make_genome  # noqa: E402
from tests.unit.strategy_kit import random_bars  # noqa: E402

PARAMS = {
    "ema_crossover": {"fast": 12, "slow": 48, "direction": "both"},
    "donchian_breakout": {"period": 200, "direction": "both"},
    "stochastic": {"k_period": 14, "d_period": 3, "lower": 20.0, "upper": 80.0, "direction": "both"},
    "ichimoku": {"tenkan": 9, "kijun": 26, "senkou": 52, "direction": "both"},
    "vwap_reversion": {"period": 100, "entry_z": 2.0, "exit_z": 0.5, "direction": "both"},
    "funding_carry": {"period": 24, "threshold": 0.1, "direction": "both"},
    "rsi_filter": {"period": 14, "upper": 70.0, "lower": 30.0},
    "sma_trend": {"period": 200, "band": 0.01},
    "atr_stop": {"period": 14, "stop_mult": 2.0, "take_mult": 4.0},
    "vol_scaling": {"period": 100, "target_vol": 0.3},
    "linear_svc": {"feature_period": 20, "horizon": 10, "window": 2000, "refit": 250, "log_c": -1.0, "direction": "both"},
    "pca_tree": {
        "feature_period": 20, "horizon": 10, "window": 2000, "refit": 250,
        "components": 3, "depth": 4, "quantile": 0.3, "direction": "both",
    },
}  # fmt: skip


def best_of(fn, repeat: int, number: int) -> float:
    """Best mean CPU time of ``number`` calls over ``repeat`` rounds (CPU time: the machine is shared)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - t) / number)
    return best


def main(n: int) -> None:
    bars = random_bars(n, seed=1)
    small = random_bars(20_000, seed=1)
    print(f"{'module':<20} {'bars':>8} {'first call':>11} {'compute':>11} {'targets':>11}")
    for name, spec in CATALOGUE.items():
        b = small if spec.learned else bars
        params = PARAMS[name]
        t = time.perf_counter()
        spec.compute(b, params)
        first = time.perf_counter() - t
        number, repeat = (1, 2) if spec.learned else (20, 5)
        cold = learned_cache.clear if spec.learned else lambda: None
        compute = best_of(lambda: (cold(), spec.compute(b, params)), repeat, number)  # noqa: B023
        line = f"{name:<20} {len(b):>8} {first * 1e3:>9.1f}ms {compute * 1e3:>9.3f}ms"
        if spec.role.value == "entry":
            genome = make_genome((name, params))
            plan = best_of(lambda: (cold(), targets(genome, b)), repeat, number)  # noqa: B023
            line += f" {plan * 1e3:>9.3f}ms"
        print(line)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
