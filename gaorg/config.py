"""Typed, frozen settings, parsed once at the edge.

``Settings`` holds the embedded defaults of DESIGN.md: everything lives under ``GAORG_HOME``
(default ``./.gaorg``); ``MLFLOW_TRACKING_URI`` overrides the tracking store. ``parse_config``
turns a mapping (YAML, JSON) into any frozen config dataclass, rejecting unknown keys with a
"did you mean" and wrong types with the expected type.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gaorg.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Where gaorg keeps its state. Build with :meth:`from_env`; pass it inward."""

    home: Path
    tracking_uri: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("GAORG_HOME") or ".gaorg").expanduser().absolute()
        uri = env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
        return cls(home=home, tracking_uri=uri)

    @property
    def market_db(self) -> Path:
        return self.home / "market.duckdb"

    @property
    def live_db(self) -> Path:
        return self.home / "live.duckdb"

    @property
    def artifacts(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def checkpoints(self) -> Path:
        return self.home / "checkpoints"

    @property
    def nightly(self) -> Path:
        return self.home / "nightly"

    def ensure_home(self) -> Path:
        """Create GAORG_HOME if needed and return it."""
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


def did_you_mean(word: str, options: typing.Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix for an unknown name, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_config(cls: type[T], data: Mapping[str, Any] | None, where: str = "config") -> T:
    """Build the frozen dataclass ``cls`` from ``data``; unknown keys and wrong types raise ConfigError.

    Nested dataclass fields take nested mappings; tuples take lists. ``where`` names the source in
    messages (a file name, a section).
    """
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(
                f"{where}: unknown key {key!r}{did_you_mean(str(key), fields)}; "
                f"known keys: {', '.join(sorted(fields))}"
            )
        kwargs[key] = _coerce(hints[key], value, f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"{where}: {exc}") from None
    except ValueError as exc:  # __post_init__ checks of the dataclass
        raise ConfigError(f"{where}: {exc}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return parse_config(hint, value, where)
    if hint is Any:
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{where}: expected a path, got {value!r}")
        return Path(value)
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
