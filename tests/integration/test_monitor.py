"""Monitoring over HTTP on 127.0.0.1: the Prometheus metrics scraped, halt and resume with and without the token."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import httpx
import pytest

from gaorg.live.config import RiskLimits
from gaorg.live.feed import ReplayFeed
from gaorg.monitor.api import OperatorServer
from gaorg.monitor.metrics import LiveMetrics
from tests.integration.live_kit import bars, config, executor, genome

TOKEN = "s3cret-operator-token"


@pytest.fixture
def live(tmp_path):
    b = bars(160)
    metrics = LiveMetrics()
    ex = executor(tmp_path / "live.duckdb", config(b, limits=RiskLimits(max_order_notional=1.0)), genome(stops=False),
                  metrics=metrics)
    feed = ReplayFeed(b, warmup=5000, first=60)
    ex.warm(feed.history)
    target = SimpleNamespace(executor=ex, lock=threading.Lock())
    port = metrics.serve(0)
    api = OperatorServer(target, port=0, token=TOKEN)
    api_port = api.start()
    yield ex, iter(feed), metrics, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}"
    api.stop()
    metrics.stop()
    ex.state.close()


def scrape(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_the_metrics_endpoint_serves_equity_orders_risk_state_and_latency(live):
    ex, feed, _, murl, _ = live
    for _ in range(40):
        ex.step(*next(feed))
    m = scrape(murl)
    assert m["gaorg_live_bars_processed_total"] == 40
    assert m["gaorg_live_equity"] == pytest.approx(ex.equity)
    assert m["gaorg_live_risk_state"] == 0
    refused = sum(v for k, v in m.items() if k.startswith("gaorg_live_orders_refused_total"))
    assert refused == len([e for e in ex.state.risk_events() if e["kind"] == "refused"]) > 0
    assert m["gaorg_live_loop_latency_seconds_count"] == 40
    assert m['gaorg_live_strategy_version{model="m",version="1"}'] == 1
    assert any(k.startswith("gaorg_live_feed_lag_seconds") for k in m)


def test_halt_and_resume_need_the_operator_token(live):
    ex, feed, _, murl, aurl = live
    ex.step(*next(feed))
    assert httpx.get(f"{aurl}/health").json()["status"] == "ok"
    assert httpx.post(f"{aurl}/halt").status_code == 401
    assert httpx.post(f"{aurl}/halt", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert ex.risk.state.value == "ACTIVE"
    ok = httpx.post(f"{aurl}/halt", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["risk_state"] == "HALTED"
    ex.step(*next(feed))
    assert httpx.get(f"{aurl}/status").json()["risk_state"] == "HALTED"
    assert scrape(murl)["gaorg_live_risk_state"] == 2
    assert httpx.post(f"{aurl}/resume").status_code == 401
    assert httpx.post(f"{aurl}/resume", headers={"Authorization": f"Bearer {TOKEN}"}).json()["risk_state"] == "ACTIVE"
    assert [e["code"] for e in ex.state.risk_events() if e["kind"] == "state"] == ["operator", "resume"]


def test_without_a_token_in_the_environment_halt_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("GAORG_OPERATOR_TOKEN", raising=False)
    api = OperatorServer(SimpleNamespace(executor=None, lock=threading.Lock()), port=0)
    port = api.start()
    try:
        r = httpx.post(f"http://127.0.0.1:{port}/halt", headers={"Authorization": "Bearer anything"})
        assert r.status_code == 503 and "GAORG_OPERATOR_TOKEN" in r.text
    finally:
        api.stop()
