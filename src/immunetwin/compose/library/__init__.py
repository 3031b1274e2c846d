"""The reviewed module library: name -> module factory.

Each module carries its citation, units, ports and parameter sources; ``modules()`` lists
them, ``library_module(name)`` builds one.
"""

from __future__ import annotations

from collections.abc import Callable

from immunetwin.compose.library import (
    adaptive,
    antibacterial,
    cytokines,
    hancioglu,
    innate,
    kirschner,
    pathogens,
    pkpd,
    reynolds,
    tissue,
)
from immunetwin.compose.module import Module
from immunetwin.errors import UnknownIdentifierError

_LIBRARY: dict[str, Callable[[], Module]] = {
    "reynolds.pathogen": reynolds.pathogen,
    "reynolds.phagocytes": reynolds.phagocytes,
    "reynolds.damage": reynolds.damage,
    "reynolds.mediator": reynolds.mediator,
    **kirschner.MODULES,
    **pkpd.MODULES,
    **antibacterial.MODULES,
    **hancioglu.MODULES,
    **pathogens.MODULES,
    **innate.MODULES,
    **cytokines.MODULES,
    **adaptive.MODULES,
    **tissue.MODULES,
}


def names() -> tuple[str, ...]:
    return tuple(sorted(_LIBRARY))


def library_module(name: str) -> Module:
    factory = _LIBRARY.get(name)
    if factory is None:
        raise UnknownIdentifierError(
            f"no library module '{name}'; available: {', '.join(names())} "
            "(see 'immunetwin modules list')"
        )
    return factory()
