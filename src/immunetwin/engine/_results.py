"""Typed results that always carry a status."""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass

import numpy as np

from immunetwin.errors import UnknownIdentifierError


class Status(enum.Enum):
    """Outcome of a run; the message of a result says how to fix a failure."""

    SUCCESS = "success"
    INTEGRATION_FAILED = "integration_failed"
    NONFINITE = "nonfinite"
    EVENT_LIMIT = "event_limit"

    @property
    def ok(self) -> bool:
        return self is Status.SUCCESS


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """A time course: ``values[i, j]`` is variable ``ids[j]`` at ``time[i]``.

    Species are reported in the unit their math uses (concentration unless the species has only
    substance units). Rows after a failure are NaN and ``status`` says why.
    """

    time: np.ndarray
    ids: tuple[str, ...]
    values: np.ndarray
    status: Status
    message: str = ""
    solver: str = ""
    n_events: int = 0

    def __getitem__(self, id: str) -> np.ndarray:
        try:
            return self.values[:, self.ids.index(id)]
        except ValueError:
            raise UnknownIdentifierError(
                f"'{id}' is not in this result; it holds: {', '.join(self.ids)}"
            ) from None

    @property
    def ok(self) -> bool:
        return self.status.ok

    def to_csv(self) -> str:
        """CSV text with header ``time,<id>,...``."""
        buffer = io.StringIO()
        buffer.write(",".join(("time", *self.ids)) + "\n")
        table = np.column_stack([self.time, self.values]) if self.ids else self.time[:, None]
        np.savetxt(buffer, table, delimiter=",", fmt="%.17g")
        return buffer.getvalue()
