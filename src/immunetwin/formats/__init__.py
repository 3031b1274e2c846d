"""File formats at the edge: SBML and Antimony in, SBML L3V2 and Antimony out."""

from immunetwin.formats._sbml import read_sbml as read_sbml, read_sbml_string as read_sbml_string

__all__ = ["read_sbml", "read_sbml_string"]
