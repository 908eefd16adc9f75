"""Keys never leak: a planted private key appears in no log line, error, output or stored file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gaorg.config import Settings
from gaorg.live.feed import ReplayFeed
from gaorg.live.registry import FileRegistry
from gaorg.live.runner import Runner
from gaorg.strategies.genome import save_genome
from gaorg.testing.hyperliquid_exchange import StandInExchange
from tests.integration.live_kit import bars, config, genome

PLANTED = "0x" + "9f3c" * 16  # a private key, planted in the environment
WALLET = "0x" + "e1" * 20


def test_a_planted_key_never_appears_in_logs_errors_outputs_or_stored_files(tmp_path, monkeypatch, caplog, capfd):
    monkeypatch.setenv("GAORG_HYPERLIQUID_PRIVATE_KEY", PLANTED)
    monkeypatch.setenv("GAORG_HYPERLIQUID_WALLET", WALLET)
    caplog.set_level(logging.DEBUG)
    b = bars(120)
    home = tmp_path / "home"
    settings = Settings(home=home, tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    path = save_genome(genome(stops=False), tmp_path / "g.json")
    with StandInExchange([b]) as ex:
        ex.prices["BTC"] = float(b.close[-1])
        ex.fail_order("reject")  # an exchange error message travels through the logs and the state
        ex.fail("order", "503", "503", "503", "503", "503")  # then an order that gives up: logged errors
        cfg = config(b, model="g", broker="exchange", api_url=ex.url, rate_limit_ms=1.0)
        summary = Runner(cfg, settings, FileRegistry(path), feed=ReplayFeed(b, warmup=5000, first=60)).run()
        signed = [r.body for r in ex.state.requests if r.type == "order"]
    assert summary.bars == 60 and signed  # orders were signed with the key and sent
    events = " ".join(str(e) for e in caplog.records) + caplog.text
    assert "rejected" in events.lower() or "Insufficient" in events
    out, err = capfd.readouterr()
    texts = {"log": caplog.text, "stdout": out, "stderr": err, "summary": repr(summary.to_dict())}
    assert leaks([PLANTED, PLANTED[2:]], texts, [home]) == []


def leaks(secrets: list[str], texts: dict[str, str], roots: list[Path]) -> list[str]:
    """Where any of ``secrets`` appears: the named ``texts`` and every file under ``roots`` (bytes, so a
    DuckDB or SQLite file, a journal or a WAL is searched as it lies on disk)."""
    found = [f"{name} has secret #{i}" for name, text in texts.items() for i, s in enumerate(secrets) if s in text]
    for root in roots:
        for f in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            data = f.read_bytes()
            found += [f"{f} has secret #{i}" for i, s in enumerate(secrets) if s.encode() in data]
    return found


def test_the_missing_key_error_names_the_variable_only(monkeypatch):
    from gaorg.errors import ConfigError
    from gaorg.live.brokers.ccxt_broker import credentials_from_env

    with pytest.raises(ConfigError) as err:
        credentials_from_env({"GAORG_HYPERLIQUID_PRIVATE_KEY": PLANTED})
    assert "GAORG_HYPERLIQUID_WALLET" in str(err.value) and PLANTED not in str(err.value)
