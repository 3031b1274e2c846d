"""Ensembles: one compiled model, many parameter sets, every core.

Members are split over forked worker processes (one per core) that write into shared
memory. Without events each member is one call of the (C-compiled) integrator over the whole
grid; with events each member runs the event loop. Each member carries its own status.
"""

from __future__ import annotations

import csv
import mmap
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from immunetwin.engine._batched import run_batched
from immunetwin.engine._buffers import Bound
from immunetwin.engine._compile import CompiledModel, compile_model
from immunetwin.engine._results import Status
from immunetwin.engine._schedule import chain
from immunetwin.engine._simulate import (
    check_times,
    evaluate_outputs,
    event_times,
    fixed_schedule,
    mapped,
    run_trajectory,
    segment_integrators,
)
from immunetwin.engine._solvers import AbstractSolver, DormandPrince, Rodas4
from immunetwin.engine._tape import Entry
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
        raise InvalidInputError(
            f"'{source}' holds NaN or infinite values; every value must be finite"
        )
    return header, table


def simulate_ensemble(
    model: Model | CompiledModel,
    times: Sequence[float] | np.ndarray,
    parameter_ids: Sequence[str],
    table: np.ndarray,
    *,
    solver: AbstractSolver | None = None,
    workers: int | None = None,
    throw: bool = False,
) -> EnsembleResult:
    """Simulate every row of ``table`` (columns named by ``parameter_ids``).

    ``times`` is one output grid for all members or one row of output times per member.
    """
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    solver = solver or DormandPrince()
    solver.check()
    table = np.atleast_2d(np.asarray(table, dtype=float))
    if table.shape[1] != len(parameter_ids):
        raise InvalidInputError(
            f"table has {table.shape[1]} columns but {len(parameter_ids)} parameter ids"
        )
    grid = _member_times(times, len(table))
    workers = workers or os.cpu_count() or 1
    members = _parameter_matrix(compiled, parameter_ids, table)
    if isinstance(solver, Rodas4):
        shape = (grid.shape[-1], len(compiled.species_ids))

        def run_part(rows: np.ndarray) -> tuple[np.ndarray, list[Status], list[str]]:
            own = grid if grid.ndim == 1 else grid[rows]
            return run_batched(compiled, own, members[rows], solver)

        workers = min(workers, max(1, len(members) // 32))
        values, status, messages = _run_parts(len(members), shape, workers, run_part)
    elif grid.ndim == 2:
        values, status, messages = _own_grids(compiled, grid, members, solver, workers)
    elif (
        compiled.events
        or compiled.n_states == 0
        or len(grid) < 2
        or compiled.jumps_within(grid[0], grid[-1])
    ):
        values, status, messages = _by_member(compiled, grid, members, solver, workers)
    else:
        values, status, messages = _mapped(compiled, grid, members, solver, workers)
    result = EnsembleResult(
        time=grid,
        ids=compiled.species_ids,
        values=values,
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


def _member_times(times: Sequence[float] | np.ndarray, count: int) -> np.ndarray:
    """The shared grid, or the checked ``(count, T)`` per-member grids."""
    try:
        array = np.asarray(times, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(
            "output times must be one list of numbers, or one row of numbers per member with "
            "the same count in every row"
        ) from None
    if array.ndim != 2:
        return check_times(array)
    if array.shape[0] != count:
        raise InvalidInputError(
            f"times has {array.shape[0]} rows but the table has {count} members: give one "
            "row of output times per member"
        )
    for row in array:
        check_times(row)
    return array


def _parameter_matrix(
    compiled: CompiledModel, parameter_ids: Sequence[str], table: np.ndarray
) -> np.ndarray:
    """One p vector per row; ``parameter_vector`` is linear in each value, so one probe per
    column gives its conversion factor (species values come in their math unit)."""
    members = np.tile(compiled.parameter_vector(), (len(table), 1))
    for column, id in enumerate(parameter_ids):
        index = compiled.parameter_index(id)
        factor = compiled.parameter_vector({id: 1.0})[index]
        values = table[:, column]
        if not np.all(np.isfinite(values)):
            raise InvalidInputError(f"column '{id}' holds NaN or infinite values")
        members[:, index] = values * factor
    return members


def _fork_available() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _run_members(
    count: int,
    shape: tuple[int, ...],
    workers: int,
    run_one: Callable[[int], tuple[np.ndarray, Status, str]],
) -> tuple[np.ndarray, list[Status], list[str]]:
    """Run ``run_one`` for every member; results land in one array of ``(count, *shape)``."""

    def run_part(rows: np.ndarray) -> tuple[np.ndarray, list[Status], list[str]]:
        values = np.full((len(rows), *shape), np.nan)
        status, messages = [Status.SUCCESS] * len(rows), [""] * len(rows)
        for k, i in enumerate(rows):
            values[k], status[k], messages[k] = run_one(int(i))
        return values, status, messages

    return _run_parts(count, shape, min(workers, max(1, count // 8)), run_part)


def _run_parts(
    count: int,
    shape: tuple[int, ...],
    workers: int,
    run_part: Callable[[np.ndarray], tuple[np.ndarray, list[Status], list[str]]],
) -> tuple[np.ndarray, list[Status], list[str]]:
    """Run ``run_part`` on a share of the members per worker; results land in one array of
    ``(count, *shape)``.

    On Linux the shares go to forked worker processes writing into shared memory (CasADi
    calls hold the GIL, so threads would not run in parallel). A worker that dies marks its
    members failed instead of taking the caller down.
    """
    size = int(np.prod(shape))
    status = [Status.SUCCESS] * count
    messages = [""] * count
    workers = max(1, min(workers, count))
    if workers <= 1 or not _fork_available():
        out, status, messages = run_part(np.arange(count))
        return out, list(status), list(messages)
    memory = mmap.mmap(-1, max(8, count * size * 8))  # anonymous, shared with forked children
    out = np.frombuffer(memory, dtype=float, count=count * size).reshape(count, *shape)
    out[:] = np.nan
    parts = np.array_split(np.arange(count), workers)
    context = multiprocessing.get_context("fork")

    def work(members: np.ndarray) -> list[tuple[int, str, str]]:
        values, states, notes = run_part(members)
        out[members] = values
        return [
            (int(i), state.value, note)
            for i, state, note in zip(members, states, notes, strict=True)
            if not state.ok
        ]

    def child(members: np.ndarray, pipe: Connection) -> None:
        pipe.send(work(members))
        pipe.close()

    children = []
    for members in parts[1:]:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=child, args=(members, send), daemon=True)
        process.start()
        send.close()
        children.append((members, receive, process))
    reports = work(parts[0])
    for members, receive, process in children:
        try:
            reports += receive.recv()
        except EOFError:
            for i in members:
                status[int(i)] = Status.INTEGRATION_FAILED
                messages[int(i)] = "the worker process running this member died"
        process.join()
    for i, value, message in reports:
        status[i], messages[i] = Status(value), message
    return out, status, messages  # the array keeps the shared mapping alive


def _own_grids(
    compiled: CompiledModel,
    grids: np.ndarray,
    members: np.ndarray,
    solver: AbstractSolver,
    workers: int,
) -> tuple[np.ndarray, list[Status], list[str]]:
    """Each member on its own output times, one run each."""

    def one(i: int) -> tuple[np.ndarray, Status, str]:
        traj = run_trajectory(compiled, grids[i], members[i], solver)
        return evaluate_outputs(compiled, traj, species_only=True), traj.status, traj.message

    shape = (grids.shape[1], len(compiled.species_ids))
    return _run_members(len(members), shape, workers, one)


def _by_member(
    compiled: CompiledModel,
    grid: np.ndarray,
    members: np.ndarray,
    solver: AbstractSolver,
    workers: int,
) -> tuple[np.ndarray, list[Status], list[str]]:
    """Events: each member runs the event loop, or, when every member has the same fixed
    event schedule (timed events at the same times), one call of the first member's schedule
    chained into a single function (members whose event times differ run the loop)."""
    run = None
    first = None
    if fixed_schedule(compiled) and len(members) > 1:
        tape: list[Entry] = []
        first = run_trajectory(compiled, grid, members[0], solver, tape)
        if first.status.ok:
            run = chain(compiled, grid, solver, tape, event_times(compiled, first.q))

    def one(i: int) -> tuple[np.ndarray, Status, str]:
        traj = first if i == 0 else None
        if traj is None and run is not None:
            traj = run(members[i])
        if traj is None:
            traj = run_trajectory(compiled, grid, members[i], solver)
        return evaluate_outputs(compiled, traj, species_only=True), traj.status, traj.message

    shape = (len(grid), len(compiled.species_ids))
    return _run_members(len(members), shape, workers, one)


def _mapped(
    compiled: CompiledModel,
    grid: np.ndarray,
    members: np.ndarray,
    solver: AbstractSolver,
    workers: int,
) -> tuple[np.ndarray, list[Status], list[str]]:
    """No events: per member, one call each of init, the integrator over the whole grid and
    the outputs, all on preallocated buffers inside the worker."""
    n, T, K = compiled.n_states, len(grid), len(compiled.species_ids)
    start, h = float(grid[0]), float(grid[-1] - grid[0])
    integrator = segment_integrators(compiled, solver).get(tuple(((grid[1:] - start) / h).tolist()))
    init = Bound(compiled.init)
    integrate = Bound(integrator)
    outputs = Bound(mapped(compiled, compiled.species_outputs, T))

    def one(i: int) -> tuple[np.ndarray, Status, str]:
        x0, q = init(start, members[i])
        states = np.empty((T, n))  # column-major (n, T) for CasADi
        states[0] = x0
        try:
            states[1:] = integrate(x0, 0.0, np.concatenate([q, [start, h]]))[0].reshape(T - 1, n)
        except RuntimeError:
            return (
                np.full((T, K), np.nan),
                Status.INTEGRATION_FAILED,
                (
                    "integration failed; try CVODES() for stiff members, a larger max_steps or "
                    "looser tolerances"
                ),
            )
        values = outputs(grid, states.ravel(), np.tile(q, T))[0].reshape(T, K)
        if not np.all(np.isfinite(values)):
            return values, Status.NONFINITE, "the solution became NaN or infinite"
        return values, Status.SUCCESS, ""

    return _run_members(len(members), (T, K), workers, one)
