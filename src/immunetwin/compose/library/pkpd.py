"""Drug pharmacokinetics (PK) and pharmacodynamics (PD) as library modules.

Compartmental PK with linear (first-order) elimination and an Emax effect model, as in
Gabrielsson J, Weiner D. Pharmacokinetic and Pharmacodynamic Data Analysis: Concepts and
Applications, 5th ed. Swedish Pharmaceutical Press (2016): one-compartment IV and oral
(first-order absorption, bioavailability F; the Bateman function), two-compartment
(CL, V1, Q, V2) and the (sigmoid) Emax / Imax models.

Units: time in hours, amounts in mg, volumes in L, concentrations in mg/L. The time unit is
stated here, not in the models, because assembly requires every module to declare the same
time unit and the other library modules (e.g. Reynolds 2006, also in hours) declare none.

Amounts are ``substanceOnly`` species (their value in math is the amount, whatever the
compartment), so doses add milligrams and ``C := A/V`` is the plasma concentration. Every PK
module has a zero-order input ``R_in`` (mg/hour, 0 by default) into the central amount: an
infusion regimen switches it on and off (:func:`immunetwin.compose.dosing.doses_as_events`).
The port named ``dose`` is where bolus or oral doses go (the central amount for IV, the gut
depot for oral); port ``C`` is the concentration a PD module reads.

A PD module turns a concentration into a dimensionless factor ``E`` (1 without drug); the
module whose process the drug acts on declares an INPUT port for ``E`` (a placeholder
parameter equal to 1) and multiplies that process's rate by it. Wire ``pk.C -> pd.C`` and
``pd.E -> consumer.E`` explicitly: the ports carry no ontology term, so two drugs in one
composition never match each other automatically.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal

from immunetwin.compose.module import Module, Port, Role, module
from immunetwin.errors import InvalidInputError
from immunetwin.formats import read_antimony

CITATION = (
    "Gabrielsson J, Weiner D (2016) Pharmacokinetic and Pharmacodynamic Data Analysis: "
    "Concepts and Applications, 5th ed., Swedish Pharmaceutical Press"
)
AMOUNT = "mg"
CONCENTRATION = "mg/L"
_ROUTES = ("iv", "oral")
_MODES = ("inhibition", "stimulation")


def one_compartment(drug: str = "drug", route: Literal["iv", "oral"] = "iv") -> Module:
    """One central compartment, first-order elimination ``CL/V * A`` (time in hours).

    ``route="oral"`` adds a gut depot ``A_gut`` drained at ``ka``; the fraction ``F`` of it
    reaches the central amount and the rest is lost before the systemic circulation, so a
    dose is the amount swallowed and F is a parameter, not a property of the regimen.
    """
    _check(drug, route)
    oral = route == "oral"
    text = f"""
model pk_one_compartment_{route}
  compartment body = 1;
  substanceOnly species A in body = 0;
  {_depot(oral)}
  var R_in = 0;
  infusion: => A; R_in
  elimination: A => ; CL/V*A
  C := A/V;
  CL = 5; V = 50;
end
"""
    ports = [
        Port("C", "C", Role.STATE, CONCENTRATION, description="plasma concentration A/V"),
        *_amount_ports(oral, "A", "central amount"),
        Port("CL", "CL", Role.PARAMETER, "L/hour", description="clearance"),
        Port("V", "V", Role.PARAMETER, "L", description="volume of distribution"),
        *_oral_ports(oral),
    ]
    return module(
        drug,
        read_antimony(text),
        ports,
        citation=CITATION,
        description=f"One-compartment PK ({route}), linear elimination; time in hours.",
    )


def two_compartment(drug: str = "drug", route: Literal["iv", "oral"] = "iv") -> Module:
    """Central ``A1`` and peripheral ``A2`` amounts exchanging at inter-compartmental
    clearance ``Q``; elimination ``CL/V1 * A1`` from the central one (time in hours).

    Oral dosing works as in :func:`one_compartment` (a gut depot absorbed into ``A1``).
    """
    _check(drug, route)
    oral = route == "oral"
    text = f"""
model pk_two_compartment_{route}
  compartment body = 1;
  substanceOnly species A1 in body = 0;
  substanceOnly species A2 in body = 0;
  {_depot(oral, central="A1")}
  var R_in = 0;
  infusion: => A1; R_in
  elimination: A1 => ; CL/V1*A1
  to_peripheral: A1 => A2; Q/V1*A1
  to_central: A2 => A1; Q/V2*A2
  C := A1/V1;
  CL = 5; V1 = 20; Q = 10; V2 = 80;
