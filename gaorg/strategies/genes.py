"""Parameter genes: typed, bounded, and the operations evolution needs on them.

A gene validates a value (naming the bounds when it is out of them), samples a random value,
mutates a value within its bounds, canonicalises it (so equal strategies hash equally) and, for
periods measured in bars, rescales it to another timeframe.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from gaorg.errors import GenomeError

FLOAT_DIGITS = 10  # canonical floats keep 10 significant digits


@dataclass(frozen=True)
class IntGene:
    """A whole number in ``[low, high]``; ``period=True`` when it counts bars (rescaled by timeframe)."""

    name: str
    low: int
    high: int
    period: bool = False
    doc: str = ""

    def validate(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise GenomeError(f"{where}: {self.name} must be a whole number, got {value!r}")
        if not self.low <= value <= self.high:
            raise GenomeError(
                f"{where}: {self.name}={value} is out of bounds [{self.low}, {self.high}]"
            )
        return value

    def sample(self, rng: random.Random) -> int:
        """Uniform; log-uniform for periods (5-50 bars as likely as 500-5000, as scales are)."""
        if self.period and self.low >= 1:
            value = math.floor(math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1))))
            return min(self.high, max(self.low, value))
        return rng.randint(self.low, self.high)

    def mutate(self, value: int, rng: random.Random, strength: float) -> int:
        """A bounded integer step of at least 1, scaled to the range."""
        span = self.high - self.low
        step = max(1, round(abs(rng.gauss(0.0, strength * span))))
        return min(self.high, max(self.low, value + rng.choice((-1, 1)) * step))

    def rescale(self, value: int, factor: float) -> int:
        if not self.period:
            return value
        return min(self.high, max(self.low, round(value * factor)))

    def canonical(self, value: int) -> int:
        return int(value)


@dataclass(frozen=True)
class FloatGene:
    """A real number in ``[low, high]``."""

    name: str
    low: float
    high: float
    doc: str = ""

    def validate(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GenomeError(f"{where}: {self.name} must be a number, got {value!r}")
        value = float(value)
        if not self.low <= value <= self.high:  # also refuses NaN
            raise GenomeError(
                f"{where}: {self.name}={value} is out of bounds [{self.low}, {self.high}]"
            )
        return self.canonical(value)

    def sample(self, rng: random.Random) -> float:
        return self.canonical(rng.uniform(self.low, self.high))

    def mutate(self, value: float, rng: random.Random, strength: float) -> float:
        """A Gaussian step with sigma ``strength * range``, clipped to the bounds."""
        moved = value + rng.gauss(0.0, strength * (self.high - self.low))
        return self.canonical(min(self.high, max(self.low, moved)))

    def rescale(self, value: float, factor: float) -> float:
        return value

    def canonical(self, value: float) -> float:
        return float(f"{float(value):.{FLOAT_DIGITS}g}")


@dataclass(frozen=True)
class ChoiceGene:
    """One of a few named options."""

    name: str
    choices: tuple[str, ...]
    doc: str = ""

    def validate(self, value: Any, where: str) -> str:
        if value not in self.choices:
            raise GenomeError(
                f"{where}: {self.name}={value!r} is not one of {', '.join(map(repr, self.choices))}"
            )
        return value

    def sample(self, rng: random.Random) -> str:
        return rng.choice(self.choices)

    def mutate(self, value: str, rng: random.Random, strength: float) -> str:
        """A flip to another option (the same value when there is only one)."""
        others = [c for c in self.choices if c != value]
        return rng.choice(others) if others else value

    def rescale(self, value: str, factor: float) -> str:
        return value

    def canonical(self, value: str) -> str:
        return value


Gene = IntGene | FloatGene | ChoiceGene
