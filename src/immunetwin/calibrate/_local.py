"""Local optimisers over a box: what each start of a multistart (and each refinement of a
scatter search) runs, given the objective with its exact gradient (and a Hessian
approximation, for :class:`FidesTrustRegion`)."""

from __future__ import annotations

import abc
import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize as scipy_optimize

# What a local optimiser may raise on a start it cannot work from (e.g. fides on a start whose
# objective or gradient is not finite, a diverging start): that local search is lost, no more
LOCAL_SEARCH_FAILURES = (ArithmeticError, ValueError, RuntimeError)


@dataclass(frozen=True, slots=True)
class LocalResult:
    x: np.ndarray
    fval: float
    converged: bool
    message: str
    iterations: int


class AbstractLocalOptimizer(abc.ABC):
    """A local optimiser over a box, given f and its gradient (and, where ``uses_hessian``,
    a Hessian approximation as a third value)."""

    uses_hessian: bool = False

    @abc.abstractmethod
    def minimize(
        self, fun: Callable[[np.ndarray], Any], x0: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> LocalResult: ...


class Subspace(enum.Enum):
    """Where fides solves its trust-region subproblem."""

    TWO_D = "2D"  # the plane of the Newton step and the gradient (fides' default)
    FULL = "full"  # the whole parameter space


@dataclass(frozen=True)
class FidesTrustRegion(AbstractLocalOptimizer):
    """fides' trust-region reflective method, by default with the Fisher information as
    Hessian (Gauss-Newton).

    ``hessian_update`` makes a fides Hessian approximation instead (called once per start):
    ``fides.HybridFixed`` (Fisher information, then BFGS once the trust region stalls; the
    fides paper's recommendation) or a quasi-Newton update such as ``fides.BFGS`` (gradients
    only). ``subspace`` is where the trust-region subproblem is solved. A trial point where
    the objective fails (a simulation that cannot be integrated) is rejected and the trust
    region shrinks.
    """

    max_iterations: int = 500
    fatol: float = 1e-6  # absolute change of the objective (nllh) at convergence
    gatol: float = 1e-6
    frtol: float = 0.0  # relative change of the objective at convergence
    subspace: Subspace = Subspace.TWO_D
    hessian_update: Callable[[], Any] | None = None
    uses_hessian: bool = True

    def minimize(
        self, fun: Callable[[np.ndarray], Any], x0: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> LocalResult:
        import logging

        import fides
        from fides.hessian_approximation import IterativeHessianApproximation

        update = self.hessian_update() if self.hessian_update is not None else None
        gradient_only = isinstance(update, IterativeHessianApproximation)

        def guarded(x: np.ndarray) -> Any:
            # fides tests convergence on the *trial* point's gradient even when it rejects the
            # step: a failed simulation must not look like a zero gradient (a false GTOL stop)
            f, g, h = fun(x)
            if not math.isfinite(f):
                g, h = np.full(len(x), np.nan), np.full((len(x), len(x)), np.nan)
            return (f, g) if gradient_only else (f, g, h)

        optimizer = fides.Optimizer(
            guarded,
            ub=upper,
            lb=lower,
            verbose=logging.ERROR,
            options={
                fides.Options.MAXITER: self.max_iterations,
                fides.Options.FATOL: self.fatol,
                fides.Options.FRTOL: self.frtol,
                fides.Options.GATOL: self.gatol,
                fides.Options.SUBSPACE_DIM: self.subspace.value,
            },
            hessian_update=update,
        )
        fval, x, _, _ = optimizer.minimize(np.clip(x0, lower, upper))
        flag = optimizer.exitflag
        converged = flag in (fides.ExitFlag.FTOL, fides.ExitFlag.GTOL, fides.ExitFlag.XTOL)
        return LocalResult(
            np.asarray(x, dtype=float), float(fval), converged, flag.name, int(optimizer.iteration)
        )


@dataclass(frozen=True)
class LBFGSB(AbstractLocalOptimizer):
    """scipy's L-BFGS-B with the exact gradient."""

    max_iterations: int = 1000
    ftol: float = 1e-12
    gtol: float = 1e-6

    def minimize(
        self, fun: Callable[[np.ndarray], Any], x0: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> LocalResult:
        result = scipy_optimize.minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=list(zip(lower, upper, strict=True)),
            options={"maxiter": self.max_iterations, "ftol": self.ftol, "gtol": self.gtol},
        )
        return LocalResult(
            np.asarray(result.x, dtype=float),
            float(result.fun),
            bool(result.success),
            str(result.message),
            int(result.nit),
        )
