"""The PEtab objective: negative log-likelihood of the data and its exact gradient.

The likelihood is PEtab v1's (libpetab's ``calculate_llh``): per measurement m with simulated
observable y and noise sigma, on the observable's transformation s (lin, log or log10),

    normal:  -log L = 1/2 log(2 pi sigma^2) + 1/2 ((s(y) - s(m)) / sigma)^2 + log|ds/dm|
    laplace: -log L = log(2 sigma) + |s(y) - s(m)| / sigma + log|ds/dm|

where ``log|ds/dm|`` (0, log m or log(m ln 10)) makes it a density of the measurement itself.
Priors are not part of it. The gradient chains the engine's forward sensitivities (and the
implicit derivative of pre-equilibrium steady states) through the observable and noise
formulas, differentiated symbolically with CasADi.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import casadi as ca
import numpy as np
import sympy as sp

from immunetwin.calibrate._evaluation import Evaluation, ObjectiveStatus
from immunetwin.calibrate._formulas import parse, placeholder, placeholder_name, to_casadi
from immunetwin.calibrate._formulas import symbol_names as names_of
from immunetwin.calibrate._preequilibration import preequilibrate
from immunetwin.calibrate._problem import (
    CalibrationProblem,
    Measurement,
    NoiseDistribution,
    Observable,
    Override,
    Scale,
)
from immunetwin.engine import CVODES, AbstractSolver, CompiledModel, Status, compile_model
from immunetwin.engine import sensitivities as run_sensitivities
from immunetwin.engine import simulate as run_simulation
from immunetwin.errors import InvalidInputError

# One simulation's outputs (T, K) and, with the gradient, their derivatives (T, K, n_x).
_Outputs = tuple[np.ndarray, np.ndarray | None]

# A value in a formula or a model override: a constant, or estimated parameter j (linear value).
_Source = tuple[float, int]  # (constant, -1) or (nan, j)


@dataclass
class _Setting:
    """Model overrides of one condition: constants, and ids tied to estimated parameters."""

    constants: dict[str, float]
    links: dict[str, int]
    reset: frozenset[str]  # ids the condition sets (kept from pre-equilibration otherwise)


@dataclass
class _Simulation:
    """One (pre-equilibration, simulation) condition pair, with its compiled models."""

    simulation: _Setting
    preequilibration: _Setting | None
    grid: np.ndarray
    outputs: list[str]  # model ids the formulas read
    model: CompiledModel
    pre_model: CompiledModel | None
    kept: frozenset[str]  # states that start from the pre-equilibrium


@dataclass
class _Group:
    """The measurements of one observable, with everything needed to evaluate them at once."""

    rows: np.ndarray  # indices into problem.measurements
    function: ca.Function  # mapped: (z (nz, N), m (1, N)) -> (nllh, d nllh/dz, y, sigma)
    model_symbols: list[str]
    keys: np.ndarray  # per row: simulation index
    times: np.ndarray  # per row: index into that simulation's grid
    columns: np.ndarray  # (n_model_symbols, N): output column per symbol and row
    constants: np.ndarray  # (n_other, N)
    links: np.ndarray  # (n_other, N): estimated parameter index or -1
    values: np.ndarray  # measured values
    noise: NoiseDistribution = NoiseDistribution.NORMAL


def _transformed(y: ca.SX, observable: Observable) -> ca.SX:
    scale = observable.transformation
    if scale is Scale.LIN:
        return y
    return ca.log(y) if scale is Scale.LOG else ca.log10(y)


def _nllh(y: ca.SX, sigma: ca.SX, m: ca.SX, observable: Observable) -> ca.SX:
    scale = observable.transformation
    if scale is Scale.LIN:
        s_y, s_m, jacobian = y, m, ca.SX(0.0)
    elif scale is Scale.LOG:
        s_y, s_m, jacobian = ca.log(y), ca.log(m), ca.log(m)
    else:
        s_y, s_m = ca.log10(y), ca.log10(m)
        jacobian = ca.log(m * math.log(10.0))
    if observable.noise_distribution is NoiseDistribution.NORMAL:
        return 0.5 * ca.log(2 * math.pi * sigma**2) + 0.5 * ((s_y - s_m) / sigma) ** 2 + jacobian
    return ca.log(2 * sigma) + ca.fabs(s_y - s_m) / sigma + jacobian


# A fit visits parameters whose model blows up in finite time; CVODES then shrinks its steps
# until the step limit. 10^4 steps per output interval (AMICI's default) keep those failures
# cheap: on Crauste_CellSystems2017 a failed simulation costs 59 ms instead of 196 ms with the
# engine's 10^5, and the same 400 random points fail.
CALIBRATION_SOLVER = CVODES(max_steps=10_000)


class Objective:
    """The negative log-likelihood of a :class:`CalibrationProblem`, compiled once.

    ``x`` is the vector of estimated parameters (``parameter_ids``) on their scales. ``solver``
    integrates every simulation (default :data:`CALIBRATION_SOLVER`); ``steady_tolerance`` is
    the scaled residual a pre-equilibration must reach.
    """

    def __init__(
        self,
        problem: CalibrationProblem,
        *,
        solver: AbstractSolver | None = None,
        steady_tolerance: float = 1e-10,
    ) -> None:
        self.problem = problem
        self.solver = solver or CALIBRATION_SOLVER
        self.solver.check()
        self.steady_tolerance = steady_tolerance
        self.parameter_ids = problem.estimated_ids
        self._index = {id: j for j, id in enumerate(self.parameter_ids)}
        self._scales = [p.scale for p in problem.estimated]
        self._nominal = {p.id: p.nominal for p in problem.parameters}
        model = problem.model
        self._model_ids = {c.id for c in model.compartments} | {s.id for s in model.species}
        self._model_ids |= {p.id for p in model.parameters} | {r.id for r in model.reactions}
        self._initial_assigned = {a.symbol for a in model.initial_assignments}
        self._compiled: dict[frozenset[str], CompiledModel] = {}
        self._simulations: list[_Simulation] = []
        self._groups = self._build_groups()
        linked = set()
        for s in self._simulations:
            linked |= set(s.simulation.links.values())
            if s.preequilibration is not None:
                linked |= set(s.preequilibration.links.values())
        self.simulated_parameters: tuple[int, ...] = tuple(sorted(linked))
        """Indices into ``x`` of the parameters that enter a simulation (the others enter
        only observable and noise formulas)."""
        # the last simulations, keyed by those parameters: re-evaluating with only the others
        # changed (hierarchical optimisation) integrates nothing
        self._last: tuple[tuple[bool, bytes], list[_Outputs] | _Failed] | None = None

    # --- construction -------------------------------------------------------------------

    def _source(self, value: Override) -> _Source:
        if isinstance(value, str):
            if value in self._index:
                return (math.nan, self._index[value])
            return (float(self._nominal[value]), -1)
        return (float(value), -1)

    def _setting(self, condition_id: str) -> _Setting:
        constants: dict[str, float] = {}
        links: dict[str, int] = {}

        def put(id: str, value: Override) -> None:
            constants.pop(id, None)
            links.pop(id, None)
            number, j = self._source(value)
            if j >= 0:
                links[id] = j
            else:
                constants[id] = number

        for p in self.problem.parameters:
            if p.id in self._model_ids:
                put(p.id, p.id)
        reset = set()
        for id, raw in self.problem.condition(condition_id).values:
            if id in self._model_ids and not (isinstance(raw, float) and math.isnan(raw)):
                put(id, raw)
                reset.add(id)
        return _Setting(constants, links, frozenset(reset))

    def _model(self, overridden: frozenset[str]) -> CompiledModel:
        """The compiled model whose initial assignments to ``overridden`` ids are dropped, so
        that the given values count (PEtab: table values win over the model's)."""
        dropped = overridden & self._initial_assigned
        found = self._compiled.get(dropped)
        if found is None:
            model = self.problem.model
            if dropped:
                kept = tuple(a for a in model.initial_assignments if a.symbol not in dropped)
                model = model.replace(initial_assignments=kept)
            found = self._compiled[dropped] = compile_model(model)
        return found

    def _build_groups(self) -> list[_Group]:
        problem = self.problem
        keys: dict[tuple[str | None, str], int] = {}
        times: dict[int, set[float]] = {}
        outputs: dict[int, set[str]] = {}
        parsed = {}
        for o in problem.observables:
            formula, noise = parse(o.formula), parse(o.noise_formula)
            names = names_of(formula) | names_of(noise)
            model_symbols = sorted(n for n in names if n in self._model_ids)
            others = sorted(n for n in names - self._model_ids if n != o.id)
            parsed[o.id] = (formula, noise, model_symbols, others)
        row_keys = []
        for m in problem.measurements:
            key = (m.preequilibration_condition_id, m.simulation_condition_id)
            k = keys.setdefault(key, len(keys))
            row_keys.append(k)
            times.setdefault(k, set()).add(m.time)
            outputs.setdefault(k, set()).update(parsed[m.observable_id][2])
        for (pre, sim), k in keys.items():
            setting = self._setting(sim)
            overridden = set(setting.constants) | set(setting.links)
            pre_setting = pre_model = None
            kept: frozenset[str] = frozenset()
            if pre is not None:
                pre_setting = self._setting(pre)
                pre_model = self._model(frozenset(pre_setting.constants) | set(pre_setting.links))
                kept = frozenset(pre_model.state_ids) - setting.reset
            # a simulation starts at time 0, or at its earliest measurement time if that is
            # negative (Hass_PONE2017 measures from -30, before its input switches on at 0)
            grid = np.array(sorted(times[k] | {0.0}))
            model = self._model(frozenset(overridden | kept))
            self._simulations.append(
                _Simulation(setting, pre_setting, grid, sorted(outputs[k]), model, pre_model, kept)
            )
        groups = []
        for o in problem.observables:
            rows = np.array(
                [i for i, m in enumerate(problem.measurements) if m.observable_id == o.id], int
            )
            if len(rows):
                groups.append(self._group(o, rows, np.array(row_keys)[rows], parsed[o.id]))
        return groups

    def _group(
        self,
        o: Observable,
        rows: np.ndarray,
        keys: np.ndarray,
        parsed: tuple[sp.Expr, sp.Expr, list[str], list[str]],
    ) -> _Group:
        formula, noise, model_symbols, others = parsed
        symbols = {n: ca.SX.sym(n) for n in [*model_symbols, *others]}
        y = to_casadi(formula, symbols)
        sigma = to_casadi(noise, {**symbols, o.id: y})
        z = ca.vertcat(*symbols.values()) if symbols else ca.SX(0, 1)
        m = ca.SX.sym("m")
        nllh = _nllh(y, sigma, m, o)
        # the last two outputs feed the Fisher information: d(transformed y)/dz, d sigma/dz
        single = ca.Function(
            f"nllh_{o.id}",
            [z, m],
            [
                nllh,
                ca.gradient(nllh, z),
                y,
                sigma,
                ca.gradient(_transformed(y, o), z),
                ca.gradient(sigma, z),
            ],
        )
        measurements = [self.problem.measurements[i] for i in rows]
        columns = np.zeros((len(model_symbols), len(rows)), dtype=int)
        for r, k in enumerate(keys):
            outputs = self._simulations[k].outputs
            for s, name in enumerate(model_symbols):
                columns[s, r] = outputs.index(name)
        constants = np.zeros((len(others), len(rows)))
        links = np.full((len(others), len(rows)), -1, dtype=int)
        for r, m_ in enumerate(measurements):
            condition = self.problem.condition(m_.simulation_condition_id).as_dict()
            for s, name in enumerate(others):
                constants[s, r], links[s, r] = self._resolve(name, o, m_, condition)
        time_index = np.array(
            [
                int(np.searchsorted(self._simulations[k].grid, m_.time))
                for m_, k in zip(measurements, keys, strict=True)
            ]
        )
        return _Group(
            rows=rows,
            function=single.map(len(rows)),
            model_symbols=model_symbols,
            keys=keys,
            times=time_index,
            columns=columns,
            constants=constants,
            links=links,
            values=np.array([m_.value for m_ in measurements]),
            noise=o.noise_distribution,
        )

    def _resolve(
        self, name: str, o: Observable, m: Measurement, condition: dict[str, Override]
    ) -> _Source:
        held = placeholder(name)
        if held is not None and held[2] == o.id:
            kind, index, _ = held
            values = m.observable_parameters if kind == "observable" else m.noise_parameters
            if index > len(values):
                raise InvalidInputError(
                    f"measurement of '{o.id}' at t = {m.time} gives {len(values)} {kind} "
                    f"parameters but the formulas use {placeholder_name(kind, index, o.id)}"
                )
            return self._source(values[index - 1])
        if name in condition:
            return self._source(condition[name])
        if name in self._nominal:
            return self._source(name)
        if name == "time":
            return (m.time, -1)
        raise InvalidInputError(f"the formulas of observable '{o.id}' use unknown id '{name}'")

    # --- evaluation ---------------------------------------------------------------------

    def nllh(self, x: Sequence[float] | np.ndarray) -> float:
        """The negative log-likelihood (``inf`` where a simulation fails)."""
        return self.evaluate(x).nllh

    def llh(self, x: Sequence[float] | np.ndarray) -> float:
        """The log-likelihood, PEtab's ``calculate_llh`` on the simulations at ``x``."""
        return -self.evaluate(x).nllh

    def nllh_and_gradient(self, x: Sequence[float] | np.ndarray) -> Evaluation:
        """The negative log-likelihood with its exact gradient with respect to ``x``."""
        return self.evaluate(x, gradient=True)

    def evaluate(
        self, x: Sequence[float] | np.ndarray, *, gradient: bool = False, fisher: bool = False
    ) -> Evaluation:
        """Simulate every condition at ``x`` and evaluate the likelihood (and its gradient;
        with ``fisher``, also the expected Fisher information, a positive semi-definite
        approximation of the Hessian that Gauss-Newton / trust-region optimisers use)."""
        gradient = gradient or fisher
        x = np.array(x, dtype=float)
        linear = self.problem.to_linear(x)  # checks the shape
        theta = np.array([linear[id] for id in self.parameter_ids])
        dtheta = np.array(
            [s.derivative(np.array(v)) for s, v in zip(self._scales, theta, strict=True)]
        )
        n = len(self.problem.measurements)
        done = self._simulate_all(theta, dtheta, gradient)
        if isinstance(done, _Failed):
            return Evaluation(
                x, math.inf, None, np.full(n, np.nan), np.full(n, np.nan), done.status,
                self.problem.measurements, done.message,
            )  # fmt: skip
        values = [v for v, _ in done]
        derivatives = [d for _, d in done]
        total = 0.0
        grad = np.zeros(len(x))
        information = np.zeros((len(x), len(x)))
        simulated, sigmas = np.full(n, np.nan), np.full(n, np.nan)
        for g in self._groups:
            z_model = np.empty((len(g.model_symbols), len(g.rows)))
            for r in range(len(g.rows)):
                z_model[:, r] = values[g.keys[r]][g.times[r], g.columns[:, r]]
            linked = g.links >= 0
            z_other = np.where(linked, theta[np.where(linked, g.links, 0)], g.constants)
            z = np.vstack([z_model, z_other])
            outputs = [_as_array(v) for v in g.function(z, g.values[None, :])]
            nllh, dz, y, sigma, dy_dz, dsigma_dz = outputs
            simulated[g.rows], sigmas[g.rows] = y.ravel(), sigma.ravel()
            total += float(np.sum(nllh))
            if not gradient:
                continue
            k_model = len(g.model_symbols)
            block = _model_block(g, derivatives, len(x))
            grad += np.einsum("kr,rkn->n", dz[:k_model], block)
            np.add.at(grad, g.links[linked], dz[k_model:][linked] * dtheta[g.links[linked]])
            if fisher:
                information += self._fisher(g, block, dy_dz, dsigma_dz, dtheta, sigma)
        status, message = ObjectiveStatus.SUCCESS, ""
        if not math.isfinite(total) or (gradient and not np.all(np.isfinite(grad))):
            bad = [self.problem.measurements[i] for i in np.flatnonzero(~np.isfinite(simulated))]
            status = ObjectiveStatus.NONFINITE
            message = "the likelihood is not finite" + (
                f"; e.g. observable '{bad[0].observable_id}' at t = {bad[0].time} is "
                f"{simulated[self.problem.measurements.index(bad[0])]}"
                if bad
                else " (a non-positive value under a log transformation, or sigma <= 0)"
            )
            total = math.inf
        return Evaluation(
            x, total, grad if gradient else None, simulated, sigmas, status,
            self.problem.measurements, message, information if fisher else None,
        )  # fmt: skip

    def _simulate_all(
        self, theta: np.ndarray, dtheta: np.ndarray, gradient: bool
    ) -> list[_Outputs] | _Failed:
        """Every simulation's outputs (and their derivatives), or the first failure; the last
        result is reused while the simulated parameters stay the same."""
        key = (gradient, theta[list(self.simulated_parameters)].tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        results: list[_Outputs] = []
        found: list[_Outputs] | _Failed = results
        for simulation in self._simulations:
            done = self._simulate(simulation, theta, dtheta, gradient)
            if isinstance(done, _Failed):
                found = done
                break
            results.append(done)
        self._last = (key, found)
        return found

    def _fisher(
        self,
        g: _Group,
        block: np.ndarray,
        dy_dz: np.ndarray,
        dsigma_dz: np.ndarray,
        dtheta: np.ndarray,
        sigma: np.ndarray,
    ) -> np.ndarray:
        """Expected Fisher information of one observable's measurements: per measurement
        ``(J_y J_y^T + c J_s J_s^T) / sigma^2`` with J_y, J_s the x-gradients of the
        transformed simulation and of sigma (c = 2 for normal noise, 1 for Laplace)."""
        k_model = len(g.model_symbols)
        c = 2.0 if g.noise is NoiseDistribution.NORMAL else 1.0
        j_y = np.einsum("kr,rkn->rn", dy_dz[:k_model], block)
        j_s = np.einsum("kr,rkn->rn", dsigma_dz[:k_model], block)
        symbol, row = np.nonzero(g.links >= 0)
        column = g.links[symbol, row]
        np.add.at(j_y, (row, column), dy_dz[k_model + symbol, row] * dtheta[column])
        np.add.at(j_s, (row, column), dsigma_dz[k_model + symbol, row] * dtheta[column])
        weight = 1.0 / sigma.ravel()[:, None] ** 2
        return (j_y * weight).T @ j_y + c * (j_s * weight).T @ j_s

    def _simulate(
        self, s: _Simulation, theta: np.ndarray, dtheta: np.ndarray, gradient: bool
    ) -> tuple[np.ndarray, np.ndarray | None] | _Failed:
        """Outputs (T, K) and, with ``gradient``, d outputs / d x (T, K, n_x)."""
        setting = s.simulation
        overrides = dict(setting.constants)
        overrides.update({id: float(theta[j]) for id, j in setting.links.items()})
        links = {id: j for id, j in setting.links.items() if id not in s.kept}
        seeded: dict[str, np.ndarray] = {}  # d initial value / d x of pre-equilibrated states
        if s.preequilibration is not None and s.pre_model is not None:
            pre = s.preequilibration
            pre_overrides = dict(pre.constants)
            pre_overrides.update({id: float(theta[j]) for id, j in pre.links.items()})
            pre_wrt = list(pre.links)
            found = preequilibrate(
                s.pre_model, pre_overrides, pre_wrt if gradient else None, self.steady_tolerance
            )
            if not found.ok:
                return _Failed(ObjectiveStatus.STEADY_STATE_FAILED, found.message)
            pre_seeds = np.zeros((len(pre_wrt), len(theta)))
            for i, id in enumerate(pre_wrt):
                pre_seeds[i, pre.links[id]] = dtheta[pre.links[id]]
            for i, id in enumerate(found.ids):
                if id in s.kept:
                    overrides[id] = float(found.values[i])
                    if found.derivative is not None:
                        seeded[id] = found.derivative[i] @ pre_seeds
        compiled = s.model
        variables = [v for v in s.outputs if v not in compiled.species_ids]
        wrt = [*links, *seeded]
        seeds = np.zeros((len(wrt), len(theta)))
        for i, id in enumerate(links):
            seeds[i, links[id]] = dtheta[links[id]]
        for i, row in enumerate(seeded.values()):
            seeds[len(links) + i] = row
        finite = s.grid[np.isfinite(s.grid)]
        if not gradient:
            try:
                result = run_simulation(
                    compiled, finite, parameters=overrides, variables=variables, solver=self.solver
                )
            except RuntimeError as exc:  # the integrator gave up inside the engine
                return _Failed(ObjectiveStatus.SIMULATION_FAILED, _gave_up("simulation", exc))
            if result.status not in (Status.SUCCESS, Status.NONFINITE):
                # NaN outputs (e.g. 0/0 at t = 0) matter only where a measurement reads them
                return _Failed(ObjectiveStatus.SIMULATION_FAILED, result.message)
            columns = [result.ids.index(v) for v in s.outputs]
            values, derivative = result.values[:, columns], None
        else:
            try:
                sens = run_sensitivities(
                    compiled,
                    finite,
                    wrt=wrt,
                    parameters=overrides,
                    variables=variables,
                    solver=self.solver,
                )
            except RuntimeError as exc:  # the forward-sensitivity integrator gave up
                return _Failed(ObjectiveStatus.SIMULATION_FAILED, _gave_up("sensitivity", exc))
            if not sens.status.ok:
                return _Failed(ObjectiveStatus.SIMULATION_FAILED, sens.message)
            columns = [sens.ids.index(v) for v in s.outputs]
            values, derivative = sens.values[:, columns], sens.jacobian[:, columns, :] @ seeds
        if len(finite) == len(s.grid):
            return values, derivative
        # time = inf: the steady state the condition's dynamics settle in, from its start
        steady = preequilibrate(
            compiled, overrides, wrt if gradient else None, self.steady_tolerance
        )
        if not steady.ok:
            return _Failed(
                ObjectiveStatus.STEADY_STATE_FAILED,
                f"no steady state for the time = inf measurements: {steady.message}",
            )
        rows = [steady.ids.index(v) for v in s.outputs]
        values = np.vstack([values, steady.values[rows][None, :]])
        if derivative is not None and steady.derivative is not None:
            derivative = np.concatenate([derivative, (steady.derivative[rows] @ seeds)[None]])
        return values, derivative


def _model_block(g: _Group, derivatives: list[np.ndarray | None], n: int) -> np.ndarray:
    """(rows, model symbols, n_x): d (model value read by each row's formulas) / d x."""
    block = np.empty((len(g.rows), len(g.model_symbols), n))
    for key in np.unique(g.keys):
        d = derivatives[key]
        assert d is not None
        rows = np.flatnonzero(g.keys == key)
        block[rows] = d[g.times[rows][:, None], g.columns[:, rows].T, :]
    return block


@dataclass(frozen=True)
class _Failed:
    status: ObjectiveStatus
    message: str


def _as_array(value: ca.DM) -> np.ndarray:
    return np.asarray(ca.DM(value).full(), dtype=float)


def _gave_up(what: str, error: RuntimeError) -> str:
    """Say which integration failed, with the solver's own reason last."""
    reason = str(error).splitlines()[-1].split(": ")[-1]
    return (
        f"the {what} integration failed ({reason}); the model may blow up or become too stiff "
        "at these parameters: try narrower bounds, a larger max_steps or looser tolerances"
    )
