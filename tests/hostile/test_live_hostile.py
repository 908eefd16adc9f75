"""Hostile input to ``gaorg live`` (issue #20): ports that cannot be served, operator tokens without
their scheme, malformed exchange keys and credentials in a URL, a kill -9 mid-run, planted secrets.

Each is refused with exit 2 before any order or live state (the stores hashed before and after), or,
when it is not a command line, recorded with what it did.
"""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import threading
from types import SimpleNamespace

import duckdb
import httpx
import pytest

from gaorg.errors import ConfigError
from gaorg.live.brokers.ccxt_broker import KEY_ENV, WALLET_ENV
from gaorg.live.config import LiveConfig, load_live_config
from gaorg.monitor.api import TOKEN_ENV, OperatorServer
from gaorg.strategies.genome import save_genome
from gaorg.testing.hyperliquid_exchange import StandInExchange
from tests.hostile.conftest import record
from tests.integration.live_kit import SYMBOL, bars, config, executor, genome, run_forked, store_bars
from tests.integration.test_live_keys import leaks

pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")

WALLET = "0x" + "e1" * 20
KEY = "0x" + hashlib.sha256(b"planted key").hexdigest()  # well formed, and unlike anything else in the output
TOKEN = "planted-operator-token-" + hashlib.sha256(b"planted token").hexdigest()[:16]
URL_PASSWORD = "planted-url-pass-" + hashlib.sha256(b"planted password").hexdigest()[:12]
LIVE = ("live", "--symbol", SYMBOL, "--timeframe", "1h", "--start", "2023-01-03", "--max-bars", "5")
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a run that gets this far has already failed its check


@pytest.fixture
def paper(gaorg_home, tmp_path) -> str:
    """A stored series and a genome file outside the store (the store is what must stay unchanged)."""
    store_bars(gaorg_home, bars(120, seed=9))
    return str(save_genome(genome(), tmp_path / "g.json"))


