"""A basket of many symbols on one account: the weights config of many symbols, the account's reads shared
by its brokers (one per bar-close, again after an action on the coin asking), the symbols' live states
committed together, and when a live bar reached the runner."""

from __future__ import annotations

import threading
import time

import pytest

from gaorg.data.exchange import RetryPolicy
from gaorg.errors import ConfigError
from gaorg.live.brokers.account import AccountView, view_of
from gaorg.live.config import LiveConfig, load_live_config
from gaorg.live.portfolio import merge_as_they_come
from gaorg.live.state import LiveState, StateGroup
from gaorg.live.types import Bar

COINS = [f"C{i:02d}" for i in range(20)]
SYMS = [f"{c}/USDC:USDC" for c in COINS]


def test_weights_alone_name_the_basket_and_star_splits_the_rest_among_the_symbols_not_named(tmp_path):
    f = tmp_path / "live.yaml"
    f.write_text("weights:\n" + "".join(f"  {s}: 0.05\n" for s in SYMS))
    c = load_live_config(f)
    assert c.symbols == tuple(SYMS) and c.multi and c.weight(SYMS[7]) == 0.05
    f.write_text(f"symbols: [{', '.join(SYMS)}]\nweights: {{'{SYMS[0]}': 0.24, '*': 0.76}}\n")
    c = load_live_config(f)
    assert c.weight(SYMS[0]) == 0.24 and c.weight(SYMS[19]) == pytest.approx(0.04)
    assert sum(c.weight(s) for s in SYMS) == pytest.approx(1.0)
    # flags giving a subset of the file's markets keep the file's weights when '*' covers the others
    sub = load_live_config(f, {"symbols": SYMS[:3]})
    assert sub.weight(SYMS[0]) == 0.24 and sub.weight(SYMS[2]) == pytest.approx(0.38)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("weights: {'A/USDC:USDC': 0.5, '*': 0.5}\n", "no symbols"),
        ("symbols: [A, B]\nweights: {A: 0.5, B: 0.3, '*': 0.2}\n", "nothing is left to share"),
        ("symbols: [A, B, C]\nweights: {A: 0.5, '*': 0.4}\n", "weights sum to 0.9"),
        ("symbols: [A, B]\nweights: {A: 0.5}\n", "or '\\*': SHARE for the symbols it does not name"),
    ],
)
def test_bad_basket_weights_are_refused_with_the_fix(tmp_path, text, message):
    f = tmp_path / "live.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_live_config(f)


class FakeExchange:
    """Counts the account-wide reads; answers with the positions it holds."""

    id = "fake"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.units = {c: 0.0 for c in COINS}

    def publicPostInfo(self, body):  # noqa: N802 - ccxt's name
        self.calls.append(body["type"])
        if body["type"] == "clearinghouseState":
            return {"marginSummary": {"accountValue": "1000"},
                    "assetPositions": [{"position": {"coin": c, "szi": repr(u)}} for c, u in self.units.items()]}
        return []


def units(view: AccountView, coin: str) -> float:
    rows = view.state(coin)["assetPositions"]
    return next(float(p["position"]["szi"]) for p in rows if p["position"]["coin"] == coin)


def test_one_account_read_serves_every_symbol_of_a_bar_close_until_an_order_on_the_coin_asking():
    ex, now = FakeExchange(), [0.0]
    view = AccountView(ex, "0xabc", RetryPolicy(attempts=1), lambda s: None, max_age=1.0, clock=lambda: now[0])
    view.on_bar(1)
    assert [units(view, c) for c in COINS] == [0.0] * 20
    view.open_orders(COINS[0]), view.open_orders(COINS[5])
    assert ex.calls == ["clearinghouseState", "frontendOpenOrders"]  # 20 symbols, one read of each
    ex.units["C03"] = 2.0  # an order on C03 filled
    view.changed("C03")
    assert units(view, "C04") == 0.0 and len(ex.calls) == 2  # another coin's read is still current
    assert units(view, "C03") == 2.0 and len(ex.calls) == 3  # the coin acted on is read again
    assert units(view, "C04") == 0.0 and len(ex.calls) == 3  # ...and that read serves the others
    view.on_bar(1)
    units(view, "C05")
    assert len(ex.calls) == 3  # the same bar: nothing new
    view.on_bar(2)
    units(view, "C05")
    assert len(ex.calls) == 4  # a new bar-close reads again
    now[0] += 1.5
    units(view, "C05")
    assert len(ex.calls) == 5 and view.fetches == 5  # and so does age
    assert view_of(ex, "0xabc", RetryPolicy(), lambda s: None) is view_of(ex, "0xabc", RetryPolicy(), lambda s: None)


