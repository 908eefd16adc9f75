"""Several symbols in one live run: each symbol's paper account equals the backtest on its share of the
capital; the total's limits (notional, drawdown) act across symbols; the CLI takes several --symbol or
``symbols:`` in a config file and refuses bad input with exit status 2."""

from __future__ import annotations

import numpy as np
import pytest

from gaorg.backtest.engine import Costs, simulate
from gaorg.config import Settings
from gaorg.data.synth import synth_bars
from gaorg.live.config import LiveConfig, LiveCosts, RiskLimits
from gaorg.live.feed import ReplayFeed
from gaorg.live.registry import FileRegistry
from gaorg.live.runner import Runner
from gaorg.live.state import LiveState
from gaorg.monitor.metrics import LiveMetrics
from gaorg.strategies.compose import targets
from gaorg.strategies.genome import save_genome
from tests.integration.live_kit import genome, store_bars

BTC, ETH = "BTC/USDC:USDC", "ETH/USDC:USDC"
START = 60
COSTS = LiveCosts(0.0005, 0.001, 10_000.0)


def two(n: int = 300) -> dict[str, object]:
    return {BTC: synth_bars(BTC, "1h", n, seed=3), ETH: synth_bars(ETH, "1h", n, seed=11)}


def book_config(series, **kw) -> LiveConfig:
    b = next(iter(series.values()))
    return LiveConfig(**{"model": "m", "symbols": tuple(series), "timeframe": "1h", "exchange": b.exchange,
                         "costs": COSTS, "window": 5000, **kw})


