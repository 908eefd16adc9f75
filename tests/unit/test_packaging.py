"""pyproject.toml, environment.yml and requirements.lock name the same packages at the same versions."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import REPO


def _name(spec: str) -> str:
    return re.split(r"[=<>!~\[ ]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _pins(specs: list[str]) -> dict[str, str]:
    pins = {}
    for spec in specs:
        assert "==" in spec, f"{spec!r} is not pinned with =="
        pins[_name(spec)] = spec.split("==", 1)[1].strip()
    return pins


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    return _pins(specs)


def _environment_pins() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return _pins([p for p in pip if not p.startswith("-e")])


def test_environment_yml_lists_the_same_packages_as_pyproject():
    py, env = _pyproject_pins(), _environment_pins()
    assert sorted(set(py) - set(env)) == [], "in pyproject.toml, missing from environment.yml"
    assert sorted(set(env) - set(py)) == [], "in environment.yml, missing from pyproject.toml"
    assert {k: v for k, v in py.items() if env[k] != v} == {}, "versions differ"


def test_lock_pins_every_direct_dependency_at_the_pyproject_version():
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith(("#", " ")):
            name, version = line.split("==", 1)
            lock[_name(name)] = version.split(";")[0].strip()
    py = _pyproject_pins()
    assert {k: v for k, v in py.items() if lock.get(k) != v} == {}, "re-run `make lock`"