end
"""
    ports = [
        Port("C", "C", Role.STATE, CONCENTRATION, description="central concentration A1/V1"),
        *_amount_ports(oral, "A1", "central amount"),
        Port("A2", "A2", Role.STATE, AMOUNT, description="peripheral amount"),
        Port("CL", "CL", Role.PARAMETER, "L/hour", description="clearance"),
        Port("V1", "V1", Role.PARAMETER, "L", description="central volume"),
        Port("Q", "Q", Role.PARAMETER, "L/hour", description="inter-compartmental clearance"),
        Port("V2", "V2", Role.PARAMETER, "L", description="peripheral volume"),
        *_oral_ports(oral),
    ]
    return module(
        drug,
        read_antimony(text),
        ports,
        citation=CITATION,
        description=f"Two-compartment PK ({route}), linear elimination; time in hours.",
    )


def emax_effect(
    name: str = "effect",
    mode: Literal["inhibition", "stimulation"] = "inhibition",
    hill: bool = True,
) -> Module:
    """An Emax model: the factor ``E`` by which a consuming module multiplies the rate of the
    process the drug acts on (time-free, so usable with modules in any time unit).

    inhibition: ``E = 1 - Imax*C^n/(IC50^n + C^n)``; stimulation:
    ``E = 1 + Emax*C^n/(EC50^n + C^n)``. Without ``hill`` the exponent is 1 and is not a
    parameter (the hyperbolic model). ``C`` is an INPUT (mg/L) to wire from a PK module.
    """
    if mode not in _MODES:
        raise InvalidInputError(
            f"emax_effect mode must be one of {', '.join(_MODES)}; got {mode!r}"
        )
    _check_name(name)
    top, half, sign = ("Imax", "IC50", "-") if mode == "inhibition" else ("Emax", "EC50", "+")
    power = "^n" if hill else ""
    text = f"""
model pd_emax_{mode}
  C = 0;
  E := 1 {sign} {top}*C{power}/({half}{power} + C{power});
  {top} = 1; {half} = 1;{" n = 1;" if hill else ""}
end
"""
    ports = [
        Port("C", "C", Role.INPUT, CONCENTRATION, description="drug concentration"),
        Port("E", "E", Role.STATE, "dimensionless", description="effect factor, 1 without drug"),
        Port(top, top, Role.PARAMETER, "dimensionless", description=f"maximal {mode}"),
        Port(half, half, Role.PARAMETER, CONCENTRATION, description=f"C at half-maximal {mode}"),
    ]
    if hill:
        ports.append(Port("n", "n", Role.PARAMETER, "dimensionless", description="Hill exponent"))
    return module(
        name,
        read_antimony(text),
        ports,
        citation=CITATION,
        description=f"Emax {mode} of a process by a drug concentration (sigmoid: {hill}).",
    )


MODULES: dict[str, Callable[[], Module]] = {
    "pk.one_compartment_iv": functools.partial(one_compartment, route="iv"),
    "pk.one_compartment_oral": functools.partial(one_compartment, route="oral"),
    "pk.two_compartment_iv": functools.partial(two_compartment, route="iv"),
    "pk.two_compartment_oral": functools.partial(two_compartment, route="oral"),
    "pd.emax_inhibition": functools.partial(emax_effect, mode="inhibition"),
    "pd.emax_stimulation": functools.partial(emax_effect, mode="stimulation"),
}


def _check(drug: str, route: str) -> None:
    if route not in _ROUTES:
        raise InvalidInputError(
            f"PK route must be one of {', '.join(_ROUTES)}; got {route!r} (an infusion is an "
            "IV module dosed with an infusion regimen)"
        )
    _check_name(drug)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidInputError(
            f"module name {name!r} must be an identifier (it prefixes the module's ids); "
            "use e.g. 'vancomycin' or 'drug_a'"
        )


def _depot(oral: bool, central: str = "A") -> str:
    """The gut depot: drained at ka, fraction F absorbed, 1 - F lost pre-systemically."""
    if not oral:
        return ""
    return (
        "substanceOnly species A_gut in body = 0;\n"
        f"  absorption: A_gut => {central}; F*ka*A_gut\n"
        "  presystemic_loss: A_gut => ; (1 - F)*ka*A_gut\n"
        "  ka = 1; F = 1;"
    )


def _amount_ports(oral: bool, central: str, what: str) -> list[Port]:
    """The dosing port (named ``dose``) and the central amount."""
    if oral:
        return [
            Port("dose", "A_gut", Role.STATE, AMOUNT, description="gut depot (oral doses)"),
            Port(central, central, Role.STATE, AMOUNT, description=what),
            Port("R_in", "R_in", Role.PARAMETER, "mg/hour", description="infusion rate"),
        ]
    return [
        Port("dose", central, Role.STATE, AMOUNT, description=f"{what} (IV doses)"),
        Port("R_in", "R_in", Role.PARAMETER, "mg/hour", description="infusion rate"),
    ]


def _oral_ports(oral: bool) -> list[Port]:
    if not oral:
        return []
    return [
        Port("ka", "ka", Role.PARAMETER, "1/hour", description="first-order absorption rate"),
        Port("F", "F", Role.PARAMETER, "dimensionless", description="bioavailability"),
    ]
