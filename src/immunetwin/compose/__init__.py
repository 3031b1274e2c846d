"""Composition: build disease models from modules joined through typed ports.

``assemble(modules, wires)`` checks every connection (units, ontology terms, roles, missing
inputs, duplicate owners), reports all problems together, and returns one flat IR model that
the engine compiles, plus the record of which modules and wires built it.
"""

from immunetwin.compose.assemble import Composition as Composition
from immunetwin.compose.assemble import Connection as Connection
from immunetwin.compose.assemble import Wire as Wire
from immunetwin.compose.assemble import assemble as assemble
from immunetwin.compose.module import Module as Module
from immunetwin.compose.module import Port as Port
from immunetwin.compose.module import Role as Role
from immunetwin.compose.module import module as module

__all__ = ["Composition", "Connection", "Module", "Port", "Role", "Wire", "assemble", "module"]
