"""Times as the data layer writes them: epoch milliseconds (UTC) to ISO 8601 text and back.

The store, its writer and validation's messages share these (:mod:`gaorg.data.store` re-exports
``iso`` and ``to_ms``).
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import numpy as np

from gaorg.errors import InputError


def iso(ms: int | None) -> str | None:
    """ISO 8601 UTC text of epoch milliseconds (``2024-01-01T00:00:00Z``)."""
    if ms is None:
        return None
    text = str(np.datetime64(int(ms), "ms"))
    return (text[:-4] if text.endswith(".000") else text) + "Z"


def iso_exact(ms: int) -> str:
    """ISO 8601 UTC text with the milliseconds always shown (``2024-01-01T00:00:00.000Z``), as
    validation's messages name a bar."""
    return str(np.datetime64(ms, "ms")) + "Z"


def to_ms(value: Any) -> int | None:
    """Epoch milliseconds from an int, an ISO 8601 text (UTC unless it has an offset) or a datetime."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if hasattr(value, "timestamp"):  # datetime / pandas Timestamp
        if getattr(value, "tzinfo", None) is None:
            return int(np.datetime64(value, "ms").astype(np.int64))
        return int(round(value.timestamp() * 1000))
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"cannot read {text!r} as a time; use ISO 8601 (2024-01-31T00:00Z) or epoch ms") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(round(parsed.timestamp() * 1000))