def test_a_basket_s_live_states_share_one_connection_and_commit_together(tmp_path):
    path = tmp_path / "live.duckdb"
    group = StateGroup(path)
    states = [group.open(f"k{i}") for i in range(3)]
    for i, st in enumerate(states):
        st.record_bar(f"S{i}", 100, 1000.0 + i, float(i), 10.0)
        st.save_progress(100, 1, 0.0, "m", "1", "h", {"state": "ACTIVE"}, None)
    assert all(st.con is group.con for st in states)
    states[0].flush()  # one state's flush commits every state's buffers
    assert not any(st.buffered() for st in states) and states[2].flush_age() < 1.0
    for st in states:
        st.close()
    group.close()
    for i in range(3):
        with LiveState(path, f"k{i}") as st:
            assert st.progress()["bars"] == 1 and st.positions() == {f"S{i}": float(i)}
            assert st.last_mark() == (1000.0 + i, float(i), 10.0)


def test_a_live_bar_s_arrival_is_when_it_left_its_feed():
    def slow():
        yield Bar(1, 1.0, 1.0, 1.0, 1.0), False
        time.sleep(0.05)
        yield Bar(2, 1.0, 1.0, 1.0, 1.0), False

    arrived: dict[str, float] = {}
    seen = []
    for sym, bar, _ in merge_as_they_come({"A": slow()}, threading.Event(), arrived=arrived):
        seen.append((bar.ts, arrived[sym], time.perf_counter()))
    assert [ts for ts, _, _ in seen] == [1, 2]
    assert all(at <= got for _, at, got in seen) and seen[1][1] - seen[0][1] >= 0.04


def test_a_basket_config_trades_each_symbol_on_its_weight_of_one_account():
    c = LiveConfig(model="m", broker="exchange", weights={s: 0.05 for s in SYMS})
    assert sum(c.weight(s) for s in c.symbols) == pytest.approx(1.0)
    assert len({c.for_symbol(s).state_key for s in c.symbols}) == 20


def test_a_live_state_reset_interrupted_midway_forgets_nothing(tmp_path):
    """``gaorg live --fresh`` resets in one transaction: a Ctrl-C between two tables' deletes leaves
    the state as it was (its progress and its position together), never half forgotten."""
    path = tmp_path / "live.duckdb"
    with LiveState(path, "k") as st:
        st.record_bar("S", 100, 1000.0, 2.0, 10.0)
        st.save_progress(100, 1, 0.0, "m", "1", "h", {"state": "ACTIVE"}, None)
    st = LiveState(path, "k")
    real = st.con

    class CtrlCAtPositions:
        def execute(self, sql, *args):
            if sql.startswith("DELETE FROM positions"):
                raise KeyboardInterrupt
            return real.execute(sql, *args)

    st.con = CtrlCAtPositions()
    with pytest.raises(KeyboardInterrupt):
        st.reset()
    st.con = real
    assert st.progress()["bars"] == 1 and st.positions() == {"S": 2.0}
    assert st.reset() == 1 and st.progress() is None and st.positions() == {}
    st.close()


def test_a_live_state_reset_forgets_its_journalled_intents_and_keeps_the_others(tmp_path):
    """An intent journalled before a crash is imported by the next start: ``--fresh`` must not hand
    the fresh state the forgotten one's intents, nor drop another live state's."""
    from gaorg.live.types import Order

    path = tmp_path / "live.duckdb"
    mine, other = LiveState(path, "k"), LiveState(path, "other")
    mine.journal_intent(Order("c-mine", "S", 100, 1.0, 2.0, 10.0, reason="entry"))
    other.journal_intent(Order("c-other", "T", 100, 1.0, 3.0, 10.0, reason="entry"))
    mine.reset()
    assert mine.import_journal() == 0  # what the next start imports: nothing of the forgotten state
    assert mine.orders() == []  # and no row of it left
    assert other.import_journal() == 1  # the other state's intent is still there for its own start
    for st in (mine, other):
        st.close()
