"""Typed, frozen settings, parsed once at the edge.

``Settings`` holds the embedded defaults of DESIGN.md: everything lives under ``GAORG_HOME``;
``MLFLOW_TRACKING_URI`` overrides the tracking store. Without ``GAORG_HOME`` the store is one per
checkout, whichever folder a command or a notebook kernel starts in (:func:`default_home`). ``parse_config``
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gaorg.errors import ConfigError

T = TypeVar("T")


STORE = ".gaorg"
"""The folder name of a store found without ``GAORG_HOME``."""


def _is_checkout(folder: Path) -> bool:
    """Whether ``folder`` is the root of a gaorg checkout (its pyproject.toml names project gaorg)."""
    import tomllib

    pyproject = folder / "pyproject.toml"
    if not (pyproject.is_file() and (folder / "gaorg").is_dir()):
        return False
    try:
        return tomllib.loads(pyproject.read_text()).get("project", {}).get("name") == "gaorg"
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def default_home(cwd: Path | None = None) -> tuple[Path, str]:
    """The store used when ``GAORG_HOME`` is unset, and why: one per checkout, from any sub-folder.

    Walking up from ``cwd``: the ``.gaorg`` of the gaorg checkout it is in (a kernel started by
    ``jupyter lab notebooks/`` shares the demo's store); outside a checkout, the nearest ``.gaorg``
    folder above; else ``./.gaorg``.
    """
    cwd = (Path.cwd() if cwd is None else cwd).absolute()
    folders = [cwd, *cwd.parents]
    for folder in folders:
        if _is_checkout(folder):
            return folder / STORE, f"the store of the gaorg checkout {folder}"
    for folder in folders:
        if (folder / STORE).is_dir():
            return folder / STORE, f"the nearest {STORE} folder above {cwd}"
    return cwd / STORE, f"{STORE} of the working directory"


@dataclass(frozen=True)
class Settings:
    """Where gaorg keeps its state. Build with :meth:`from_env`; pass it inward.

    ``origin`` says how ``home`` was chosen (``GAORG_HOME`` or the default's reason).
    """

    home: Path
    tracking_uri: str
    origin: str = field(default="GAORG_HOME", compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        env = os.environ if env is None else env
        if env.get("GAORG_HOME"):
            home, origin = Path(env["GAORG_HOME"]).expanduser().absolute(), "GAORG_HOME"
        else:
            home, origin = default_home(cwd)
        uri = env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
        return cls(home=home, tracking_uri=uri, origin=origin)

    def describe(self) -> str:
        """One line naming the store in use and how it was chosen (a notebook's first output)."""
        state = "" if self.market_db.exists() else (
            "; it holds no market data yet: run `make demo` or `gaorg data synth` from the checkout")
        tracking = "" if self.tracking_uri.startswith("sqlite:///" + str(self.home)) else (
            f"; MLflow at {self.tracking_uri}")
        return f"gaorg store: {self.home} ({self.origin}){tracking}{state}"

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
