"""The risk gate: every limit trips, refusals carry a reason, HALTED only lets the flattening order pass."""

from __future__ import annotations

import pytest

from gaorg.live.config import RiskLimits
from gaorg.live.risk import RiskGate, RiskState
from gaorg.live.types import Order

DAY = 86_400_000


def order(units: float, price: float = 100.0, target: float = 0.5, reason: str = "signal") -> Order:
    return Order("0x" + "0" * 32, "BTC", 0, target, units, price, reduce_only=target == 0.0, reason=reason)


def gate(**limits) -> RiskGate:
    return RiskGate(RiskLimits(**limits))


def test_an_order_inside_every_limit_passes():
    assert gate().check(order(10), 0, 10_000.0, {}, 0.0).allowed


@pytest.mark.parametrize(
    ("limits", "units", "exposure", "current", "code"),
    [
        ({"max_order_notional": 500.0}, 10, {}, 0.0, "max_order_notional"),
        ({"max_position_notional": 1500.0}, 10, {"BTC": 1000.0}, 10.0, "max_position_notional"),
        ({"max_total_notional": 1500.0}, 10, {"ETH": 1000.0}, 0.0, "max_total_notional"),
        ({"max_leverage": 0.5}, 60, {}, 0.0, "max_leverage"),
    ],
)
def test_each_notional_limit_refuses_with_its_reason(limits, units, exposure, current, code):
    d = gate(**limits).check(order(units), 0, 10_000.0, exposure, current)
    assert not d.allowed and d.code == code and d.reason


def test_the_order_rate_limit_refuses_beyond_n_orders_a_minute_then_frees_up():
    g = gate(max_orders_per_minute=3)
    assert all(g.check(order(1), t * 1000, 10_000.0, {}, 0.0).allowed for t in range(3))
    refused = g.check(order(1), 5_000, 10_000.0, {}, 0.0)
    assert not refused.allowed and refused.code == "rate_limit"
    assert g.check(order(1), 61_000, 10_000.0, {}, 0.0).allowed


def test_daily_loss_halts_and_only_a_flattening_order_passes():
    g = gate(daily_loss=0.05, max_drawdown=0.9)
    assert g.on_equity(0, 10_000.0, {}) is None
    t = g.on_equity(3_600_000, 9_400.0, {})
    assert t is not None and t.state is RiskState.HALTED and t.code == "daily_loss"
    assert g.check(order(5), 0, 9_400.0, {"BTC": 500.0}, 5.0).code == "halted"
    assert g.check(order(-5, target=0.0, reason="halt"), 0, 9_400.0, {"BTC": 500.0}, 5.0).allowed


def test_the_daily_loss_counts_from_the_start_of_each_utc_day():
    g = gate(daily_loss=0.05, max_drawdown=0.9)
    g.on_equity(0, 10_000.0, {})
    g.on_equity(DAY - 1, 9_600.0, {})  # -4% today: fine
    assert g.on_equity(DAY, 9_300.0, {}) is None  # a new day starts at 9300
    assert g.state is RiskState.ACTIVE


def test_drawdown_from_the_peak_halts():
    g = gate(daily_loss=1.0, max_drawdown=0.2)
    for day, eq in enumerate((10_000.0, 12_000.0, 11_000.0, 10_500.0)):
        assert g.on_equity(day * DAY, eq, {}) is None
    t = g.on_equity(4 * DAY, 9_500.0, {})
    assert t is not None and t.code == "max_drawdown" and g.state is RiskState.HALTED


def test_kill_switch_halts_until_the_operator_resumes_and_survives_a_restart():
    g = gate()
    assert g.halt("kill_switch", "file exists") is not None
    restored = gate()
    restored.restore(g.snapshot())
    assert restored.state is RiskState.HALTED and "kill_switch" in restored.halt_reason
    assert restored.resume() is not None and restored.state is RiskState.ACTIVE
    assert restored.check(order(1), 0, 10_000.0, {}, 0.0).allowed


def test_a_position_grown_past_its_limit_by_the_market_moves_the_gate_to_reducing():
    g = gate(max_position_notional=2000.0)
    t = g.on_equity(0, 10_000.0, {"BTC": 2500.0})
    assert t is not None and g.state is RiskState.REDUCING
    assert g.check(order(5), 0, 10_000.0, {"BTC": 2500.0}, 25.0).code == "reducing"
    assert g.check(order(-10, target=0.2), 0, 10_000.0, {"BTC": 2500.0}, 25.0).allowed
    assert g.on_equity(1, 10_000.0, {"BTC": 1500.0}).state is RiskState.ACTIVE


def test_reducing_orders_pass_even_above_the_notional_limits():
    g = gate(max_order_notional=100.0, max_position_notional=100.0)
    assert g.check(order(-50, target=0.0), 0, 10_000.0, {"BTC": 5000.0}, 50.0).allowed


def test_limits_are_validated_with_the_fix():
    from gaorg.config import parse_config
    from gaorg.errors import ConfigError

    with pytest.raises(ConfigError, match="daily_loss"):
        parse_config(RiskLimits, {"daily_loss": 5})
    with pytest.raises(ConfigError, match="did you mean 'max_leverage'"):
        parse_config(RiskLimits, {"max_leverag": 2})
