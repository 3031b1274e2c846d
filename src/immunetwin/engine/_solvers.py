"""Integrators over one event-free segment, chosen by objects (not strings).

Every solver integrates the time-scaled system ``dx/ds = h f(a + h s, x, q)`` on a normalised
output grid in ``[0, 1]``, so one CasADi integrator serves every segment with the same relative
grid. Integrators are built lazily and cached per compiled model.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import casadi as ca
import numpy as np

from immunetwin.engine._buffers import bound
from immunetwin.errors import InvalidInputError


class AbstractSolver(abc.ABC):
    """A segment integrator: tolerances plus the CasADi plugin that does the work."""

    rtol: float
    atol: float
    max_steps: int
    jit: bool = False

    @property
    @abc.abstractmethod
    def plugin(self) -> str: ...

    @abc.abstractmethod
    def options(self) -> dict[str, Any]: ...

    @property
    def compile_segments(self) -> bool:
        """Whether the per-segment CasADi integrators are C-compiled."""
        return self.jit

    def check(self) -> None:
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if not (value > 0 and np.isfinite(value)):
                raise InvalidInputError(f"{name} must be a positive number, got {value!r}")
        if self.max_steps < 1:
            raise InvalidInputError(f"max_steps must be at least 1, got {self.max_steps}")


@dataclass(frozen=True)
class CVODES(AbstractSolver):
    """SUNDIALS CVODES (BDF, Newton): stiff-safe, the default."""

    rtol: float = 1e-8
    atol: float = 1e-10
    max_steps: int = 100_000

    @property
    def plugin(self) -> str:
        return "cvodes"

    def options(self) -> dict[str, Any]:
        return {
            "abstol": self.atol,
            "reltol": self.rtol,
            "max_num_steps": self.max_steps,
            "disable_internal_warnings": True,
            # Sparse LU instead of CasADi's default dense QR: QR mixes rows, so states whose
            # derivative is exactly 0 (e.g. x' = k*x from x = 0) pick up round-off that the
            # model then amplifies (BIOMD0000000746: 0 -> 2e11).
            "linear_solver": "csparse",
            # Forward sensitivities: Newton iterations on the augmented system use the state
            # Jacobian's blocks only (converging to the same solution) instead of adding the
            # second-derivative coupling terms: 1.3-1.7x cheaper gradients on the PEtab problems
            "second_order_correction": False,
            "show_eval_warnings": False,  # failures are reported once, in the result
        }


@dataclass(frozen=True)
class DormandPrince(AbstractSolver):
    """Adaptive explicit Runge-Kutta 5(4) (CasADi ``erk``), compiled to C by default.

    Several times faster than CVODES on non-stiff models (the integrator loop itself runs as
    generated C); on stiff models it needs many steps, so prefer :class:`CVODES` there.
    """

    rtol: float = 1e-8
    atol: float = 1e-10
    max_steps: int = 100_000
    jit: bool = True

    @property
    def plugin(self) -> str:
        return "erk"

    def options(self) -> dict[str, Any]:
        return {
            "abstol": self.atol,
            "reltol": self.rtol,
            "max_num_steps": self.max_steps,
            "show_eval_warnings": False,
        }


@dataclass(eq=False)
class SegmentIntegrators:
    """Cache of integrators for one (model, solver) pair, keyed by normalised grid."""

    t: ca.SX
    x: ca.SX
    q: ca.SX
    ode: ca.SX
    solver: AbstractSolver
    nominal: np.ndarray | None = None  # per state: tolerances apply to x / nominal
    _cache: dict[tuple[object, ...], ca.Function] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def _cached(self, key: tuple[object, ...], build: Callable[[], ca.Function]) -> ca.Function:
        with self._lock:
            function = self._cache.get(key)
            if function is None:
                if len(self._cache) > 256:
                    self._cache.clear()
                function = self._cache[key] = build()
            return function

    def raw(self, grid: tuple[float, ...]) -> ca.Function:
        """The interpreted CasADi integrator over ``grid`` (differentiable)."""
        return self._cached(("raw", grid), lambda: self._build(grid))

    def _build(self, grid: tuple[float, ...]) -> ca.Function:
        s = ca.SX.sym("s")
        a = ca.SX.sym("a")
        h = ca.SX.sym("h")
        scaled = h * ca.substitute(self.ode, self.t, a + h * s)
        options = self.solver.options()
        if self.nominal is None or np.all(self.nominal == 1.0):
            dae = {"x": self.x, "t": s, "p": ca.vertcat(self.q, a, h), "ode": scaled}
            return ca.integrator("segment", self.solver.plugin, dae, 0.0, list(grid), options)
        d = ca.DM(self.nominal)
        z = ca.SX.sym("z", self.x.numel())
        ode_z = ca.substitute(scaled, self.x, d * z) / d
        dae = {"x": z, "t": s, "p": ca.vertcat(self.q, a, h), "ode": ode_z}
        inner = ca.integrator("inner", self.solver.plugin, dae, 0.0, list(grid), options)
        x0 = ca.MX.sym("x0", self.x.numel())
        z0 = ca.MX.sym("z0", 0)
        p = ca.MX.sym("p", self.q.numel() + 2)
        xf = ca.repmat(d, 1, len(grid)) * inner(x0=x0 / d, p=p)["xf"]
        return ca.Function("segment", [x0, z0, p], [xf], ["x0", "z0", "p"], ["xf"])

    def key(self, grid: tuple[float, ...]) -> str:
        """Identifies the integrator's content (for the compiled-code cache)."""
        nominal = None if self.nominal is None else self.nominal.tolist()
        return f"{ca.CasadiMeta.version()}|{self.solver!r}|{self.ode}|{grid}|{nominal}"

    def get(self, grid: tuple[float, ...]) -> ca.Function:
        """The integrator over ``grid`` (C-compiled when the solver asks for it)."""

        def build() -> ca.Function:
            function = self.raw(grid)
            if not self.solver.compile_segments:
                return function
            from immunetwin.engine._jit import compiled

            return compiled(function, self.key(grid))

        return self._cached(("single", grid), build)

    def integrate(
        self, x0: np.ndarray, q: np.ndarray, start: float, times: np.ndarray
    ) -> np.ndarray:
        """States at ``times`` (increasing, all > start) from ``x0`` at ``start``."""
        h = float(times[-1] - start)
        grid = tuple(((times - start) / h).tolist())
        function = self.get(grid)
        states = bound(function)(x0, 0.0, np.concatenate([q, [start, h]]))[0]
        return states.reshape(len(times), len(x0)).T  # CasADi is column-major


@dataclass(frozen=True)
class Rodas4(AbstractSolver):
    """Stiff Rosenbrock 4(3) (Hairer & Wanner's RODAS) that steps all ensemble members at once,
    compiled to C: the fast choice for ensembles of stiff models.

    Ensembles only: a single simulation, and members with state events or event times of
    their own, run CVODES at the same tolerances. RODAS's error at a given tolerance is
    typically well below CVODES's (see ``benchmarks/twin_trial.py``), so looser tolerances
    than CVODES's give the same accuracy.
    """

    rtol: float = 1e-6
    atol: float = 1e-9
    max_steps: int = 100_000
    jit: bool = True

    @property
    def plugin(self) -> str:
        return "cvodes"

    def options(self) -> dict[str, Any]:
        return CVODES(self.rtol, self.atol, self.max_steps).options()

    @property
    def compile_segments(self) -> bool:
        return False  # the jit flag compiles the RODAS step; CVODES segments cannot be
