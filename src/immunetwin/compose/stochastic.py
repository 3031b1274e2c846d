"""Exact stochastic simulation (Gillespie's direct method) of reaction-network modules.

For low copy numbers (a few infected cells, an early T-cell clone) the ODE mean is not the
whole story. Species amounts are molecule or cell counts; each reaction fires with propensity
equal to its kinetic law (amount per time) evaluated by the engine's compiled model, so every
construct the engine supports in a rate law (function definitions, assignment rules, local
parameters, piecewise) is available without a second expression language. (GillesPy2 was
considered: its propensities are strings in its own syntax, which would need a translator of
our IR for a loop this short.) Models with events, rate rules or non-integer stoichiometry are
refused with ``UnsupportedFeatureError``.

Gillespie DT (1977) Exact stochastic simulation of coupled chemical reactions. J Phys Chem
81:2340-2361.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from immunetwin.engine import CompiledModel, compile_model
from immunetwin.engine._buffers import bound
from immunetwin.engine._simulate import check_times
from immunetwin.errors import InvalidInputError, SimulationError, UnsupportedFeatureError
from immunetwin.ir import Model


@dataclass(frozen=True, slots=True)
class StochasticResult:
    """``values[n, i, k]``: trajectory n, output time i, species k (counts)."""

    time: np.ndarray
    ids: tuple[str, ...]
    values: np.ndarray
    events: np.ndarray  # reactions fired per trajectory

    def __getitem__(self, id: str) -> np.ndarray:
        return self.values[:, :, self.ids.index(id)]


def simulate_ssa(
    model: Model | CompiledModel,
    times: Sequence[float] | np.ndarray,
    *,
    trajectories: int = 1,
    seed: int = 0,
    parameters: Mapping[str, float] | None = None,
    max_events: int = 10_000_000,
) -> StochasticResult:
    """``trajectories`` exact SSA runs, recorded at ``times``; reproducible for a ``seed``."""
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    source = compiled.model
    if source.events or source.rate_rules:
        construct = "events" if source.events else "rate rules"
        raise UnsupportedFeatureError(
            construct,
            source.id,
            "exact SSA simulates reaction networks only; use the ODE engine for this model",
        )
    if trajectories < 1:
        raise InvalidInputError(f"trajectories must be at least 1, got {trajectories}")
    grid = check_times(times)
    stoichiometry = _stoichiometry(compiled)
    reactions = [compiled.output_ids.index(r.id) for r in source.reactions]
    species = [compiled.state_ids.index(s) for s in compiled.species_ids if s in compiled.state_ids]
    p = compiled.parameter_vector(parameters)
    x0, q = (np.asarray(v, dtype=float).ravel() for v in compiled.init(float(grid[0]), p))
    counts = np.rint(x0)
    if not np.allclose(counts, x0, rtol=0, atol=1e-9):
        raise InvalidInputError(
            f"exact SSA needs whole-number initial amounts (counts); found {x0.tolist()}; set "
            "the species' initial amounts to counts"
        )
    rates = bound(compiled.outputs)
    out = np.empty((trajectories, len(grid), len(species)))
    fired = np.zeros(trajectories, dtype=int)
    for n in range(trajectories):
        rng = np.random.default_rng([seed, n])
        x, t, next_out, events = counts.copy(), float(grid[0]), 0, 0
        while next_out < len(grid):
            a = rates(t, x, q)[0][reactions]
            if np.any(a < 0) or not np.all(np.isfinite(a)):
                raise SimulationError(
                    f"negative or non-finite propensity at t={t:g} (reactions "
                    f"{[source.reactions[j].id for j in np.flatnonzero(~(a >= 0))]}); SSA needs "
                    "rate laws that are non-negative for every count"
                )
            total = float(a.sum())
            step = rng.exponential(1.0 / total) if total > 0 else np.inf
            while next_out < len(grid) and grid[next_out] < t + step:
                out[n, next_out] = x[species]
                next_out += 1
            if next_out == len(grid):
                break
            t += step
            x += stoichiometry[:, int(np.searchsorted(np.cumsum(a), rng.uniform(0, total)))]
            events += 1
            if events > max_events:
                raise SimulationError(
                    f"more than {max_events} reactions fired before t={grid[-1]:g}; this "
                    "network is too busy for exact SSA (copy numbers too high?)"
                )
        fired[n] = events
    ids = tuple(compiled.state_ids[i] for i in species)
    return StochasticResult(grid, ids, out, fired)


def _stoichiometry(compiled: CompiledModel) -> np.ndarray:
    """States x reactions; only species that reactions change are states."""
    matrix = np.zeros((compiled.n_states, len(compiled.model.reactions)))
    for j, reaction in enumerate(compiled.model.reactions):
        for sign, references in ((-1.0, reaction.reactants), (1.0, reaction.products)):
            for ref in references:
                if ref.species not in compiled.state_ids:
                    continue  # boundary or constant species do not change
                if ref.stoichiometry != int(ref.stoichiometry):
                    raise UnsupportedFeatureError(
                        "non-integer stoichiometry",
                        reaction.id,
                        "exact SSA changes counts by whole numbers",
                    )
                matrix[compiled.state_ids.index(ref.species), j] += sign * ref.stoichiometry
    return matrix
