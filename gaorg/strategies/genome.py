"""The genome: a strategy as JSON (``"schema": "gaorg.genome/1"``), validated, never executed.

Structure genes pick modules (one entry, zero or more filters, zero or more exits, an optional
sizing); parameter genes set each module's parameters within declared bounds. ``parse_genome``
is the only way in: it rejects unknown schemas, modules and parameters (with a "did you mean"),
missing or extra fields and out-of-bounds values, and returns the canonical form, so two genomes
that mean the same strategy compare equal and share ``canonical_hash()``.

Example::

    {"schema": "gaorg.genome/1",
     "entry": {"module": "ema_crossover", "params": {"fast": 12, "slow": 48}},
     "filters": [{"module": "rsi_filter", "params": {...}}],
     "exits": [], "sizing": null}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaorg.config import did_you_mean
from gaorg.errors import GenomeError, InputError
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.spec import ModuleSpec, Role

SCHEMA = "gaorg.genome/1"
GENOME_KEYS = ("schema", "entry", "filters", "exits", "sizing")
SLOT_KEYS = ("module", "params")


@dataclass(frozen=True, order=True)
class Slot:
    """One module in a genome: its name and its parameters (in the module's gene order)."""

    module: str
    params: tuple[tuple[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def to_json_obj(self) -> dict[str, Any]:
        return {"module": self.module, "params": self.as_dict()}


@dataclass(frozen=True)
class Genome:
    """A validated, canonical strategy. Build it with :func:`parse_genome` or :func:`make_genome`."""

    entry: Slot
    filters: tuple[Slot, ...] = ()
    exits: tuple[Slot, ...] = ()
    sizing: Slot | None = None

    @property
    def slots(self) -> tuple[Slot, ...]:
        return (self.entry, *self.filters, *self.exits, *((self.sizing,) if self.sizing else ()))

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(slot.module for slot in self.slots)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "entry": self.entry.to_json_obj(),
            "filters": [s.to_json_obj() for s in self.filters],
            "exits": [s.to_json_obj() for s in self.exits],
            "sizing": self.sizing.to_json_obj() if self.sizing else None,
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=indent is None)

    def canonical_hash(self) -> str:
        """16 hex digits of SHA-256 over the canonical JSON: equal strategies, equal hashes.

        Kept on the (immutable) genome once computed: an evolution asks for it thousands of times.
        """
        cached = self.__dict__.get("_canonical_hash")
        if cached is None:
            cached = hashlib.sha256(self.to_json().encode()).hexdigest()[:16]
            object.__setattr__(self, "_canonical_hash", cached)
        return cached

    def lookback(self, catalogue: Mapping[str, ModuleSpec] = CATALOGUE) -> int:
        """Bars the strategy needs before its first meaningful target (its longest period)."""
        return max(catalogue[s.module].lookback(s.as_dict()) for s in self.slots)

    def rescaled(self, factor: float, catalogue: Mapping[str, ModuleSpec] = CATALOGUE) -> Genome:
        """The same strategy with every period gene multiplied by ``factor`` (clipped to bounds).

        Used to seed a finer timeframe from a coarser one: 1d -> 1h is ``factor=24``.
        """

        def scale(slot: Slot) -> dict[str, Any]:
            spec = catalogue[slot.module]
            params = {k: spec.gene(k).rescale(v, factor) for k, v in slot.params}
            return {"module": slot.module, "params": params}

        data = self.to_dict()
        data["entry"] = scale(self.entry)
        data["filters"] = [scale(s) for s in self.filters]
        data["exits"] = [scale(s) for s in self.exits]
        data["sizing"] = scale(self.sizing) if self.sizing else None
        return parse_genome(data, catalogue, repair=True)


MAX_GENOME_CHARS = 1_000_000
"""A genome is a few hundred characters; anything near this is not one."""


def parse_genome(
    data: Mapping[str, Any] | str,
    catalogue: Mapping[str, ModuleSpec] = CATALOGUE,
    *,
    repair: bool = False,
) -> Genome:
    """Validate a genome (a mapping or a JSON string) and return its canonical form.

    ``repair=True`` (used by evolution's operators, never on input) clips out-of-bounds numbers to
    their bounds instead of raising; every other rule still raises.
    """
    if isinstance(data, str):
        if len(data) > MAX_GENOME_CHARS:
            raise GenomeError(f"genome is {len(data)} characters of JSON; a genome is far smaller "
                              f"(at most {MAX_GENOME_CHARS})")
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise GenomeError(f"genome is not valid JSON: {exc}") from None
        except RecursionError:
            raise GenomeError("genome JSON is nested too deep to be a genome (a genome is a flat object "
                              "of a few slots)") from None
    if not isinstance(data, Mapping):
        raise GenomeError(f"a genome is a JSON object, got {type(data).__name__}")
    schema = data.get("schema")
    if schema != SCHEMA:
        raise GenomeError(
            f"unknown genome schema {schema!r}; this gaorg reads {SCHEMA!r} "
            f"(add \"schema\": \"{SCHEMA}\" to the file, or upgrade gaorg)"
        )
    _reject_extra(data, GENOME_KEYS, "genome")
    if "entry" not in data or data["entry"] is None:
        raise GenomeError("genome: 'entry' is missing; a genome needs one entry module")
    entry = _parse_slot(data["entry"], Role.ENTRY, "entry", catalogue, repair)
    filters = _parse_list(data.get("filters", []), Role.FILTER, "filters", catalogue, repair)
    exits = _parse_list(data.get("exits", []), Role.EXIT, "exits", catalogue, repair)
    sizing_raw = data.get("sizing")
    sizing = None if sizing_raw is None else _parse_slot(sizing_raw, Role.SIZING, "sizing", catalogue, repair)
    genome = Genome(entry, filters, exits, sizing)
    names = genome.modules
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise GenomeError(f"genome: module {dupes[0]!r} appears twice; each module may appear once")
    return genome


def make_genome(
    entry: tuple[str, Mapping[str, Any]],
    filters: tuple[tuple[str, Mapping[str, Any]], ...] = (),
    exits: tuple[tuple[str, Mapping[str, Any]], ...] = (),
    sizing: tuple[str, Mapping[str, Any]] | None = None,
    catalogue: Mapping[str, ModuleSpec] = CATALOGUE,
) -> Genome:
    """Build and validate a genome from ``(module, params)`` pairs (a shorthand for code and tests)."""
    obj = lambda p: {"module": p[0], "params": dict(p[1])}  # noqa: E731
    return parse_genome(
        {
            "schema": SCHEMA,
            "entry": obj(entry),
            "filters": [obj(f) for f in filters],
            "exits": [obj(e) for e in exits],
            "sizing": obj(sizing) if sizing else None,
        },
        catalogue,
    )


def load_genome(path: str | Path, catalogue: Mapping[str, ModuleSpec] = CATALOGUE) -> Genome:
    """Read and validate a genome JSON file."""
    path = Path(path)
    try:
        if not path.is_file():
            raise InputError(f"genome file {str(path)!r} does not exist" if not path.exists()
                             else f"genome file {str(path)!r} is not a regular file; give a .json file")
        with path.open("rb") as fh:
            raw = fh.read(MAX_GENOME_CHARS * 4 + 1)
    except OSError as exc:
        raise InputError(f"cannot read genome file {str(path)!r}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GenomeError(f"{path}: a genome file is UTF-8 JSON text; byte {exc.start} is not UTF-8 "
                          "(is it the right file?)") from None
    try:
        return parse_genome(text, catalogue)
    except GenomeError as exc:
        raise GenomeError(f"{path}: {exc}") from None


def save_genome(genome: Genome, path: str | Path) -> Path:
    """Write ``genome`` as indented JSON (atomically: a temp file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(genome.to_json(indent=2) + "\n")
    tmp.replace(path)
    return path


def _reject_extra(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise GenomeError(
                f"{where}: unexpected field {key!r}{did_you_mean(str(key), allowed)}; "
                f"allowed fields: {', '.join(allowed)}"
            )


def _parse_list(raw: Any, role: Role, where: str, catalogue, repair: bool) -> tuple[Slot, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        raise GenomeError(f"genome: {where!r} must be a list of modules, got {raw!r}")
    slots = [_parse_slot(item, role, f"{where}[{i}]", catalogue, repair) for i, item in enumerate(raw)]
    return tuple(sorted(set(slots)))  # order of filters/exits does not change the strategy


def _parse_slot(raw: Any, role: Role, where: str, catalogue, repair: bool) -> Slot:
    if not isinstance(raw, Mapping):
        raise GenomeError(f"{where}: a module is an object {{'module': ..., 'params': {{...}}}}, got {raw!r}")
    _reject_extra(raw, SLOT_KEYS, where)
    name = raw.get("module")
    if name not in catalogue:
        raise GenomeError(
            f"{where}: unknown module {name!r}{did_you_mean(str(name), catalogue)}; "
            f"known modules: {', '.join(sorted(catalogue))}"
        )
    spec = catalogue[name]
    if spec.role is not role:
        fits = sorted(n for n, s in catalogue.items() if s.role is role)
        raise GenomeError(
            f"{where}: module {name!r} is a {spec.role.value} module, not {role.value}; "
            f"{role.value} modules: {', '.join(fits)}"
        )
    params = raw.get("params", {})
    if not isinstance(params, Mapping):
        raise GenomeError(f"{where}: 'params' of {name!r} must be an object, got {params!r}")
    gene_names = [g.name for g in spec.genes]
    for key in params:
        if key not in gene_names:
            raise GenomeError(
                f"{where}: module {name!r} has no parameter {key!r}{did_you_mean(str(key), gene_names)}; "
                f"its parameters: {', '.join(gene_names)}"
            )
    values: dict[str, Any] = {}
    for gene in spec.genes:
        if gene.name not in params:
            raise GenomeError(f"{where}: module {name!r} is missing parameter {gene.name!r}")
        value = params[gene.name]
        if repair and not isinstance(value, str):
            value = min(gene.high, max(gene.low, value))  # type: ignore[union-attr]
        values[gene.name] = gene.validate(value, f"{where} ({name})")
    if spec.check is not None:
        problem = spec.check(values)
        if problem:
            raise GenomeError(f"{where} ({name}): {problem}")
    return Slot(name, tuple((g.name, values[g.name]) for g in spec.genes))
