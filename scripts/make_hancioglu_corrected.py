"""Write BIOMD0000000711_corrected.xml: Hancioglu et al. 2007 with the paper's aE = 0.4.

The BioModels file gives the effector-decay reaction ``Degradation_of_Effector_cells__E`` a
local parameter ``aE = 0.1`` that shadows the global ``aE = 0.4`` of the paper's Table 2; only
0.4 reproduces the published high-virulence state x_v (see reference-results.md). This script
changes nothing else: the local value becomes 0.4, the model id and name say "corrected", the
model's ``bqmodel:is`` links become ``bqmodel:isDerivedFrom`` (the file is no longer the
BioModels entry) and a note says what was changed and why. The output is deterministic.

Usage: ``python scripts/make_hancioglu_corrected.py [--source ORIGINAL.xml] [--out OUT.xml]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import libsbml

_MODELS = Path(__file__).resolve().parents[1] / "src/immunetwin/catalog/data/models"
_REACTION = "Degradation_of_Effector_cells__E"
_PAPER_AE = 0.4
_NOTE = (
    "<p>Corrected by immunetwin (scripts/make_hancioglu_corrected.py) from BioModels "
    "BIOMD0000000711: the local parameter aE of reaction Degradation_of_Effector_cells__E "
    "was 0.1 and is now 0.4, the value of aE in Table 2 of Hancioglu B, Swigon D, Clermont G, "
    "J Theor Biol 246:70-86 (2007), doi:10.1016/j.jtbi.2006.12.015. With 0.1 the published "
    "high-virulence steady state x_v is not reproduced (the effector cells E would have to be "
    "negative there); with 0.4 it is. Nothing else was changed.</p>"
)


def correct(document: libsbml.SBMLDocument) -> None:
    """Apply the aE correction, rename the model and record why, in place."""
    model = document.getModel()
    reaction = model.getReaction(_REACTION)
    if reaction is None or reaction.getKineticLaw() is None:
        raise SystemExit(f"reaction {_REACTION} with a kinetic law not found: wrong source file?")
    local = reaction.getKineticLaw().getParameter("aE")
    if local is None or local.getValue() != 0.1:
        raise SystemExit("expected a local aE = 0.1 in the effector decay: wrong source file?")
    _check(local.setValue(_PAPER_AE))
    _check(model.setId(model.getId() + "_corrected"))
    _check(model.setName(model.getName() + " (aE corrected to 0.4)"))
    for i in range(model.getNumCVTerms()):
        term = model.getCVTerm(i)
        if (
            term.getQualifierType() == libsbml.MODEL_QUALIFIER
            and term.getModelQualifierType() == libsbml.BQM_IS
        ):
            _check(term.setModelQualifierType(libsbml.BQM_IS_DERIVED_FROM))
    _check(model.appendNotes(f'<body xmlns="http://www.w3.org/1999/xhtml">{_NOTE}</body>'))


def _check(code: int) -> None:
    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SystemExit(f"libsbml operation failed: {libsbml.OperationReturnValue_toString(code)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=_MODELS / "BIOMD0000000711.xml")
    parser.add_argument("--out", type=Path, default=_MODELS / "BIOMD0000000711_corrected.xml")
    args = parser.parse_args(argv)
    document = libsbml.readSBMLFromFile(str(args.source))
    if document.getNumErrors(libsbml.LIBSBML_SEV_ERROR) or document.getModel() is None:
        raise SystemExit(f"cannot read {args.source}: {document.getErrorLog().toString()}")
    correct(document)
    text = libsbml.writeSBMLToString(document)
    args.out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
