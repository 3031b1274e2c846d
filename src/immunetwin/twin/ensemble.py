"""The twin's belief about a patient: an ensemble of members, each a parameter vector and a
model state at the current time, with weights (equal after an ensemble Kalman update,
importance weights in a particle filter).

Time is the patient's clock (days since the timeline's reference time). The model is
autonomous except for dosing events, so a member's future depends only on its state and
parameters: every member is simulated on the same patient-clock grid, starting from its own
state, with doses as events at their patient-clock times. Getting the state at time 0 needs
the model's own clock (days since infection): each member is simulated from infection to its
own infection day ``tau`` (:func:`states_at_reference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from immunetwin.compose.dosing import Regimen
from immunetwin.engine import CVODES, AbstractSolver, CompiledModel, Rodas4, simulate_ensemble
from immunetwin.errors import InvalidInputError, SimulationError
from immunetwin.twin.model import TwinModel

# The pneumonia model is stiff (infected cells are killed at rates of hundreds per day):
# RODAS steps all members at once. At rtol 1e-5 its error on this model is about ten times
# below CVODES's at rtol 1e-6 (benchmarks/twin_trial.py measures both).
SOLVER = Rodas4(rtol=1e-5, atol=1e-8)
STIFF = CVODES(rtol=1e-6, atol=1e-9)  # for the members RODAS cannot finish


def _simulate(
    compiled: CompiledModel,
    grid: np.ndarray,
    ids: Sequence[str],
    table: np.ndarray,
    what: str,
    solver: AbstractSolver,
) -> np.ndarray:
    """values[n, i, k] of every member (``grid`` shared, or one row per member); members
    the solver cannot finish are rerun with CVODES."""
    result = simulate_ensemble(compiled, grid, ids, table, solver=solver)
    values = result.values.copy()
    failed = [n for n, status in enumerate(result.status) if not status.ok]
    if failed:
        own = grid if grid.ndim == 1 else grid[failed]
        retry = simulate_ensemble(compiled, own, ids, table[failed], solver=STIFF)
        _check(retry.n_failed, retry.messages, what)
        values[failed] = retry.values
    return values


@dataclass(frozen=True, eq=False)
class Ensemble:
    """Members' parameters (linear values, columns ``parameter_ids``), infection days and
    states (columns ``state_ids``, the model's species) at ``time``, with ``weights``
    summing to 1."""

    time: float
    parameter_ids: tuple[str, ...]
    parameters: np.ndarray  # (N, p)
    infection_days: np.ndarray  # (N,)
    state_ids: tuple[str, ...]
    states: np.ndarray  # (N, n)
    weights: np.ndarray  # (N,)

    @property
    def size(self) -> int:
        return len(self.weights)

    @property
    def effective_size(self) -> float:
        return float(1.0 / np.sum(self.weights**2))

    def with_(self, **changes: object) -> Ensemble:
        return replace(self, **changes)  # type: ignore[arg-type]

    def resampled(self, index: np.ndarray) -> Ensemble:
        n = len(index)
        return self.with_(
            parameters=self.parameters[index],
            infection_days=self.infection_days[index],
            states=self.states[index],
            weights=np.full(n, 1.0 / n),
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything as named arrays (for storage)."""
        return {
            "time": np.array([self.time]),
            "parameter_ids": np.array(self.parameter_ids),
            "parameters": self.parameters,
            "infection_days": self.infection_days,
            "state_ids": np.array(self.state_ids),
            "states": self.states,
            "weights": self.weights,
        }

    @staticmethod
    def from_arrays(arrays: dict[str, np.ndarray]) -> Ensemble:
        return Ensemble(
            float(arrays["time"][0]),
            tuple(str(s) for s in arrays["parameter_ids"]),
            np.asarray(arrays["parameters"], dtype=float),
            np.asarray(arrays["infection_days"], dtype=float),
            tuple(str(s) for s in arrays["state_ids"]),
            np.asarray(arrays["states"], dtype=float),
            np.asarray(arrays["weights"], dtype=float),
        )


@dataclass(frozen=True, eq=False)
class Trajectories:
    """Member trajectories on the patient clock: ``values[n, i, k]`` for ``ids[k]``."""

    time: np.ndarray
    ids: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray

    def of(self, id: str) -> np.ndarray:
        return self.values[:, :, self.ids.index(id)]


def weighted_order_statistics(
    values: np.ndarray, weights: np.ndarray, levels: Sequence[float]
) -> list[float]:
    """For each level, the member value where the weights, summed in the values' order,
    first reach it (a weighted empirical quantile without interpolation)."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return [float(values[order][np.searchsorted(cumulative, q)]) for q in levels]


def states_at_reference(
    twin: TwinModel,
    parameters: np.ndarray,
    infection_days: np.ndarray,
    solver: AbstractSolver = SOLVER,
) -> np.ndarray:
    """Each member's state at the reference time: simulated from infection (the model's
    initial state) to its own infection day."""
    compiled = twin.base
    days = np.asarray(infection_days, dtype=float)
    states = np.empty((len(days), len(compiled.species_ids)))
    later = days > 0
    if not np.all(later):  # infected at the reference time: the initial state itself
        initial = simulate_ensemble(
            compiled, [0.0], twin.parameter_ids, parameters[~later], solver=solver
        )
        states[~later] = initial.values[:, 0]
    if np.any(later):
        grids = np.column_stack([np.zeros(int(later.sum())), days[later]])
        values = _simulate(
            compiled,
            grids,
            twin.parameter_ids,
            parameters[later],
            "from infection to the reference time",
            solver,
        )
        states[later] = values[:, -1]
    return states


def at_reference(
    twin: TwinModel,
    parameters: np.ndarray,
    infection_days: np.ndarray,
    solver: AbstractSolver = SOLVER,
) -> Ensemble:
    """Equally weighted members with these parameters and infection days, at the reference
    time (time 0): each simulated from infection to its own infection day."""
    states = states_at_reference(twin, parameters, infection_days, solver)
    n = len(infection_days)
    return Ensemble(
        0.0,
        twin.parameter_ids,
        parameters,
        infection_days,
        twin.base.species_ids,
        states,
        np.full(n, 1.0 / n),
    )


def initial_ensemble(twin: TwinModel, size: int, rng: np.random.Generator) -> Ensemble:
    """A population-prior ensemble at the reference time (time 0)."""
    return at_reference(twin, *twin.sample_prior(size, rng))


def propagate(
    twin: TwinModel,
    ensemble: Ensemble,
    times: Sequence[float] | np.ndarray,
    regimens: Sequence[Regimen] = (),
    solver: AbstractSolver = SOLVER,
) -> Trajectories:
    """Every member from ``ensemble.time`` through ``times`` (patient clock) under
    ``regimens`` (doses at their patient-clock times); the first output time is the
    ensemble's time."""
    grid = np.unique(np.concatenate([[ensemble.time], np.asarray(times, dtype=float)]))
    if grid[0] < ensemble.time:
        raise InvalidInputError(
            f"cannot propagate back in time: the ensemble is at day {ensemble.time:g}, "
            f"times start at day {grid[0]:g}"
        )
    compiled = twin.compiled(regimens)
    if len(grid) == 1:
        values = ensemble.states[:, None, :]
        return Trajectories(grid, ensemble.state_ids, values, ensemble.weights)
    columns = list(ensemble.state_ids) + list(twin.parameter_ids)
    table = np.column_stack([ensemble.states, ensemble.parameters])
    what = f"from day {grid[0]:g} to day {grid[-1]:g}"
    values = _simulate(compiled, grid, columns, table, what, solver)
    order = [compiled.species_ids.index(s) for s in ensemble.state_ids]
    return Trajectories(grid, ensemble.state_ids, values[:, :, order], ensemble.weights)


def advanced(ensemble: Ensemble, trajectories: Trajectories) -> Ensemble:
    """The ensemble moved to the last time of ``trajectories``."""
    return ensemble.with_(time=float(trajectories.time[-1]), states=trajectories.values[:, -1, :])


def _check(failed: int, messages: Sequence[str], what: str) -> None:
    if failed:
        first = next(m for m in messages if m)
        raise SimulationError(
            f"{failed} ensemble members failed to simulate {what}; first: {first}. "
            "The members' parameters may be extreme: check the population prior"
        )
