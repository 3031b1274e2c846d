"""The record of one run (segments, roots, triggers, firings), replayed for sensitivities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Integrate:
    """Integrate to ``targets``; output ``recorded[column]`` is taken from that column.

    ``end`` names a parameter-dependent end time: ``("timed", event)`` or ``("pending", order)``.
    """

    targets: np.ndarray
    end: tuple[str, int] | None
    recorded: dict[int, int]

    def key(self) -> tuple[object, ...]:
        return ("integrate", tuple(self.targets.tolist()), self.end, tuple(self.recorded.items()))


@dataclass(frozen=True)
class Root:
    """A state event located at ``time`` by the trigger of ``event``."""

    time: float
    event: int

    def key(self) -> tuple[object, ...]:
        return ("root", self.time, self.event)


@dataclass(frozen=True)
class Trigger:
    """``event`` triggered; its execution is the pending entry ``order``."""

    event: int
    order: int

    def key(self) -> tuple[object, ...]:
        return ("trigger", self.event, self.order)


@dataclass(frozen=True)
class Fire:
    """The pending entry ``order`` of ``event`` executed its assignments."""

    event: int
    order: int

    def key(self) -> tuple[object, ...]:
        return ("fire", self.event, self.order)


@dataclass(frozen=True)
class Record:
    """The current state is output ``index`` (taken after events at that time)."""

    index: int

    def key(self) -> tuple[object, ...]:
        return ("record", self.index)


Entry = Integrate | Root | Trigger | Fire | Record
