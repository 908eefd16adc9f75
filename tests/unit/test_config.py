from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from gaorg.config import Settings, parse_config
from gaorg.errors import ConfigError


def test_settings_default_home_is_dot_gaorg_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({})
    assert s.home == tmp_path / ".gaorg"
    assert s.market_db == tmp_path / ".gaorg" / "market.duckdb"
    assert s.tracking_uri == f"sqlite:///{tmp_path / '.gaorg' / 'mlflow.db'}"


def checkout(root: Path) -> Path:
    """A minimal gaorg checkout at ``root``: pyproject.toml naming project gaorg, the package folder."""
    (root / "gaorg").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "gaorg"\nversion = "0"\n')
    return root


def test_settings_default_home_is_the_checkouts_store_from_any_sub_folder(tmp_path):
    root = checkout(tmp_path / "repo")
    for where in (root, root / "notebooks", root / "gaorg"):
        s = Settings.from_env({}, cwd=where)
        assert s.home == root / ".gaorg", where
        assert "checkout" in s.origin and str(root) in s.describe()
    # a stale store in a sub-folder does not split the checkout in two
    (root / "notebooks" / ".gaorg").mkdir()
    assert Settings.from_env({}, cwd=root / "notebooks").home == root / ".gaorg"
    # another project's pyproject.toml is not a gaorg checkout
    other = tmp_path / "other"
    (other / "gaorg").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "not-gaorg"\n')
    assert Settings.from_env({}, cwd=other).home == other / ".gaorg"


def test_settings_default_home_outside_a_checkout_is_the_nearest_store_above(tmp_path):
    (tmp_path / "work" / ".gaorg").mkdir(parents=True)
    deep = tmp_path / "work" / "a" / "b"
    deep.mkdir(parents=True)
    s = Settings.from_env({}, cwd=deep)
    assert s.home == tmp_path / "work" / ".gaorg"
    assert "nearest" in s.origin


def test_settings_gaorg_home_wins_over_the_checkouts_store(tmp_path):
    root = checkout(tmp_path / "repo")
    s = Settings.from_env({"GAORG_HOME": str(tmp_path / "mine")}, cwd=root / "notebooks")
    assert s.home == tmp_path / "mine" and s.origin == "GAORG_HOME"
    assert "no market data yet" in s.describe()


def test_settings_follow_gaorg_home_and_mlflow_tracking_uri():
    s = Settings.from_env({"GAORG_HOME": "/data/g", "MLFLOW_TRACKING_URI": "http://mlflow:5000"})
    assert s.live_db == Path("/data/g/live.duckdb")
    assert s.tracking_uri == "http://mlflow:5000"


def test_settings_are_frozen():
    s = Settings.from_env({"GAORG_HOME": "/x"})
    with pytest.raises(AttributeError):
        s.home = Path("/y")  # type: ignore[misc]


@dataclass(frozen=True)
class Inner:
    limit: float = 1.0


@dataclass(frozen=True)
class Outer:
    name: str
    count: int = 3
    symbols: tuple[str, ...] = ()
    inner: Inner = Inner()
    maybe: float | None = None


def test_parse_config_builds_nested_frozen_configs():
    cfg = parse_config(Outer, {"name": "x", "count": 5, "symbols": ["A", "B"], "inner": {"limit": 2}})
    assert cfg == Outer("x", 5, ("A", "B"), Inner(2.0), None)


def test_parse_config_rejects_an_unknown_key_with_did_you_mean():
    with pytest.raises(ConfigError, match=r"unknown key 'cuont' \(did you mean 'count'\?\)"):
        parse_config(Outer, {"name": "x", "cuont": 1}, where="evolve.yaml")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x", "count": "3"}, r"count: expected a whole number"),
        ({"name": "x", "count": True}, r"count: expected a whole number"),
        ({"name": "x", "inner": {"limit": "high"}}, r"inner.limit: expected a number"),
        ({"name": "x", "symbols": "BTC"}, r"symbols: expected a list"),
        ({}, r"missing 1 required"),
    ],
)
def test_parse_config_names_the_field_and_the_expected_type(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(Outer, data)


def test_a_run_that_cannot_fit_the_machine_is_refused_before_it_starts():
    from gaorg.errors import ConfigError
    from gaorg.evolve.config import EvolveConfig, check_fits

    gib = 2**30
    check_fits(EvolveConfig(symbols=("A",), population=64, workers=2), memory_bytes=24 * gib, cores=2)
    with pytest.raises(ConfigError, match=r"population: 1000000000 .* use a population of at most \d+"):
        check_fits(EvolveConfig(symbols=("A",), population=10**9), memory_bytes=24 * gib, cores=2)
    with pytest.raises(ConfigError, match=r"workers: 100000 local worker processes .* use at most 8"):
        check_fits(EvolveConfig(symbols=("A",), workers=100_000), memory_bytes=24 * gib, cores=2)
    # a cluster's workers are not this machine's
    check_fits(EvolveConfig(symbols=("A",), workers=100_000, scheduler="tcp://10.0.0.1:8786"),
               memory_bytes=24 * gib, cores=2)
