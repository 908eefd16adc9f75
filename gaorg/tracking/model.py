"""The pyfunc model of a genome, logged with MLflow's models-from-code (this file is the model).

MLflow copies this file into each logged model and runs it at ``mlflow.pyfunc.load_model``; its
only artifact is ``genome.json``, validated by ``parse_genome`` when loaded. ``predict`` takes an
OHLCV frame (columns ``ts`` in epoch ms, ``open high low close volume`` and optionally
``funding``) and returns the target position per bar (with stop and take-profit distances),
computed by ``gaorg.strategies.compose.targets`` exactly as backtest, evolution and live do.

The live runner never loads this: it reads only ``genome.json`` (``gaorg.tracking.loader``).
Importing this module imports MLflow, so nothing in gaorg imports it; MLflow does, by path.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

GENOME_ARTIFACT = "genome"
"""Key of ``genome.json`` in the model's artifacts."""


class GenomeModel(PythonModel):
    """Target positions of one genome on an OHLCV frame; ``timeframe`` comes from the model config."""

    def load_context(self, context: Any) -> None:
        from pathlib import Path

        from gaorg.strategies.genome import parse_genome

        self.genome = parse_genome(Path(context.artifacts[GENOME_ARTIFACT]).read_text())
        config = context.model_config or {}
        self.timeframe = str(config.get("timeframe", "1h"))
        self.symbol = str(config.get("symbol", "MODEL"))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        from gaorg.strategies.compose import targets
        from gaorg.tracking.frames import bars_from_frame

        timeframe = str((params or {}).get("timeframe") or self.timeframe)
        bars = bars_from_frame(model_input, timeframe=timeframe, symbol=self.symbol)
        plan = targets(self.genome, bars)
        return pd.DataFrame(
            {"target": plan.target, "stop": plan.stop, "take": plan.take}, index=model_input.index
        )


mlflow.models.set_model(GenomeModel())
