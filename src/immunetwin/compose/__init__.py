"""Composition: build disease models from modules joined through typed ports.

``assemble(modules, wires)`` checks every connection (units, ontology terms, roles, missing
inputs, duplicate owners), reports all problems together, and returns one flat IR model that
the engine compiles, plus the record of which modules and wires built it.
``compose.graph.write_svg(composition, path)`` draws its wiring; Boolean modules
(``read_sbml_qual``, ``read_maboss``) run in MaBoSS and couple to ODE modules through
``compose.cosim``.
"""

from immunetwin.compose.assemble import Composition as Composition
from immunetwin.compose.assemble import Connection as Connection
from immunetwin.compose.assemble import Wire as Wire
from immunetwin.compose.assemble import assemble as assemble
from immunetwin.compose.boolean import BooleanModule as BooleanModule
from immunetwin.compose.boolean import read_maboss as read_maboss
from immunetwin.compose.boolean import read_sbml_qual as read_sbml_qual
from immunetwin.compose.module import Module as Module
from immunetwin.compose.module import Port as Port
from immunetwin.compose.module import Role as Role
from immunetwin.compose.module import module as module

__all__ = [
    "BooleanModule",
    "Composition",
    "Connection",
    "Module",
    "Port",
    "Role",
    "Wire",
    "assemble",
    "module",
    "read_maboss",
    "read_sbml_qual",
]
