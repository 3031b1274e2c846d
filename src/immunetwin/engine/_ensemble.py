"""Ensembles: one compiled model, many parameter sets, every core.

Models without events run as one CasADi ``map`` over members with threads (the integrator
loop runs outside Python). Models with events run member by member through the event loop
in a thread pool. Each member carries its own status.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from immunetwin.engine._buffers import call
from immunetwin.engine._compile import CompiledModel, compile_model
from immunetwin.engine._results import Status
from immunetwin.engine._simulate import (
    check_times,
    evaluate_outputs,
    mapped,
    run_trajectory,
    segment_integrators,
)
from immunetwin.engine._solvers import AbstractSolver, DormandPrince
from immunetwin.errors import InvalidInputError, SimulationError
from immunetwin.ir import Model

_CHUNK = 500


@dataclass(frozen=True, eq=False)
class EnsembleResult:
    """``values[n, i, k]``: member n, time i, variable ``ids[k]`` (species in math units)."""

    time: np.ndarray
    ids: tuple[str, ...]
    values: np.ndarray
    status: tuple[Status, ...]
    messages: tuple[str, ...]
    parameter_ids: tuple[str, ...]
    parameters: np.ndarray

    @property
    def n_failed(self) -> int:
        return sum(not s.ok for s in self.status)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write an .npz with arrays time, ids, values, status, message, parameter_ids,
        parameters."""
        np.savez_compressed(
            Path(path),
            time=self.time,
            ids=np.array(self.ids),
            values=self.values,
            status=np.array([s.value for s in self.status]),
            message=np.array(self.messages),
            parameter_ids=np.array(self.parameter_ids),
            parameters=self.parameters,
        )