def run_book(tmp_path, series, g, metrics=None, **kw):
    cfg = book_config(series, **kw)
    settings = Settings(home=tmp_path / "home", tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    path = save_genome(g, tmp_path / "g.json")
    feeds = {s: ReplayFeed(b, warmup=5000, first=START) for s, b in series.items()}
    summary = Runner(cfg, settings, FileRegistry(path), feed=feeds).run(metrics=metrics)
    return cfg, settings, summary


def stored(settings, cfg, sym):
    with LiveState(settings.live_db, cfg.for_symbol(sym).state_key) as st:
        return st.equity(), st.fills(), st.orders(), st.risk_events()


def test_each_symbols_paper_account_equals_the_backtest_on_its_share_of_the_capital(tmp_path):
    series = two()
    g = genome()
    weights = {BTC: 0.7, ETH: 0.3}
    metrics = LiveMetrics()
    cfg, settings, summary = run_book(tmp_path, series, g, metrics=metrics, weights=weights)
    total = 0.0
    for sym, b in series.items():
        share = COSTS.init_cash * weights[sym]
        sim = simulate(b, targets(g, b), costs=Costs(COSTS.fee, COSTS.slippage, share), start=START)
        eq, fills, _, _ = stored(settings, cfg, sym)
        np.testing.assert_array_equal([u for _, _, u in eq], sim.units)
        np.testing.assert_allclose([e for _, e, _ in eq], sim.equity, rtol=0, atol=1e-9)
        assert len(sim.trades) > 5
        prices = {f["ts"]: f["price"] for f in fills if f["kind"] == "order"}
        for t in sim.trades:
            assert prices[int(b.ts[t["entry_idx"]])] == pytest.approx(t["entry_price"], rel=1e-12)
        part = summary.symbols[sym]
        assert part["bars"] == len(b) - START and part["weight"] == weights[sym]
        assert part["equity"] == pytest.approx(sim.equity[-1], rel=1e-12)
        total += sim.equity[-1]
    assert summary.equity == pytest.approx(total, rel=1e-12)
    assert summary.bars == sum(len(b) - START for b in series.values())
    assert summary.to_dict()["units"] is None  # several markets: per symbol only
    assert metrics.equity._value.get() == pytest.approx(total, rel=1e-12)
    assert metrics.symbol_equity.labels(ETH)._value.get() == pytest.approx(summary.symbols[ETH]["equity"])
    assert metrics.bars._value.get() == summary.bars


def test_the_total_notional_limit_refuses_an_order_the_per_symbol_limit_allows(tmp_path):
    series = two(200)
    g = genome(stops=False)
    limits = RiskLimits(max_position_notional=6_000.0, max_total_notional=8_000.0)
    cfg, settings, summary = run_book(tmp_path, series, g, limits=limits)
    refused = {s: [e for e in stored(settings, cfg, s)[3] if e["kind"] == "refused"] for s in series}
    codes = {e["code"] for events in refused.values() for e in events}
    assert codes == {"max_total_notional"}  # never the per-symbol limit: each share is 5,000
    assert summary.refused == sum(len(v) for v in refused.values()) > 0
    for sym, events in refused.items():
        other = ETH if sym == BTC else BTC
        held = {ts: u for ts, _, u in stored(settings, cfg, other)[0]}
        for e in events:  # the other symbol held a position then, or had one ordered (it fills at the next open)
            assert any(held.get(e["ts"] + k * 3_600_000, 0.0) != 0.0 for k in (-1, 0, 1))
    # the same run without the total limit sends those orders
    _, _, free = run_book(tmp_path / "free", series, g, limits=RiskLimits(max_position_notional=6_000.0))
    assert free.refused == 0 and free.orders > summary.orders


def test_a_drawdown_of_the_total_halts_and_flattens_every_symbol(tmp_path):
    series = two(300)
    limit = 0.01
    cfg, settings, summary = run_book(tmp_path, series, genome(), limits=RiskLimits(max_drawdown=limit, daily_loss=1.0))
    eqs = {s: {ts: e for ts, e, _ in stored(settings, cfg, s)[0]} for s in series}
    # the total as the book marks it: BTC steps first at each bar, then ETH
    marks, peak, trip = {s: COSTS.init_cash / 2 for s in series}, 0.0, None
    for ts in sorted(eqs[BTC]):
        for s in (BTC, ETH):
            marks[s] = eqs[s][ts]
            total = sum(marks.values())
            peak = max(peak, total)
            if trip is None and total <= peak * (1 - limit):
                trip = ts
    assert trip is not None
    for sym in series:
        eq, _, orders, events = stored(settings, cfg, sym)
        halts = [e for e in events if e["kind"] == "state"]
        assert [(e["code"], e["ts"]) for e in halts] == [("max_drawdown", trip)]
        assert "total equity" in halts[0]["reason"]
        assert [o["reason"] for o in orders if o["bar_ts"] >= trip] in (["halt"], [])
        assert eq[-1][2] == 0.0  # flat
        assert summary.symbols[sym]["risk_state"] == "HALTED"
    assert summary.risk_state == "HALTED"


# -- the CLI --------------------------------------------------------------------------------------
def seed_store(home, n=200):
    series = two(n)
    store_bars(home, *series.values())
    return series, save_genome(genome(), home / "g.json")


def test_gaorg_live_with_two_symbols_matches_gaorg_backtest_of_each_on_its_share(cli, gaorg_home):
    _, g = seed_store(gaorg_home)
    common = ("--genome", str(g), "--timeframe", "1h", "--start", "2023-01-03", "--json")
    live = cli("live", "--symbol", BTC, "--symbol", ETH, *common)
    assert live.code == 0, live.stderr
    out = live.json
    assert set(out["symbols"]) == {BTC, ETH} and out["bars"] == 2 * (200 - 48)
    total = 0.0
    for sym in (BTC, ETH):
        back = cli("backtest", "--symbol", sym, "--init-cash", "5000", *common)
        assert back.code == 0, back.stderr
        final = back.json["metrics"]["final_equity"]
        assert out["symbols"][sym]["equity"] == pytest.approx(final, rel=1e-12)
        total += final
    assert out["equity"] == pytest.approx(total, rel=1e-12)
    text = cli("live", "--symbol", f"{BTC},{ETH}", "--genome", str(g), "--timeframe", "1h")
    assert text.code == 0, text.stderr
    assert "on 2 symbols" in text.stdout and f"{ETH}: equity" in text.stdout


def test_symbols_and_weights_come_from_the_config_file_and_restart_where_they_stopped(cli, gaorg_home):
    series, g = seed_store(gaorg_home)
    cfg = gaorg_home / "live.yaml"
    cfg.write_text(f"symbols: ['{BTC}', '{ETH}']\nweights: {{'{BTC}': 0.25, '{ETH}': 0.75}}\ntimeframe: 1h\n"
                   "start: '2023-01-03'\n")
    first = cli("live", "--genome", str(g), "--config", str(cfg), "--max-bars", "40", "--json")
    assert first.code == 0, first.stderr
    assert {s: v["weight"] for s, v in first.json["symbols"].items()} == {BTC: 0.25, ETH: 0.75}
    assert all(v["bars"] == 40 for v in first.json["symbols"].values())
    again = cli("live", "--genome", str(g), "--config", str(cfg), "--max-bars", "100", "--json")
    assert again.code == 0, again.stderr
    for sym, v in again.json["symbols"].items():
        assert v["bars"] == 60 and v["total_bars"] == 100
        assert v["last_ts"] == int(series[sym].ts[48 + 99])  # nothing skipped or repeated


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (("--symbol", BTC, "--symbol", "DOGE/USDC:USDC"), None, "no stored series for symbol 'DOGE/USDC:USDC'"),
        (("--symbol", f"{BTC},{BTC}"), None, "lists 'BTC/USDC:USDC' twice"),
        ((), f"symbols: ['{BTC}', '{ETH}']\nweights: {{'{BTC}': 0.5, '{ETH}': 0.6}}\n", "weights sum to 1.1, not 1"),
        ((), f"symbols: ['{BTC}', '{ETH}']\nweights: {{'{BTC}': 0.5, 'SOL/USDC:USDC': 0.5}}\n",
         "weights names 'SOL/USDC:USDC', which is not traded"),
        ((), f"symbol: {BTC}\nsymbols: ['{ETH}', '{BTC}']\n", "disagree"),
    ],
)
def test_bad_symbols_or_weights_exit_2_with_the_fix(cli, gaorg_home, args, config, message):
    _, g = seed_store(gaorg_home, 60)
    extra: tuple[str, ...] = ()
    if config is not None:
        f = gaorg_home / "live.yaml"
        f.write_text(config)
        extra = ("--config", str(f))
    bad = cli("live", "--genome", str(g), "--timeframe", "1h", *args, *extra)
    assert bad.code == 2, (bad.stdout, bad.stderr)
    assert message in bad.stderr
    assert not (gaorg_home / "live.duckdb").exists()  # refused before any live state was touched


