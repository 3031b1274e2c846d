"""Calibration: PEtab v1 problems in, the exact negative log-likelihood and its gradient out."""

from immunetwin.calibrate._evaluation import Evaluation as Evaluation
from immunetwin.calibrate._evaluation import ObjectiveStatus as ObjectiveStatus
from immunetwin.calibrate._objective import Objective as Objective
from immunetwin.calibrate._petab import read_petab as read_petab
from immunetwin.calibrate._petab_write import write_petab as write_petab
from immunetwin.calibrate._problem import CalibrationProblem as CalibrationProblem
from immunetwin.calibrate._problem import Condition as Condition
from immunetwin.calibrate._problem import Measurement as Measurement
from immunetwin.calibrate._problem import NoiseDistribution as NoiseDistribution
from immunetwin.calibrate._problem import Observable as Observable
from immunetwin.calibrate._problem import Prior as Prior
from immunetwin.calibrate._problem import PriorType as PriorType
from immunetwin.calibrate._problem import ProblemParameter as ProblemParameter
from immunetwin.calibrate._problem import Scale as Scale
from immunetwin.calibrate._problem import SourceFiles as SourceFiles

__all__ = [
    "CalibrationProblem",
    "Condition",
    "Evaluation",
    "Measurement",
    "NoiseDistribution",
    "Objective",
    "ObjectiveStatus",
    "Observable",
    "Prior",
    "PriorType",
    "ProblemParameter",
    "Scale",
    "SourceFiles",
    "read_petab",
    "write_petab",
]
