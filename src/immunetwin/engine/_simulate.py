"""Time courses with SBML event semantics, integrated segment by segment.

Between events one CasADi integrator call covers a whole segment. Triggers of the form
``time >= c`` become breakpoints that segments end on exactly; other triggers are checked on a
fine grid of check points and located by a bracketed secant/bisection search.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import casadi as ca
import numpy as np

from immunetwin.engine._buffers import Bound, bound, call
from immunetwin.engine._compile import CompiledModel, StateKind
from immunetwin.engine._results import Status
from immunetwin.engine._solvers import AbstractSolver, SegmentIntegrators
from immunetwin.engine._tape import Entry, Fire, Integrate, Record, Root, Trigger
from immunetwin.errors import InvalidInputError, SimulationError

_CHECK_POINTS = 2000  # state-event check points over the horizon
_MAX_EVENTS_PER_INSTANT = 10_000
_MAX_CROWDED_ROOTS = 1_000
_INTEGRATORS: weakref.WeakKeyDictionary[CompiledModel, dict[AbstractSolver, SegmentIntegrators]]
_INTEGRATORS = weakref.WeakKeyDictionary()


_MAPS: weakref.WeakKeyDictionary[CompiledModel, dict[tuple[str, int], ca.Function]]
_MAPS = weakref.WeakKeyDictionary()


def mapped(model: CompiledModel, function: ca.Function, n: int) -> ca.Function:
    """``function.map(n)``, cached per model (building a map costs more than calling it)."""
    per_model = _MAPS.setdefault(model, {})
    key = (function.name(), n)
    found = per_model.get(key)
    if found is None:
        if len(per_model) > 64:
            per_model.clear()
        found = per_model[key] = function.map(n)
    return found


def segment_integrators(model: CompiledModel, solver: AbstractSolver) -> SegmentIntegrators:
    """The (cached) segment integrators of a compiled model for one solver."""
    per_model = _INTEGRATORS.setdefault(model, {})
    found = per_model.get(solver)
    if found is None:
        t, x, q = model.symbols
        x0, q0 = model.init(0.0, model.p0)
        sizes = np.asarray(model.sizes(0.0, x0, q0), dtype=float).ravel()
        nominal = np.ones(model.n_states)
        for i, (id, kind) in enumerate(zip(model.state_ids, model.state_kinds, strict=True)):
            if kind is StateKind.AMOUNT and id in model.species_ids:
                size = sizes[model.species_ids.index(id)]
                if np.isfinite(size) and 0 < size < 1:
                    nominal[i] = size
        found = per_model[solver] = SegmentIntegrators(t, x, q, model.ode, solver, nominal)
    return found


@dataclass
class _Pending:
    time: float
    event: int
    values: np.ndarray | None
    order: int


@dataclass
class Trajectory:
    """Raw states at the output times plus what produced them (for sensitivities)."""

    times: np.ndarray
    states: np.ndarray  # (n_states, n_times)
    q: np.ndarray
    status: Status
    message: str
    n_events: int
    fired: list[tuple[float, int, bool]] = field(default_factory=list)  # (time, event, by_root)


def check_times(times: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        out = np.asarray(times, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"output times must be numbers, got {times!r}") from None
    if out.ndim != 1 or out.size < 1:
        raise InvalidInputError(f"expected a 1-D list of output times, got shape {out.shape}")
    if not np.all(np.isfinite(out)):
        raise InvalidInputError("output times must be finite numbers (found NaN or infinity)")
    if out.size > 1 and np.any(np.diff(out) <= 0):
        raise InvalidInputError(
            "output times must be strictly increasing; sort them and remove duplicates"
        )
    return out


class _Runner:
    def __init__(self, model: CompiledModel, solver: AbstractSolver, p: np.ndarray) -> None:
        self.m = model
        self.solver = solver
        self.p = p
        self.integrators = segment_integrators(model, solver)
        self.n_events = len(model.events)
        self.fired: list[tuple[float, int, bool]] = []
        self.tape: list[Entry] | None = None  # set to [] to record for replay

    # --- numerical helpers ----------------------------------------------------------------
    def _integrate(self, x: np.ndarray, start: float, times: np.ndarray) -> np.ndarray:
        if self.m.n_states == 0:
            return np.zeros((0, len(times)))
        return self.integrators.integrate(x, self.q, start, times)

    def _trigger_matrix(self, times: np.ndarray, states: np.ndarray) -> np.ndarray:
        assert self.m.triggers is not None
        function = mapped(self.m, self.m.triggers, len(times))
        values = call(function, [times[None, :], states, np.tile(self.q[:, None], len(times))])[0]
        return values.reshape(self.n_events, len(times)) > 0.5

    def _indicator(self, t: float, x: np.ndarray, events: np.ndarray) -> float:
        values = self._bound("indicators", self.m.indicators)(t, x, self.q)[0]
        return float(np.max(values[events]))

    # --- the run --------------------------------------------------------------------------
    def run(self, times: np.ndarray) -> Trajectory:
        t0 = float(times[0])
        x, self.q = bound(self.m.init)(t0, self.p)
        states = np.full((self.m.n_states, len(times)), np.nan)
        bad = [i for i, v in enumerate(x) if not np.isfinite(v)]
        if bad:
            names = ", ".join(self.m.state_ids[i] for i in bad[:5])
            return self._done(
                times, states, Status.NONFINITE, f"initial values are not finite for: {names}"
            )
        if self.n_events == 0 and not self.m.jumps_within(t0, times[-1]):
            states[:, 0] = x
            if len(times) > 1:
                try:
                    states[:, 1:] = self._integrate(x, t0, times[1:])
                except RuntimeError as exc:
                    reached = self._salvage(x, t0, times[1:], states[:, 1:])
                    return self._failed(times, states, reached, exc)
                if self.tape is not None:
                    recorded = {c: c + 1 for c in range(len(times) - 1)}
                    self._record(Integrate(times[1:], None, recorded))
            return self._done(times, states, Status.SUCCESS, "")
        return self._run_events(times, states, x)

    def _run_events(self, times: np.ndarray, states: np.ndarray, x: np.ndarray) -> Trajectory:
        t = float(times[0])
        events = self.m.events
        self.armed = np.array([not e.initial_value for e in events])  # True: trigger was false
        self.pending: list[_Pending] = []
        self.order = 0
        self.event_time = event_times(self.m, self.q)
        breakpoints = sorted(
            (float(b), e) for e, b in enumerate(self.event_time) if not np.isnan(b)
        )
        state_events = bool(np.isnan(self.event_time).any())
        check = (
            np.linspace(times[0], times[-1], _CHECK_POINTS + 1)[1:-1]
            if state_events and len(times) > 1
            else np.zeros(0)
        )
        if self.n_events:
            # A trigger that is false at the start itself (``time > t0``) was not true before
            # it, whatever its initial value says: it rises just after t0, so it fires at t0.
            self.armed |= ~self._triggers_exact(t, x)
        try:
            x = self._fire(t, x)
        except SimulationError as exc:
            return self._done(times, states, Status.EVENT_LIMIT, str(exc))
        states[:, 0] = x
        self._record(Record(0))
        k = 1
        crowded = 0  # consecutive state events located without time passing
        while k < len(times):
            stops: list[tuple[float, tuple[str, int] | None]] = [
                (b, ("timed", e)) for b, e in breakpoints if b > t
            ]
            stops += [(pd.time, ("pending", pd.order)) for pd in self.pending if pd.time > t]
            stops += [(c, None) for c in self.m.discontinuities if c > t]
            stop, stop_ref = min(stops + [(float(times[-1]), None)], key=lambda item: item[0])
            out_idx = np.arange(k, int(np.searchsorted(times, stop, side="right")))
            grid = np.unique(
                np.concatenate([times[out_idx], check[(check > t) & (check < stop)], [stop]])
            )
            columns = np.searchsorted(grid, times[out_idx])
            try:
                block = self._integrate(x, t, grid)
            except RuntimeError as exc:
                partial = np.full((self.m.n_states, len(grid)), np.nan)
                reached = self._salvage(x, t, grid, partial)
                states[:, out_idx] = partial[:, columns]
                return self._failed(times, states, reached, exc)
            crossing = self._first_crossing(grid, block, stop, t) if state_events else None
            if crossing is None:
                keep = times[out_idx] < stop  # an output at the stop itself comes after events
                k = self._take(states, block, out_idx[keep], columns[keep], k)
                self._record(Integrate(grid, stop_ref, self._recorded(out_idx, columns, keep)))
                t, x = stop, block[:, -1]
            else:
                j, flipping = crossing
                lo = t if j == 0 else float(grid[j - 1])
                x_lo = x if j == 0 else block[:, j - 1]
                try:
                    tau, x_tau = self._locate(lo, x_lo, float(grid[j]), block[:, j], flipping)
                except RuntimeError as exc:
                    return self._failed(times, states, lo, exc)
                keep = times[out_idx] < tau
                k = self._take(states, block, out_idx[keep], columns[keep], k)
                if j > 0:
                    self._record(Integrate(grid[:j], None, self._recorded(out_idx, columns, keep)))
                self._record(Integrate(np.array([tau]), None, {}))
                self._record(Root(tau, int(np.flatnonzero(flipping)[0])))
                crowded = crowded + 1 if tau - t <= 1e-9 * max(1.0, abs(tau)) else 0
                if crowded > _MAX_CROWDED_ROOTS:
                    return self._done(
                        times,
                        states,
                        Status.EVENT_LIMIT,
                        f"events keep re-triggering at t={tau:.12g} with no time passing in "
                        "between (Zeno behaviour, e.g. a guard like 'V < 0: V = 0' on a value "
                        "that underflows); shorten the horizon or make the trigger hysteretic",
                    )
                t, x = tau, x_tau
            try:
                x = self._fire(t, x)
            except SimulationError as exc:
                return self._done(times, states, Status.EVENT_LIMIT, str(exc))
            if k < len(times) and times[k] <= t + 1e-12 * max(1.0, abs(t)):
                states[:, k] = x
                self._record(Record(k))
                k += 1
            if not np.all(np.isfinite(x)):
                return self._done(
                    times, states, Status.NONFINITE, f"state became non-finite at t={t}"
                )
        return self._done(times, states, Status.SUCCESS, "")

    @staticmethod
    def _take(
        states: np.ndarray, block: np.ndarray, indices: np.ndarray, columns: np.ndarray, k: int
    ) -> int:
        """Copy block columns into the outputs; returns the next output index."""
        if len(indices):
            states[:, indices] = block[:, columns]
            return int(indices[-1]) + 1
        return k

    def _recorded(
        self, indices: np.ndarray, columns: np.ndarray, keep: np.ndarray
    ) -> dict[int, int]:
        if self.tape is None:
            return {}
        return {int(c): int(i) for c, i in zip(columns[keep], indices[keep], strict=True)}

    def _record(self, entry: Entry) -> None:
        if self.tape is not None:
            self.tape.append(entry)

    def _first_crossing(
        self, grid: np.ndarray, block: np.ndarray, stop: float, start: float
    ) -> tuple[int, np.ndarray] | None:
        """First grid column where a trigger turns true (and re-arm triggers that turned false)."""
        matrix = self._trigger_matrix(grid, block)
        armed = self.armed.copy()
        timed_at_stop = np.abs(self.event_time - stop) <= 1e-12 * max(1.0, abs(stop))
        for j in range(len(grid)):
            on = matrix[:, j] & armed
            if j == len(grid) - 1:
                on &= ~timed_at_stop  # handled exactly at the breakpoint by _fire
            if on.any():
                self.armed = armed
                return j, on
            off = ~matrix[:, j]
            if off.any():
                self._cancel_non_persistent(off)
            armed = armed | off
        self.armed = armed
        return None

    def _cancel_non_persistent(self, off: np.ndarray) -> None:
        self.pending = [
            pd
            for pd in self.pending
            if not (off[pd.event] and not self.m.events[pd.event].persistent)
        ]

    def _locate(
        self, lo: float, x_lo: np.ndarray, hi: float, x_hi: np.ndarray, flipping: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Earliest time in (lo, hi] where a flipping trigger is true (Illinois + bisection)."""
        g_lo = self._indicator(lo, x_lo, flipping)
        g_hi = self._indicator(hi, x_hi, flipping)
        tolerance = 1e-13 * max(1.0, abs(hi))
        side = 0
        for iteration in range(200):
            width = hi - lo
            if width <= tolerance:
                break
            if iteration % 3 != 2 and g_lo < 0 < g_hi and np.isfinite(g_lo + g_hi):
                c = hi - g_hi * width / (g_hi - g_lo)
                c = min(max(c, lo + 1e-3 * width), hi - 1e-3 * width)
            else:
                c = lo + 0.5 * width
            x_c = self._integrate(x_lo, lo, np.array([c]))[:, 0]
            on = bool(np.any(self._triggers_exact(c, x_c)[flipping]))
            g_c = self._indicator(c, x_c, flipping)
            if on:
                hi, x_hi, g_hi = c, x_c, g_c
                if side == 1:
                    g_lo /= 2
                side = 1
            else:
                lo, x_lo, g_lo = c, x_c, g_c
                if side == -1:
                    g_hi /= 2
                side = -1
        return hi, x_hi

    def _triggers_exact(self, t: float, x: np.ndarray) -> np.ndarray:
        return self._bound("triggers", self.m.triggers)(t, x, self.q)[0] > 0.5

    def _fire(self, t: float, x: np.ndarray) -> np.ndarray:
        """Process every event due at time t (SBML ordering by priority, re-checking triggers)."""
        m = self.m
        if not self.n_events:  # a stop at a discontinuity of a model without events
            return x
        info = self._bound("event_info", m.event_info)
        # Evaluate just after t so that `time > c` is true at a breakpoint c, as it is for t > c.
        shifted = t + 1e-13 * max(1.0, abs(t))
        for _ in range(_MAX_EVENTS_PER_INSTANT):
            current_values, priority, delays = info(shifted, x, self.q)
            current = current_values > 0.5
            rising = current & self.armed
            self.armed = ~current
            if (~current).any():
                self._cancel_non_persistent(~current)
            for rising_index in np.flatnonzero(rising):
                e = int(rising_index)
                event = m.events[e]
                delay = float(delays[e]) if event.has_delay else 0.0
                if not np.isfinite(delay) or delay < 0:
                    raise SimulationError(f"event '{event.id}' has delay {delay} at t={t}")
                values = None
                if event.use_values_from_trigger_time:
                    values = self._bound(f"values_{e}", m.assignment_values[e])(t, x, self.q)[0]
                self.pending.append(_Pending(t + delay, int(e), values, self.order))
                self._record(Trigger(int(e), self.order))
                self.order += 1
            due = [pd for pd in self.pending if pd.time <= shifted]
            if not due:
                return x
            chosen = max(due, key=lambda pd: (priority[pd.event], -pd.event, -pd.order))
            self.pending.remove(chosen)
            e = chosen.event
            values = chosen.values
            if values is None:
                values = self._bound(f"values_{e}", m.assignment_values[e])(t, x, self.q)[0]
            x = self._bound(f"apply_{e}", m.apply_assignments[e])(t, x, self.q, values)[0]
            self._record(Fire(e, chosen.order))
            self.fired.append((t, e, m.events[e].time_expr is None))
        raise SimulationError(
            f"more than {_MAX_EVENTS_PER_INSTANT} events fired at t={t}: the events keep "
            "re-triggering each other; check their triggers and assignments"
        )

    @staticmethod
    def _bound(name: str, function: ca.Function | None) -> Bound:
        assert function is not None, name
        return bound(function)

    def _salvage(self, x: np.ndarray, start: float, grid: np.ndarray, out: np.ndarray) -> float:
        """After a failed call, integrate point by point to keep every state reached before
        the failure; returns the last time reached."""
        reached = start
        for j, target in enumerate(grid):
            try:
                x = self._integrate(x, reached, np.array([target]))[:, 0]
            except RuntimeError:
                break
            if not np.all(np.isfinite(x)):
                break
            out[:, j] = x
            reached = float(target)
        return reached

    # --- endings --------------------------------------------------------------------------
    def _failed(
        self, times: np.ndarray, states: np.ndarray, t: float, exc: Exception
    ) -> Trajectory:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        message = (
            f"integration failed after t={t:g} ({reason}); the values up to t={t:g} are kept. "
            "Try a larger max_steps or looser tolerances, or check the model for blow-up"
        )
        return self._done(times, states, Status.INTEGRATION_FAILED, message)

    def _done(
        self, times: np.ndarray, states: np.ndarray, status: Status, message: str
    ) -> Trajectory:
        if status is Status.SUCCESS and not np.all(np.isfinite(states)):
            status = Status.NONFINITE
            bad = np.flatnonzero(~np.all(np.isfinite(states), axis=1))
            names = ", ".join(self.m.state_ids[i] for i in bad[:5])
            message = f"the solution became NaN or infinite for: {names}"
        return Trajectory(times, states, self.q, status, message, len(self.fired), list(self.fired))


