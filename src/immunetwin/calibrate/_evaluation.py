"""What one evaluation of the PEtab objective returns: its value, gradient, simulated
observables and noise per measurement, and a status saying whether (and why not) it worked."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from immunetwin.calibrate._problem import Measurement, Override

if TYPE_CHECKING:
    import pandas as pd


class ObjectiveStatus(enum.Enum):
    """Outcome of one evaluation; a failed one has ``nllh = inf`` and says why."""

    SUCCESS = "success"
    SIMULATION_FAILED = "simulation_failed"
    STEADY_STATE_FAILED = "steady_state_failed"
    NONFINITE = "nonfinite"

    @property
    def ok(self) -> bool:
        return self is ObjectiveStatus.SUCCESS


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One evaluation at ``x`` (estimated parameters on their scales).

    ``simulation[i]`` and ``sigma[i]`` belong to ``measurements[i]`` (the observable before its
    transformation, and the noise parameter); ``gradient`` is d nllh / d x, or None when it was
    not asked for.
    """

    x: np.ndarray
    nllh: float
    gradient: np.ndarray | None
    simulation: np.ndarray
    sigma: np.ndarray
    status: ObjectiveStatus
    measurements: tuple[Measurement, ...]
    message: str = ""
    fisher: np.ndarray | None = None  # expected Fisher information of x, when asked for

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def llh(self) -> float:
        return -self.nllh

    def to_dataframe(self) -> pd.DataFrame:
        """The PEtab simulation table: the measurement table with ``simulation`` values.

        Cells are typed as libpetab reads them (an empty cell is NaN, a single number a float),
        so ``petab.v1.calculate_llh`` can match the rows to the problem's measurement table.
        """
        import pandas as pd

        def column(lists: list[tuple[Override, ...]]) -> list[float] | list[str]:
            # as pandas reads a file column: numbers if every cell is one number or empty
            if all(len(v) <= 1 and not any(isinstance(e, str) for e in v) for v in lists):
                return [float(v[0]) if v else math.nan for v in lists]
            return [";".join(e if isinstance(e, str) else repr(e) for e in v) for v in lists]

        ms = self.measurements
        return pd.DataFrame(
            {
                "observableId": [m.observable_id for m in ms],
                "preequilibrationConditionId": [
                    m.preequilibration_condition_id or math.nan for m in ms
                ],
                "simulationConditionId": [m.simulation_condition_id for m in ms],
                "time": [m.time for m in ms],
                "observableParameters": column([m.observable_parameters for m in ms]),
                "noiseParameters": column([m.noise_parameters for m in ms]),
                "simulation": self.simulation,
            }
        )