def read_parameter_table(path: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """Read a CSV whose header names ids and whose rows are members."""
    source = Path(path)
    if not source.is_file():
        raise InvalidInputError(f"no parameter table at '{source}': expected a CSV file")
    with source.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if len(rows) < 2:
        raise InvalidInputError(f"'{source}' needs a header row of ids and at least one data row")
    header = [h.strip() for h in rows[0]]
    table = np.empty((len(rows) - 1, len(header)))
    for n, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise InvalidInputError(
                f"'{source}' row {n + 2} has {len(row)} values, expected {len(header)}"
            )
        try:
            table[n] = [float(v) for v in row]
        except ValueError:
            raise InvalidInputError(f"'{source}' row {n + 2} holds a non-number: {row}") from None
    if not np.all(np.isfinite(table)):
        raise InvalidInputError(f"'{source}' holds NaN or infinite values; every value must be finite")
    return header, table


def simulate_ensemble(
    model: Model | CompiledModel,
    times: Sequence[float] | np.ndarray,
    parameter_ids: Sequence[str],
    table: np.ndarray,
    *,
    solver: AbstractSolver | None = None,
    threads: int | None = None,
    throw: bool = False,
) -> EnsembleResult:
    """Simulate every row of ``table`` (columns named by ``parameter_ids``)."""
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    solver = solver or DormandPrince()
    solver.check()
    grid = check_times(times)
    table = np.atleast_2d(np.asarray(table, dtype=float))
    if table.shape[1] != len(parameter_ids):
        raise InvalidInputError(
            f"table has {table.shape[1]} columns but {len(parameter_ids)} parameter ids"
        )
    threads = threads or os.cpu_count() or 1
    members = np.stack([compiled.parameter_vector(dict(zip(parameter_ids, row, strict=True))) for row in table])
    if compiled.events or compiled.n_states == 0 or len(grid) < 2:
        values, status, messages = _by_member(compiled, grid, members, solver, threads)
    else:
        values, status, messages = _mapped(compiled, grid, members, solver, threads)
    species = [compiled.output_ids.index(s) for s in compiled.species_ids]
    result = EnsembleResult(
        time=grid,
        ids=compiled.species_ids,
        values=values[:, :, species],
        status=tuple(status),
        messages=tuple(messages),
        parameter_ids=tuple(parameter_ids),
        parameters=table,
    )
    if throw and result.n_failed:
        first = next(i for i, s in enumerate(result.status) if not s.ok)
        raise SimulationError(
            f"{result.n_failed} of {len(table)} members failed; first, member {first}: "
            f"{result.messages[first]}"
        )
    return result


def _by_member(
    compiled: CompiledModel,
    grid: np.ndarray,
    members: np.ndarray,
    solver: AbstractSolver,
    threads: int,
) -> tuple[np.ndarray, list[Status], list[str]]:
    def one(p: np.ndarray) -> tuple[np.ndarray, Status, str]:
        traj = run_trajectory(compiled, grid, p, solver)
        return evaluate_outputs(compiled, traj), traj.status, traj.message

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = list(pool.map(one, members))
    values = np.stack([o[0] for o in outcomes])
    return values, [o[1] for o in outcomes], [o[2] for o in outcomes]


def _mapped(
    compiled: CompiledModel,
    grid: np.ndarray,
    members: np.ndarray,
    solver: AbstractSolver,
    threads: int,
) -> tuple[np.ndarray, list[Status], list[str]]:
    n_members = len(members)
    n, T = compiled.n_states, len(grid)
    x0, q = call(mapped(compiled, compiled.init, n_members), [float(grid[0]), members.T])
    start, h = float(grid[0]), float(grid[-1] - grid[0])
    integrators = segment_integrators(compiled, solver)
    grid_key = tuple(float(v) for v in (grid[1:] - start) / h)
    single = integrators.get(grid_key)
    params = np.vstack([q, np.full((1, n_members), start), np.full((1, n_members), h)])
    states = np.full((n_members, n, T), np.nan)
    states[:, :, 0] = x0.T
    status = [Status.SUCCESS] * n_members
    messages = [""] * n_members
    chunk = min(_CHUNK, n_members)
    batched = integrators.batched(grid_key, chunk, threads)
    for begin in range(0, n_members, chunk):
        end = min(begin + chunk, n_members)
        index = np.arange(begin, begin + chunk).clip(max=end - 1)  # pad the last chunk
        try:
            out = call(batched, [x0[:, index], 0.0, params[:, index]])[0]
            block = out.reshape(n, chunk, T - 1).transpose(1, 0, 2)
            states[begin:end, :, 1:] = block[: end - begin]
        except RuntimeError:
            for i in range(begin, end):  # find the members that failed
                try:
                    out = call(single, [x0[:, i : i + 1], 0.0, params[:, i : i + 1]])[0]
                    states[i, :, 1:] = out.reshape(n, T - 1)
                except RuntimeError as exc:
                    status[i] = Status.INTEGRATION_FAILED
                    messages[i] = f"integration failed: {str(exc).strip().splitlines()[-1]}"
    # Outputs chunk by chunk with one cached map (a map over every point would be rebuilt
    # for each ensemble size, and building a map costs more than evaluating it).
    outputs = mapped(compiled, compiled.outputs, chunk * T)
    values = np.empty((n_members, T, len(compiled.output_ids)))
    times_row = np.tile(grid, chunk)[None, :]
    for begin in range(0, n_members, chunk):
        end = min(begin + chunk, n_members)
        index = np.arange(begin, begin + chunk).clip(max=end - 1)
        flat_states = states[index].transpose(1, 0, 2).reshape(n, chunk * T)
        flat_q = np.repeat(q[:, index], T, axis=1)
        block = call(outputs, [times_row, flat_states, flat_q])[0]
        values[begin:end] = block.reshape(-1, chunk, T).transpose(1, 2, 0)[: end - begin]
    for i in range(n_members):
        if status[i].ok and not np.all(np.isfinite(values[i])):
            status[i] = Status.NONFINITE
            messages[i] = "the solution became NaN or infinite"
    return values, status, messages