@pytest.fixture
def busy_port():
    """A port another process (this one) listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- ports -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, flag, port, message", [
    ("api port busy", "--api-port", "busy", "already in use"),
    ("metrics port busy", "--metrics-port", "busy", "already in use"),
    ("api port -1", "--api-port", "-1", "not a TCP port"),
    ("metrics port 70000", "--metrics-port", "70000", "not a TCP port"),
])
def test_a_port_that_cannot_be_served_stops_the_run_before_any_state(hostile, paper, gaorg_home, busy_port, name,
                                                                      flag, port, message):
    port = str(busy_port) if port == "busy" else port
    res = hostile("ports", name, *LIVE, "--genome", paper, flag, port, stores=[gaorg_home])
    assert message in res.stderr and f"{flag} 0 for a free one" in res.stderr
    assert not (gaorg_home / "live.duckdb").exists()


def test_a_series_not_stored_is_refused_before_any_live_state(hostile, paper, gaorg_home):
    res = hostile("live", "replay of a symbol not stored", "live", "--genome", paper, "--symbol", "ETH/USDC:USDC",
                  "--timeframe", "1h", "--api-port", "0", stores=[gaorg_home])
    assert "no stored series" in res.stderr and not (gaorg_home / "live.duckdb").exists()


def test_the_api_and_the_metrics_on_one_port_are_refused(hostile, paper, gaorg_home):
    port = str(free_port())
    res = hostile("ports", "api and metrics on one port", *LIVE, "--genome", paper, "--metrics-port", port,
                  "--api-port", port, stores=[gaorg_home])
    assert "operator API cannot listen" in res.stderr and "--api-port 0" in res.stderr


@pytest.mark.parametrize("key", ["api_port", "metrics_port"])
@pytest.mark.parametrize("value", [-1, 65536, 70000, True])
def test_a_port_out_of_range_is_refused_where_the_config_is_parsed(key, value):
    with pytest.raises(ConfigError, match=key):
        load_live_config(None, {key: value})
    assert getattr(load_live_config(None, {key: 0}), key) == 0
    assert getattr(load_live_config(None, {key: 65535}), key) == 65535


def test_a_second_operator_api_on_a_taken_port_raises_instead_of_running_without_one():
    target = SimpleNamespace(executor=None, lock=threading.Lock())
    first = OperatorServer(target, port=0, token=TOKEN)
    port = first.start()
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json() == {"status": "starting"}
        with pytest.raises(ConfigError, match="already in use") as err:
            OperatorServer(target, port=port, token=TOKEN).start()
        record("ports", "second operator API on a taken port", refused=True)
        assert f"--api-port {port}" not in str(err.value) and "--api-port 0" in str(err.value)
    finally:
        first.stop()


# -- tokens ----------------------------------------------------------------------------------------
@pytest.fixture
def api(tmp_path):
    b = bars(120)
    ex = executor(tmp_path / "live.duckdb", config(b), genome(stops=False))
    server = OperatorServer(SimpleNamespace(executor=ex, lock=threading.Lock()), port=0, token=TOKEN)
    url = f"http://127.0.0.1:{server.start()}"
    yield ex, url
    server.stop()
    ex.state.close()


HEADERS = [
    ("bare token, no scheme", TOKEN),
    ("Basic scheme", f"Basic {TOKEN}"),
    ("no space after Bearer", f"Bearer{TOKEN}"),
    ("token with a suffix", f"Bearer {TOKEN}x"),
    ("the token's first half", f"Bearer {TOKEN[: len(TOKEN) // 2]}"),
    ("Bearer alone", "Bearer"),
    ("the scheme twice", f"Bearer Bearer {TOKEN}"),
    ("non-ASCII after the token", f"Bearer {TOKEN}é".encode()),
]


@pytest.mark.parametrize("name, header", HEADERS, ids=[c[0] for c in HEADERS])
def test_halt_without_the_bearer_token_is_refused(api, name, header):
    ex, url = api
    r = httpx.post(f"{url}/halt", headers={"Authorization": header}, timeout=5)
    record("tokens", name, refused=r.status_code == 401 and ex.risk.state.value == "ACTIVE",
           crashed=r.status_code >= 500)
    assert r.status_code == 401, r.text
    assert ex.risk.state.value == "ACTIVE"


def test_the_bearer_scheme_is_read_in_any_case(api):
    ex, url = api
    for scheme in ("Bearer", "bearer", "BEARER"):
        r = httpx.post(f"{url}/halt", headers={"Authorization": f"{scheme} {TOKEN}"}, timeout=5)
        assert r.status_code == 200 and ex.risk.state.value == "HALTED"
        r = httpx.post(f"{url}/resume", headers={"Authorization": f"{scheme}  {TOKEN}"}, timeout=5)
        assert r.status_code == 200 and ex.risk.state.value == "ACTIVE"


# -- keys and credentials --------------------------------------------------------------------------
MALFORMED = [
    ("key not hex", WALLET, "0x" + "zq" * 32, KEY_ENV, "not a hex digit"),
    ("key without 0x", WALLET, KEY[2:], KEY_ENV, "does not start with 0x"),
    ("key one digit short", WALLET, KEY[:-1], KEY_ENV, "63 hex digits"),
    ("wallet not an address", "0x12ab", KEY, WALLET_ENV, "4 hex digits"),
]


@pytest.mark.parametrize("name, wallet, key, variable, why", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_a_malformed_exchange_key_is_refused_before_anything_is_sent(hostile, paper, gaorg_home, name, wallet, key,
                                                                     variable, why):
    res = hostile("keys", name, *LIVE, "--genome", paper, "--exchange", "hyperliquid", "--feed", "exchange",
                  "--api-url", NOWHERE, stores=[gaorg_home], env={WALLET_ENV: wallet, KEY_ENV: key})
    assert variable in res.stderr and why in res.stderr
    body = key.removeprefix("0x")
    pieces = [body[i:i + 8] for i in range(len(body) - 7)]  # no part of the key, anywhere
    assert not [p for p in pieces if p in res.stdout + res.stderr]


def test_credentials_in_the_api_url_are_never_echoed(hostile, paper, gaorg_home):
    url = f"http://operator:{URL_PASSWORD}@127.0.0.1:9/"
    res = hostile("keys", "api url with user:password", *LIVE, "--genome", paper, "--exchange", "hyperliquid",
                  "--feed", "exchange", "--api-url", url, "--json", expect=1, stores=[gaorg_home],
                  env={WALLET_ENV: WALLET, KEY_ENV: KEY})
    assert "http://***@127.0.0.1:9" in res.stderr, res.stderr  # the URL that failed, its credentials masked
    assert URL_PASSWORD not in res.stdout + res.stderr and "operator:" not in res.stdout + res.stderr


def register(settings, name: str = "strat") -> None:
    """``name`` v1 at @production in the test's MLflow store, laid out as gaorg registers it."""
    from mlflow import MlflowClient

    from gaorg.tracking.registry import REGISTERED_PARAM

    g = genome(stops=False)
    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    client.create_registered_model(name)
    run = client.create_run(client.create_experiment("planted"))
    client.log_param(run.info.run_id, REGISTERED_PARAM, json.dumps({g.canonical_hash(): {"deflated_sharpe": 0.99}}))
    source = settings.home / "mlartifacts" / "v1"
    save_genome(g, source / "artifacts" / "genome.json")
    client.create_model_version(name, source=str(source), run_id=run.info.run_id,
                                tags={"genome_hash": g.canonical_hash()})
    client.set_registered_model_alias(name, "production", "1")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")
