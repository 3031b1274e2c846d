"""immunetwin: immune digital twins — model IR, SBML/Antimony I/O and a compiled engine."""

__version__ = "0.1.0"