def test_the_operator_halts_and_resumes_every_symbol_and_status_lists_them(tmp_path, monkeypatch):
    import httpx

    monkeypatch.setenv("GAORG_OPERATOR_TOKEN", "tok")
    auth = {"Authorization": "Bearer tok"}
    series = two(200)
    seen: list[dict] = []

    def on_step(runner, report):
        url = f"http://127.0.0.1:{runner.api_port}"
        seen.append(report)
        if len(seen) == 40:
            assert httpx.post(f"{url}/halt", headers=auth).json() == {"risk_state": "HALTED", "changed": True}
        if len(seen) == 60:
            status = httpx.get(f"{url}/status").json()
            assert [s["symbol"] for s in status["symbols"]] == [BTC, ETH]
            assert status["risk_state"] == "HALTED" and all(s["units"] == 0.0 for s in status["symbols"])
            assert httpx.get(f"{url}/health").json()["symbols"] == [BTC, ETH]
            assert httpx.post(f"{url}/resume", headers=auth).json()["risk_state"] == "ACTIVE"

    cfg = book_config(series, api_port=0)
    settings = Settings(home=tmp_path / "home", tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    runner = Runner(cfg, settings, FileRegistry(save_genome(genome(stops=False), tmp_path / "g.json")),
                    feed={s: ReplayFeed(b, warmup=5000, first=START) for s, b in series.items()})
    summary = runner.run(on_step=on_step)
    assert summary.risk_state == "ACTIVE" and len(seen) == 2 * (200 - START)
    for sym in series:
        events = [e["code"] for e in stored(settings, cfg, sym)[3] if e["kind"] == "state"]
        assert events == ["operator", "resume"]
        orders = stored(settings, cfg, sym)[2]
        assert [o["reason"] for o in orders].count("halt") == 1


def test_an_alias_move_switches_every_symbol_at_its_next_bar(tmp_path):
    series = two(160)
    path = save_genome(genome(5, 20, stops=False), tmp_path / "g.json")
    cfg = book_config(series, registry_poll_seconds=0.01, switch_policy="flatten")
    settings = Settings(home=tmp_path / "home", tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    seen = []

    def on_step(runner, report):
        seen.append(report)
        if len(seen) == 61:  # after BTC's bar 30 of the replay: the genome file now names another strategy
            save_genome(genome(8, 40, stops=False), path)
            runner._last_poll = 0.0

    summary = Runner(cfg, settings, FileRegistry(path),
                     feed={s: ReplayFeed(b, warmup=5000, first=START) for s, b in series.items()}).run(on_step=on_step)
    eth_ts, btc_ts = int(series[ETH].ts[START + 30]), int(series[BTC].ts[START + 31])
    assert [(s["symbol"], s["ts"], s["policy"]) for s in summary.switches] == [(ETH, eth_ts, "flatten"),
                                                                                 (BTC, btc_ts, "flatten")]
    for sym in series:
        with LiveState(settings.live_db, cfg.for_symbol(sym).state_key) as st:
            assert [v["policy"] for v in st.versions()] == ["start", "flatten"]