def run_trajectory(
    model: CompiledModel,
    times: np.ndarray,
    p: np.ndarray,
    solver: AbstractSolver,
    tape: list[Entry] | None = None,
) -> Trajectory:
    """Integrate and return raw states at the output times.

    With ``tape`` (a list), every integration, root, trigger and event firing is appended to
    it so that the run can be replayed symbolically for sensitivities.
    """
    runner = _Runner(model, solver, p)
    runner.tape = tape
    return runner.run(times)


def evaluate_outputs(
    model: CompiledModel, traj: Trajectory, species_only: bool = False
) -> np.ndarray:
    """Every output id (rows: times) for the recorded states, or only the species."""
    n = len(traj.times)
    outputs = model.species_outputs if species_only else model.outputs
    function = mapped(model, outputs, n)
    # inputs and outputs are column-major: (n_states, n) states go in as their transpose
    flat = bound(function)(traj.times, traj.states.T.ravel(), np.tile(traj.q, n))[0]
    out = flat.reshape(n, outputs.numel_out(0))
    if traj.status is not Status.SUCCESS:
        out[np.any(~np.isfinite(traj.states), axis=0)] = np.nan
    return out


def fixed_schedule(model: CompiledModel) -> bool:
    """True when every run follows the same event schedule given the same event times: all
    triggers are ``time >= c`` breakpoints, without delays or priorities."""
    return (
        bool(model.events)
        and all(e.time_expr is not None and not e.has_delay for e in model.events)
        and all(e.priority is None for e in model.model.events)
    )


def event_times(model: CompiledModel, q: np.ndarray) -> np.ndarray:
    """Per event, its breakpoint time for fixed quantities ``q`` (NaN for state events)."""
    return np.array(
        [
            np.nan if e.time_expr is None else float(bound(e.time_expr)(q)[0][0])
            for e in model.events
        ]
    )
