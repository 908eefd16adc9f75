"""Benchmark: logging and registering a front of 20 strategies in a fresh MLflow sqlite store.

Compares gaorg's path (``log_evolution(..., register=NAME)``: LoggedModel + local save_model +
one upload per model, nothing inferred) with calling ``mlflow.pyfunc.log_model`` once per
strategy (which re-loads each model to validate its serving example); then times ``gaorg models``
on the store it made, and the per-generation callback of ``gaorg evolve --register``
(``evolution_callback``: what the workers waited for between two generations before the loop
overlapped it with the next one).

    .venv/bin/python tests/bench/bench_tracking.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

N = 20


def main() -> None:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow  # noqa: F401 - imported before timing (2-10 s depending on the machine)

    from gaorg.config import Settings
    from gaorg.data.synth import synth_bars
    from gaorg.strategies.genome import make_genome
    from gaorg.tracking.fixtures import hand_made_result
    from gaorg.tracking.log import log_evolution
    from gaorg.tracking.recorder import MlflowRecorder

    data = {(s, "1h"): synth_bars(s, "1h", 1500, seed=i) for i, s in enumerate(("BTC", "ETH"))}
    genomes = [make_genome(("ema_crossover", {"fast": 3 + i, "slow": 40 + 4 * i, "direction": "both"}))
               for i in range(N)]
    result = hand_made_result(data, genomes)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp), tracking_uri=f"sqlite:///{tmp}/mlflow.db")
        warm = MlflowRecorder(settings)  # create the store and the experiment outside the timing
        with warm.start_run("warm-up"):
            pass
        t0 = time.perf_counter()
        out = log_evolution(result, MlflowRecorder(settings), register="bench", top_k=N, data=data)
        total = time.perf_counter() - t0
        print(f"gaorg log_evolution, front of {N}, registered: {total:.2f} s "
              f"(run + artifacts {out['log_seconds']:.2f} s, {N} models + versions {out['register_seconds']:.2f} s, "
              f"{out['register_seconds'] / N * 1000:.0f} ms a strategy)")
        print(f"gaorg models on that store (a process, {N} versions): {_models_seconds(Path(tmp)):.2f} s "
              "(median of 3)")
        print(f"mlflow.pyfunc.log_model + create_model_version x {N}: {_pyfunc_log_model(settings, result):.2f} s")
        print(f"evolution_callback, one generation's metrics: {_callback_ms(settings):.1f} ms (median of 28)")


def _callback_ms(settings) -> float:
    """A generation's report to the store: the evolution's and its stage's metric rows."""
    import statistics

    from gaorg.evolve.result import GenerationStats
    from gaorg.tracking.log import evolution_callback
    from gaorg.tracking.recorder import FINISHED, MlflowRecorder

    callback = evolution_callback(MlflowRecorder(settings))
    figures = {"sharpe": 1.0, "max_drawdown": 0.1, "consistency": 0.5}
    times = []
    for i in range(30):
        stats = GenerationStats(stage=0, timeframe="1h", generation=i, step=i, best=figures, median=figures,
                                hypervolume=1.0, evaluations=100, total_evaluations=100 * (i + 1), front_size=5)
        t0 = time.perf_counter()
        callback(stats)
        times.append(time.perf_counter() - t0)
    callback.finish(FINISHED)
    return 1000 * statistics.median(times[2:])


def _models_seconds(home: Path) -> float:
    """Wall time of ``gaorg models`` as a user runs it (process start and imports included)."""
    import statistics
    import subprocess
    import sys

    env = {**os.environ, "GAORG_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gaorg.cli", "models"], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _pyfunc_log_model(settings, result) -> float:
    import mlflow
    import mlflow.pyfunc

    from gaorg.tracking.strategy_models import MODEL_CODE, input_example, model_signature, pip_requirements

    mlflow.set_tracking_uri(settings.tracking_uri)
    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.create_registered_model("bench-pyfunc")
    # an experiment with its artifacts in the temp store (the Default one would write ./mlruns)
    experiment = client.create_experiment("bench-pyfunc", artifact_location=(settings.home / "pyfunc").as_uri())
    signature, reqs = model_signature(), pip_requirements()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with mlflow.start_run(experiment_id=experiment):
            for m in result.front:
                path = Path(tmp) / m.genome_hash / "genome.json"
                path.parent.mkdir()
                path.write_text(m.genome.to_json())
                info = mlflow.pyfunc.log_model(name=f"s-{m.genome_hash}", python_model=str(MODEL_CODE),
                                               artifacts={"genome": str(path)}, signature=signature,
                                               input_example=input_example(m.genome, "1h"),
                                               pip_requirements=reqs, model_config={"timeframe": "1h"})
                client.create_model_version("bench-pyfunc", info.model_uri, info.run_id,
                                            model_id=info.model_id)
        return time.perf_counter() - t0


if __name__ == "__main__":
    main()