def test_planted_secrets_appear_in_no_output_log_live_state_or_mlflow_store(cli, settings, gaorg_home):
    """A real ``gaorg live`` on the stand-in exchange, whose orders are refused and fail: the errors it
    logs and stores quote the exchange's URL; the key, the token and the URL's password are nowhere."""
    b = bars(120, seed=9)
    store_bars(gaorg_home, b)
    register(settings)
    env = {WALLET_ENV: WALLET, KEY_ENV: KEY, TOKEN_ENV: TOKEN}
    with StandInExchange([b]) as ex:
        ex.prices["BTC"] = float(b.close[48])
        ex.fail_order("reject")  # the exchange refuses the first order
        ex.fail("order", "503", "503", "503", "503", "503")  # the next gives up after retries: URL in the errors
        url = ex.url.replace("http://", f"http://operator:{URL_PASSWORD}@")
        res = cli("live", "--model", "strat", "--symbol", SYMBOL, "--timeframe", "1h", "--exchange", "hyperliquid",
                  "--feed", "replay", "--api-url", url, "--start", "2023-01-03", "--max-bars", "12",
                  "--api-port", "0", "--metrics-port", "0", "--json", env=env)
        signed = [r for r in ex.state.requests if r.type == "order"]
    assert res.code == 1, res.stderr  # orders failed at the exchange: not a clean run
    assert res.json["failed"] >= 2 and res.json["orders"] >= res.json["failed"] and signed
    assert "orders failed at the exchange" in res.stderr and "***@127.0.0.1" in res.stderr
    found = leaks([KEY, KEY[2:], TOKEN, URL_PASSWORD], {"stdout": res.stdout, "stderr": res.stderr}, [gaorg_home])
    record("keys", "planted key, token and URL password", refused=not found, changed=bool(found), code=res.code)
    assert (gaorg_home / "live.duckdb").exists() and (gaorg_home / "mlflow.db").exists()
    assert found == []


# -- kill -9 ---------------------------------------------------------------------------------------
def stored(home) -> dict:
    """What a paper run left in its live state: orders, fills, bars done and the last mark."""
    con = duckdb.connect(str(home / "live.duckdb"), read_only=True)
    try:
        return {"orders": sorted(con.execute("SELECT cloid, status, filled FROM orders").fetchall()),
                "fills": sorted(con.execute("SELECT ts, units, price FROM fills").fetchall()),
                "bars": con.execute("SELECT bars FROM progress").fetchone()[0],
                "mark": con.execute("SELECT ts, equity, units FROM equity ORDER BY ts DESC LIMIT 1").fetchone()}
    finally:
        con.close()


def test_a_kill_9_mid_run_then_a_restart_ends_where_an_uninterrupted_run_ends(gaorg_home, tmp_path, monkeypatch):
    b = bars(200, seed=9)
    store_bars(gaorg_home, b)
    path = save_genome(genome(), tmp_path / "g.json")

    def cfg(n: int) -> LiveConfig:
        return LiveConfig(model="g", symbol=SYMBOL, timeframe="1h", start="2023-01-03", max_bars=n)

    assert run_forked(cfg(20), path) == 0
    assert run_forked(cfg(90), path, crash="after_fill") == -signal.SIGKILL  # at the next order's fill
    killed_at = stored(gaorg_home)["bars"]
    assert 20 <= killed_at < 90  # in the middle: the fill stored, that bar's progress not
    assert run_forked(cfg(90), path) == 0
    resumed = stored(gaorg_home)
    monkeypatch.setenv("GAORG_HOME", str(tmp_path / "reference"))
    store_bars(tmp_path / "reference", b)
    assert run_forked(cfg(90), path) == 0
    reference = stored(tmp_path / "reference")
    same = resumed == reference
    record("kill", f"kill -9 after bar {killed_at} of a paper run, then a restart", refused=same, changed=not same)
    assert resumed["bars"] == 90 and resumed["orders"]
    assert resumed == reference
