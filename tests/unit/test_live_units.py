"""Small parts of the live path: client order ids, the typed config, the bounded bar window."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.errors import ConfigError
from gaorg.live.config import load_live_config
from gaorg.live.strategy import BarWindow
from gaorg.live.types import client_order_id


def test_a_client_order_id_is_a_hyperliquid_cloid_and_the_same_for_the_same_intent():
    a = client_order_id("m|x|BTC|1h|exchange", 1_700_000_000_000, "signal:abc:0.5")
    assert a == client_order_id("m|x|BTC|1h|exchange", 1_700_000_000_000, "signal:abc:0.5")
    assert a.startswith("0x") and len(a) == 34 and int(a, 16) >= 0
    assert a != client_order_id("m|x|BTC|1h|exchange", 1_700_003_600_000, "signal:abc:0.5")
    assert a != client_order_id("m|x|BTC|1h|paper", 1_700_000_000_000, "signal:abc:0.5")


def test_the_config_file_is_typed_and_flags_override_it(tmp_path):
    f = tmp_path / "live.yaml"
    f.write_text("symbol: ETH/USDC:USDC\ntimeframe: 4h\nlimits: {max_leverage: 2, daily_loss: 0.1}\n"
                 "costs: {fee: 0.0002}\nswitch_policy: handover\n")
    c = load_live_config(f, {"timeframe": "1h", "max_bars": None})
    assert (c.symbol, c.timeframe, c.switch_policy) == ("ETH/USDC:USDC", "1h", "handover")
    assert c.limits.max_leverage == 2.0 and c.limits.daily_loss == 0.1 and c.costs.fee == 0.0002
    assert c.broker == "paper"  # paper unless asked


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("switch_policy: yolo\n", "is not one of"),
        ("window: 5\n", "window must be at least 10"),
        ("limits: {max_orders_per_minute: 0}\n", "at least 1"),
        ("privateKey: 0xabc\n", "unknown key 'privateKey'"),
        ("- a\n", "expected a mapping"),
    ],
)
def test_a_bad_config_is_refused_with_what_to_fix(tmp_path, text, message):
    f = tmp_path / "live.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_live_config(f)


def test_the_bar_window_keeps_the_last_n_bars_in_bounded_memory():
    w = BarWindow(50, "x", "BTC", "1h")
    for i in range(1000):
        w.append(i, i, i + 1, i - 1, i + 0.5, 1.0, 0.0)
        assert len(w) == min(i + 1, 50)
    bars = w.bars()
    assert bars.ts.tolist() == list(range(950, 1000))
    np.testing.assert_array_equal(bars.close, np.arange(950, 1000) + 0.5)
    assert len(w._arr["ts"]) == 100  # never grows
