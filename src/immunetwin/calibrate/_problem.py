"""The calibration problem: immutable tables of observables, conditions, measurements and
parameters over one model (PEtab v1 semantics, independent of any file format).

Strings from files become enums here, once; everything after this module works with the enums.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from immunetwin.errors import InvalidInputError, UnknownIdentifierError
from immunetwin.ir import Model


class Scale(enum.Enum):
    """How a value is written: as is, as its natural logarithm or as its base-10 logarithm.

    Used for parameter scales and for observable transformations.
    """

    LIN = "lin"
    LOG = "log"
    LOG10 = "log10"

    def to_scale(self, value: float) -> float:
        """The value on this scale (``log``/``log10`` of a positive value)."""
        if self is Scale.LIN:
            return float(value)
        if value <= 0:
            return -math.inf if value == 0 else math.nan
        return math.log(value) if self is Scale.LOG else math.log10(value)

    def from_scale(self, value: np.ndarray) -> np.ndarray:
        """The linear value of ``value`` written on this scale (elementwise)."""
        if self is Scale.LIN:
            return np.asarray(value, dtype=float)
        return np.exp(value) if self is Scale.LOG else np.power(10.0, value)

    def derivative(self, linear: np.ndarray) -> np.ndarray:
        """d linear / d scaled, given the linear value."""
        if self is Scale.LIN:
            return np.ones_like(linear, dtype=float)
        return linear if self is Scale.LOG else linear * math.log(10.0)


class NoiseDistribution(enum.Enum):
    """The distribution of a measurement around its (transformed) simulated value."""

    NORMAL = "normal"
    LAPLACE = "laplace"


class PriorType(enum.Enum):
    """PEtab v1 prior types (``parameterScale*`` act on the parameter's scale)."""

    UNIFORM = "uniform"
    NORMAL = "normal"
    LAPLACE = "laplace"
    LOG_NORMAL = "logNormal"
    LOG_LAPLACE = "logLaplace"
    PARAMETER_SCALE_UNIFORM = "parameterScaleUniform"
    PARAMETER_SCALE_NORMAL = "parameterScaleNormal"
    PARAMETER_SCALE_LAPLACE = "parameterScaleLaplace"


@dataclass(frozen=True, slots=True)
class Prior:
    """A prior: its type and parameters (e.g. mean and standard deviation)."""

    type: PriorType
    parameters: tuple[float, ...]


Override = float | str
"""A measurement- or condition-specific value: a number or the id of a problem parameter."""


@dataclass(frozen=True, slots=True)
class Observable:
    """``formula`` and ``noise_formula`` are PEtab math over model ids, problem parameter ids
    and the placeholders ``observableParameter<k>_<id>`` / ``noiseParameter<k>_<id>``."""

    id: str
    formula: str
    noise_formula: str
    transformation: Scale = Scale.LIN
    noise_distribution: NoiseDistribution = NoiseDistribution.NORMAL
    name: str = ""


@dataclass(frozen=True, slots=True)
class Condition:
    """Values that a simulation (or pre-equilibration) uses for model parameters, species
    initial values or compartment sizes. A NaN species value keeps the pre-equilibrated value.
    """

    id: str
    values: tuple[tuple[str, Override], ...] = ()
    name: str = ""

    def as_dict(self) -> dict[str, Override]:
        return dict(self.values)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One data point; ``time`` may be ``inf``: the value at the steady state the simulation
    condition settles in (from its initial state, after pre-equilibration if any)."""

    observable_id: str
    simulation_condition_id: str
    time: float
    value: float
    preequilibration_condition_id: str | None = None
    observable_parameters: tuple[Override, ...] = ()
    noise_parameters: tuple[Override, ...] = ()
    dataset_id: str | None = None
    replicate_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProblemParameter:
    """A row of the parameter table. Bounds and the nominal value are on the linear scale."""

    id: str
    scale: Scale
    lower: float
    upper: float
    nominal: float
    estimate: bool
    name: str = ""
    initialization_prior: Prior | None = None
    objective_prior: Prior | None = None


@dataclass(frozen=True, slots=True)
class SourceFiles:
    """Where a problem was read from (for messages and for writing it back)."""

    yaml: Path | None = None
    model: Path | None = None
    observables: tuple[Path, ...] = ()
    conditions: tuple[Path, ...] = ()
    measurements: tuple[Path, ...] = ()
    parameters: tuple[Path, ...] = ()


@dataclass(frozen=True, eq=False)
class CalibrationProblem:
    """A model plus the data and parameters to calibrate it (immutable).

    The parameter vector of an objective holds the *estimated* parameters, in table order, on
    their scales: see :attr:`estimated_ids`, :meth:`nominal_x` and :meth:`bounds_x`.
    """

    model: Model
    observables: tuple[Observable, ...]
    conditions: tuple[Condition, ...]
    measurements: tuple[Measurement, ...]
    parameters: tuple[ProblemParameter, ...]
    sources: SourceFiles = field(default_factory=SourceFiles)

    def __post_init__(self) -> None:
        for what, items in (
            ("observable", self.observables),
            ("condition", self.conditions),
            ("parameter", self.parameters),
        ):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise InvalidInputError(f"{what} id '{item.id}' is defined twice")
                seen.add(item.id)

    # --- lookups ------------------------------------------------------------------------

    def observable(self, id: str) -> Observable:
        return _find(self.observables, id, "observable")

    def condition(self, id: str) -> Condition:
        return _find(self.conditions, id, "condition")

    def parameter(self, id: str) -> ProblemParameter:
        return _find(self.parameters, id, "parameter")

    # --- the estimation vector ----------------------------------------------------------

    @property
    def estimated(self) -> tuple[ProblemParameter, ...]:
        return tuple(p for p in self.parameters if p.estimate)

    @property
    def estimated_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.estimated)

    def nominal_x(self) -> np.ndarray:
        """Nominal values of the estimated parameters on their scales."""
        return np.array([p.scale.to_scale(p.nominal) for p in self.estimated], dtype=float)

    def bounds_x(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the estimated parameters on their scales."""
        lower = np.array([p.scale.to_scale(p.lower) for p in self.estimated], dtype=float)
        upper = np.array([p.scale.to_scale(p.upper) for p in self.estimated], dtype=float)
        return lower, upper

    def to_linear(self, x: np.ndarray) -> dict[str, float]:
        """Linear values of every problem parameter: ``x`` for the estimated ones (given on
        their scales), nominal values for the others."""
        values = {p.id: float(p.nominal) for p in self.parameters}
        for p, v in zip(self.estimated, _checked(x, len(self.estimated)), strict=True):
            values[p.id] = float(p.scale.from_scale(np.asarray(v)))
        return values


def _checked(x: np.ndarray, n: int) -> np.ndarray:
    array = np.asarray(x, dtype=float)
    if array.shape != (n,):
        raise InvalidInputError(
            f"expected a parameter vector of {n} estimated parameters (on their scales), got "
            f"shape {array.shape}; see CalibrationProblem.estimated_ids for the order"
        )
    return array


_Item = TypeVar("_Item", Observable, Condition, ProblemParameter)


def _find(items: tuple[_Item, ...], id: str, what: str) -> _Item:
    for item in items:
        if item.id == id:
            return item
    known = ", ".join(item.id for item in items[:20])
    raise UnknownIdentifierError(f"no {what} '{id}' in the problem; expected one of: {known}")
