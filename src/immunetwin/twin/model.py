"""What a twin needs to know about its model: which parameters vary between patients (with
their population distribution), how the model's quantities are measured, which outcomes are
defined on it, and how drugs are dosed.

Parameters are described on the natural-log scale (log-normal across patients). The infection
day ``tau`` - days from infection to the patient's reference time (e.g. symptom onset) - is
unknown for a real patient and estimated like a parameter; the model's clock starts at
infection, the patient's at the reference time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from immunetwin.compose.dosing import Regimen
from immunetwin.engine import CompiledModel, compile_model
from immunetwin.errors import InvalidInputError, UnknownIdentifierError
from immunetwin.ir import Model


@dataclass(frozen=True)
class VaryingParameter:
    """A model parameter that differs between patients: log-normal with median ``median``
    and log-scale standard deviation ``log_sd``, truncated to [lower, upper]."""

    id: str
    median: float
    log_sd: float
    lower: float
    upper: float
    description: str = ""


@dataclass(frozen=True)
class MeasuredQuantity:
    """How a clinical quantity (``key``, as in ``twin.quantities``) is predicted: the model id
    that equals it (already in the quantity's canonical unit) and the measurement noise, a
    log-normal with log-scale sd ``log_sd`` (assay and sampling variability)."""

    key: str
    model_id: str
    log_sd: float
    floor: float  # predictions are floored here before taking logs (e.g. 1 copy/mL)
    scale: float = 1.0  # canonical value = scale * model value (unit conversion)

    def canonical(self, model_values: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(model_values)


@dataclass(frozen=True)
class Outcome:
    """A clinical outcome defined on trajectories: ``test(times, values by model id)`` with
    values of shape (members, times) returns a boolean per member."""

    key: str
    description: str
    test: Callable[[np.ndarray, Mapping[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class TwinModel:
    """A model prepared for twins: how to build it under a set of regimens, its varying
    parameters, measured quantities and outcomes."""

    name: str
    build: Callable[[Sequence[Regimen]], Model]
    parameters: tuple[VaryingParameter, ...]
    quantities: tuple[MeasuredQuantity, ...]
    outcomes: tuple[Outcome, ...]
    drugs: tuple[str, ...]
    infection_day: tuple[float, float, float, float]  # (mean, sd, lower, upper) in days
    dose_target: Callable[[str], str] | None = None  # drug -> the species its doses add to
    _cache: dict[tuple[object, ...], CompiledModel] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def parameter_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.parameters)

    @cached_property
    def base(self) -> CompiledModel:
        return self.compiled(())

    def compiled(self, regimens: Sequence[Regimen]) -> CompiledModel:
        """The model with ``regimens`` as dosing events (times in the model's clock), compiled
        once per distinct regimen set."""
        key = tuple(sorted(repr(r.to_dict()) for r in regimens))
        found = self._cache.get(key)
        if found is None:
            for regimen in regimens:
                if regimen.drug not in self.drugs:
                    raise InvalidInputError(
                        f"model '{self.name}' has no drug '{regimen.drug}'; its drugs are "
                        f"{', '.join(self.drugs)}"
                    )
            found = self._cache[key] = compile_model(self.build(regimens))
        return found

    def quantity(self, key: str) -> MeasuredQuantity:
        for q in self.quantities:
            if q.key == key:
                return q
        known = ", ".join(q.key for q in self.quantities)
        raise UnknownIdentifierError(
            f"model '{self.name}' does not predict '{key}'; it predicts: {known}"
        )

    def predicts(self, key: str) -> bool:
        return any(q.key == key for q in self.quantities)

    def sample_prior(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws of (parameters (n, p), infection days (n,)) from the population."""
        columns = []
        for p in self.parameters:
            draw = p.median * np.exp(rng.normal(0.0, p.log_sd, n))
            columns.append(np.clip(draw, p.lower, p.upper))
        mean, sd, low, high = self.infection_day
        tau = np.clip(rng.normal(mean, sd, n), low, high)
        return np.column_stack(columns), tau

    def with_population(
        self, medians: Mapping[str, float], log_sds: Mapping[str, float]
    ) -> TwinModel:
        """This model with another population distribution (e.g. fitted by
        ``calibrate.population.fit_population``)."""
        unknown = (set(medians) | set(log_sds)) - set(self.parameter_ids)
        if unknown:
            raise UnknownIdentifierError(
                f"no varying parameter {', '.join(sorted(unknown))} in '{self.name}'"
            )
        parameters = tuple(
            VaryingParameter(
                p.id,
                medians.get(p.id, p.median),
                log_sds.get(p.id, p.log_sd),
                p.lower,
                p.upper,
                p.description,
            )
            for p in self.parameters
        )
        return TwinModel(
            self.name,
            self.build,
            parameters,
            self.quantities,
            self.outcomes,
            self.drugs,
            self.infection_day,
            self.dose_target,
        )


def _peak_above(model_id: str, threshold: float) -> Callable[..., np.ndarray]:
    return lambda times, values: np.max(values[model_id], axis=1) > threshold


def _cleared_by(model_id: str, level: float, day: float) -> Callable[..., np.ndarray]:
    def test(times: np.ndarray, values: Mapping[str, np.ndarray]) -> np.ndarray:
        upto = np.flatnonzero(times <= day)
        if not len(upto):
            return np.zeros(len(values[model_id]), dtype=bool)
        return np.asarray(values[model_id][:, upto[-1]] < level)

    return test


# Measurement noise (log-scale sd) and log floor per quantity: viral RNA by qPCR from swabs
# varies by a factor of about 3 (sd 0.5 log10); cytokines by immunoassay about 30%; CRP 20%;
# automated blood counts 15%.
_NOISE = {
    "sars_cov_2_rna": (0.5 * math.log(10.0), 1.0),
    "il6": (0.3, 0.1),
    "tnf": (0.3, 0.1),
    "crp": (0.2, 0.1),
    "neutrophils": (0.15, 0.01),
    "lymphocytes": (0.15, 0.01),
}


def _measured() -> tuple[MeasuredQuantity, ...]:
    """The viral pneumonia's observables (``twin.quantities``) with their noise."""
    from immunetwin.twin.quantities import viral_pneumonia_observables

    observables = viral_pneumonia_observables()
    return tuple(
        MeasuredQuantity(
            m.quantity,
            m.observable,
            *_NOISE[m.quantity],
            scale=1.0 / observables.factor(m.quantity),
        )
        for m in observables.mappings
        if m.quantity in _NOISE
    )


def viral_pneumonia_twin() -> TwinModel:
    """The SARS-CoV-2-like pneumonia (``compose.diseases.viral_pneumonia``) as a twin model.

    Varying parameters: infection rate (so R0), infected-cell loss, macrophage activation by
    infection, IL-6 production, neutrophil bystander damage and CD8 expansion, each
    log-normal with a log-scale sd of 0.3 (about 30% between patients) around the model's
    defaults; the infection day is about 5 days before symptom onset (incubation period
    5 +- 1.5 days; Lauer SA et al. Ann Intern Med 172:577-582, 2020, median 5.1 days).
    Measured: viral RNA (log-scale sd 0.5, i.e. a factor of 1.6 for qPCR variability and
    swab sampling), IL-6 and TNF (0.3), CRP (0.2), neutrophil and lymphocyte counts (0.15).
    """
    from immunetwin.compose.diseases import (
        PNEUMONIA_DRUGS,
        pneumonia_dose_target,
        viral_pneumonia,
    )

    def build(regimens: Sequence[Regimen]) -> Model:
        return viral_pneumonia(regimens=regimens).model

    def varying(id: str, median: float, description: str) -> VaryingParameter:
        return VaryingParameter(id, median, 0.3, median / 10.0, median * 10.0, description)

    return TwinModel(
        name="viral_pneumonia",
        build=build,
        parameters=(
            varying("virus_beta", 2.406e-08, "infection rate (sets R0)"),
            varying("virus_delta", 0.8, "loss rate of infected cells (1/day)"),
            varying("macrophages_a_I", 1.0, "macrophage activation by infection (1/day)"),
            varying("il6_s_M", 1200.0, "IL-6 production by macrophages (pg/mL/day)"),
            varying("damage_k_N", 0.04, "neutrophil/TNF bystander damage (1/day)"),
            varying("cd8_r_E", 2.0, "CD8 effector expansion rate (1/day)"),
        ),
        quantities=_measured(),
        outcomes=(
            Outcome(
                "il6_above_70",
                "peak IL-6 above 70 pg/mL (Del Valle 2020 severity marker)",
                _peak_above("il6_IL6", 70.0),
            ),
            Outcome(
                "severe_damage",
                "peak lung damage above 20% of tissue",
                _peak_above("damage_D", 0.2),
            ),
            Outcome(
                "viral_clearance_day_14",
                "viral RNA below 100 copies/mL by day 14 after the reference time",
                _cleared_by("virus_V", 100.0, 14.0),
            ),
        ),
        drugs=PNEUMONIA_DRUGS,
        infection_day=(5.0, 1.5, 1.0, 12.0),
        dose_target=pneumonia_dose_target,
    )
