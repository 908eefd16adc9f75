"""OHLCV frames in and out of a logged model: the model's input schema and its example.

A model's input is a plain frame with ``ts`` (bar open time, UTC epoch ms), ``open high low close
volume`` and optionally ``funding``; ``frame_from_bars`` makes one from ``Bars`` and
``bars_from_frame`` turns one back, checking it at the door.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaorg.data.bars import Bars
from gaorg.errors import InputError

INPUT_COLUMNS = ("ts", "open", "high", "low", "close", "volume", "funding")
REQUIRED = ("open", "high", "low", "close")
OUTPUT_COLUMNS = ("target", "stop", "take")


def frame_from_bars(bars: Bars) -> Any:
    """The model input of ``bars`` (a pandas DataFrame with the columns of ``INPUT_COLUMNS``)."""
    import pandas as pd

    data: dict[str, Any] = {"ts": np.asarray(bars.ts, dtype=np.int64)}
    for name in INPUT_COLUMNS[1:]:
        data[name] = np.asarray(getattr(bars, name), dtype=np.float64)
    return pd.DataFrame(data)


def bars_from_frame(frame: Any, timeframe: str, symbol: str = "MODEL") -> Bars:
    """``Bars`` from a model input frame; a missing column is a clear InputError."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"the model input lacks column(s) {', '.join(missing)}; give a frame with "
            f"{', '.join(INPUT_COLUMNS)} (volume and funding may be omitted)"
        )
    n = len(frame)
    if "ts" in frame.columns:
        ts = np.asarray(frame["ts"], dtype=np.int64)
    elif hasattr(frame.index, "asi8"):
        ts = np.asarray(frame.index.as_unit("ms").asi8, dtype=np.int64)
    else:
        raise InputError("the model input needs a 'ts' column (epoch ms) or a DatetimeIndex")

    def col(name: str) -> np.ndarray | None:
        return np.asarray(frame[name], dtype=np.float64) if name in frame.columns else None

    volume = col("volume")
    funding = col("funding")
    return Bars.from_arrays(
        ts, col("open"), col("high"), col("low"), col("close"),
        volume if volume is not None else np.zeros(n),
        np.nan_to_num(funding) if funding is not None else np.zeros(n),
        exchange="model", symbol=symbol, timeframe=timeframe,
    )
