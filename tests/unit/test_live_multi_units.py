"""Small parts of several-symbol runs: the symbols/weights config, per-symbol state keys, the time merge
of replay feeds, live feeds merged as they come, and the risk gate scoped to one symbol."""

from __future__ import annotations

import threading

import pytest

from gaorg.errors import ConfigError
from gaorg.live.config import LiveConfig, RiskLimits, load_live_config
from gaorg.live.portfolio import merge_as_they_come, merge_by_time
from gaorg.live.risk import RiskGate, RiskState
from gaorg.live.types import Bar

A, B = "BTC/USDC:USDC", "ETH/USDC:USDC"


def test_one_symbol_keeps_its_config_and_state_key():
    one = LiveConfig(model="m", symbol=A)
    assert one.symbols == (A,) and not one.multi and one.for_symbol(A) is one
    assert one.state_key == f"m|None|{A}|1h|paper"  # the key of every existing one-symbol live state
    assert LiveConfig().symbol == A and LiveConfig(symbols=(B,)).symbol == B


def test_several_symbols_split_the_capital_and_each_has_its_own_state_key():
    c = LiveConfig(model="m", symbols=(A, B), weights={A: 0.25, B: 0.75})
    assert c.multi and c.symbol == "" and c.weight(B) == 0.75
    a, b = c.for_symbol(A), c.for_symbol(B)
    assert (a.costs.init_cash, b.costs.init_cash) == (2_500.0, 7_500.0)
    assert a.state_key != b.state_key and a.state_key.startswith(f"m|None|{A}|1h|paper|book=")
    other_weights = LiveConfig(model="m", symbols=(A, B))
    assert other_weights.weight(A) == 0.5 and other_weights.for_symbol(A).state_key != a.state_key
    with pytest.raises(ValueError, match="one live state per symbol"):
        _ = c.state_key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"symbols: ['{A}', '{A}']\n", "twice"),
        (f"symbol: {A}\nsymbols: ['{B}']\n", "disagree"),
        (f"symbols: ['{A}', '{B}']\nweights: {{'{A}': 0.3}}\n", "weights has no share for ETH/USDC:USDC"),
        (f"symbols: ['{A}', '{B}']\nweights: {{'{A}': 0.5, '{B}': 0.4}}\n", "weights sum to 0.9"),
        (f"symbols: ['{A}', '{B}']\nweights: {{'{A}': 1.5, '{B}': -0.5}}\n", "must be a positive number"),
        (f"symbols: ['{A}', '{B}']\nweights: [1]\n", "weights must map each symbol"),
        (f"symbols: '{A}'\n", "expected a list"),
    ],
)
def test_bad_symbols_or_weights_are_refused_with_the_fix(tmp_path, text, message):
    f = tmp_path / "live.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_live_config(f)


def test_symbol_flags_replace_the_files_markets_and_its_weights_for_them(tmp_path):
    f = tmp_path / "live.yaml"
    f.write_text(f"symbols: ['{A}', '{B}']\nweights: {{'{A}': 0.2, '{B}': 0.8}}\n")
    assert load_live_config(f).weight(A) == 0.2
    assert load_live_config(f, {"symbols": [B, A]}).weight(A) == 0.2  # same markets: the file's weights hold
    one = load_live_config(f, {"symbols": [B]})
    assert one.symbols == (B,) and one.symbol == B and one.weights is None
    assert load_live_config(f, {"symbol": A}).symbols == (A,)


def bars(ts_list):
    return [(Bar(ts, 1.0, 1.0, 1.0, 1.0), False) for ts in ts_list]


def test_replay_feeds_are_merged_by_bar_time_ties_in_the_symbols_order():
    merged = [(s, bar.ts) for s, bar, _ in merge_by_time({A: bars([1, 2, 4]), B: bars([1, 3, 4, 5])})]
    assert merged == [(A, 1), (B, 1), (A, 2), (B, 3), (A, 4), (B, 4), (B, 5)]


def test_live_feeds_arrive_each_in_its_own_order_and_a_feed_error_is_raised():
    got = [(s, bar.ts) for s, bar, _ in merge_as_they_come({A: bars([1, 2, 3]), B: bars([1, 2])}, threading.Event())]
    assert [t for s, t in got if s == A] == [1, 2, 3] and [t for s, t in got if s == B] == [1, 2]

    def broken():
        yield from bars([1])
        raise RuntimeError("feed died")

    with pytest.raises(RuntimeError, match="feed died"):
        list(merge_as_they_come({A: broken()}, threading.Event()))


def test_a_gate_scoped_to_one_symbol_ignores_another_symbols_position_limit_but_not_the_total():
    gate = RiskGate(RiskLimits(max_position_notional=1_000.0, max_total_notional=3_000.0), loss_limits=False)
    assert gate.on_equity(0, 10_000.0, {A: 500.0, B: 2_000.0}, symbol=A) is None  # B's own limit is B's gate's
    assert gate.on_equity(1, 10_000.0, {A: 500.0, B: 2_000.0}).state is RiskState.REDUCING  # unscoped: as before
    gate = RiskGate(RiskLimits(max_total_notional=2_000.0), loss_limits=False)
    t = gate.on_equity(0, 10_000.0, {A: 500.0, B: 2_000.0}, symbol=A)
    assert t is not None and t.state is RiskState.REDUCING and "total" in t.reason


def test_a_gate_without_loss_limits_leaves_the_drawdown_to_the_portfolio():
    gate = RiskGate(RiskLimits(max_drawdown=0.1, daily_loss=1.0), loss_limits=False)
    gate.on_equity(0, 10_000.0, {})
    assert gate.on_equity(1, 5_000.0, {}) is None and gate.state is RiskState.ACTIVE
    assert gate.loss_breach(5_000.0).code == "max_drawdown"
