"""Simulatability reports: which SBML constructs a model uses, and whether our engine runs it.

``check_model`` reads, compiles and simulates a model to its natural horizon
(``immunetwin.check.agreement.horizon_of``) and, where libroadrunner is installed, compares the
run with it. Every outcome is a ``Simulatability`` record, never an exception: a report on a
model that does not read, or does not simulate, is the point. The shipped reports for the
catalogue's models are ``data/simulatability.json`` (``scripts/build_simulatability.py``).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from immunetwin.catalog.entry import Agreement, Simulatability
from immunetwin.errors import ImmuneTwinError, UnsupportedFeatureError
from immunetwin.ir import Apply, Avogadro, Expr, Model, Op

if TYPE_CHECKING:
    from immunetwin.check.agreement import AgreementResult

__all__ = [
    "FEATURES",
    "SHIPPED_REPORTS",
    "check_model",
    "features_used",
    "read_reports",
    "report_from_dict",
    "report_to_dict",
]

SHIPPED_REPORTS = Path(__file__).resolve().parent / "data" / "simulatability.json"

# Stable feature names, in the order reports list them.
FEATURES = (
    "events",
    "time-events",
    "state-events",
    "delayed-events",
    "event-priorities",
    "non-persistent-triggers",
    "rate-rules",
    "assignment-rules",
    "initial-assignments",
    "function-definitions",
    "local-parameters",
    "piecewise",
    "algebraic-rules",
    "delay",
    "fast-reactions",
    "hasOnlySubstanceUnits",
    "boundary-species",
    "constant-species",
    "multiple-compartments",
    "variable-compartments",
    "non-unit-stoichiometry",
    "csymbol-avogadro",
)

# UnsupportedFeatureError.feature (as the readers name it) -> stable feature name.
_UNSUPPORTED_NAMES = {
    "algebraicRule": "algebraic-rules",
    "delay() function": "delay",
    "fast reaction": "fast-reactions",
}

_SOLVER_NOTE = "our engine: CVODES rtol 1e-10, atol 1e-12"


def features_used(model: Model) -> tuple[str, ...]:
    """The stable names (``FEATURES`` order) of the SBML constructs ``model`` uses.

    Algebraic rules, ``delay()`` and fast reactions never reach the IR (the reader refuses
    them); ``check_model`` reports those from the reader's ``UnsupportedFeatureError``.
    """
    found: set[str] = set()
    variables = _variables(model)
    if model.events:
        found.add("events")
    for event in model.events:
        timed = not (event.trigger.symbols() & variables)  # time and constants only
        found.add("time-events" if timed else "state-events")
        if event.delay is not None:
            found.add("delayed-events")
        if event.priority is not None:
            found.add("event-priorities")
        if not event.persistent:
            found.add("non-persistent-triggers")
    flags = {
        "rate-rules": bool(model.rate_rules),
        "assignment-rules": bool(model.assignment_rules),
        "initial-assignments": bool(model.initial_assignments),
        "function-definitions": bool(model.function_definitions),
        "local-parameters": any(r.local_parameters for r in model.reactions),
        "hasOnlySubstanceUnits": any(s.has_only_substance_units for s in model.species),
        "boundary-species": any(s.boundary_condition for s in model.species),
        "constant-species": any(s.constant for s in model.species),
        "multiple-compartments": len(model.compartments) > 1,
        "variable-compartments": any(c.id in variables for c in model.compartments),
        "non-unit-stoichiometry": any(
            ref.stoichiometry != 1.0 for r in model.reactions for ref in (*r.reactants, *r.products)
        ),
    }
    found |= {name for name, used in flags.items() if used}
    for expr in _expressions(model):
        for node in expr.walk():
            if isinstance(node, Apply) and node.op is Op.PIECEWISE:
                found.add("piecewise")
            elif isinstance(node, Avogadro):
                found.add("csymbol-avogadro")
    return tuple(name for name in FEATURES if name in found)


def check_model(
    source: str | os.PathLike[str] | Model,
    *,
    horizon: float | None = None,
    with_reference: bool = True,
    model_id: str | None = None,
) -> Simulatability:
    """Read, compile and simulate ``source`` to its natural horizon; compare with libroadrunner.

    ``source`` is an SBML or Antimony file, SBML text, or a ``Model``. ``horizon`` overrides
    the natural horizon; ``model_id`` (default: the file stem or declared BioModels id) picks
    it. A model that cannot be read or simulated gives ``simulates=False`` with the reason;
    only programming errors raise.
    """
    from immunetwin.check.agreement import (
        against_reference,
        horizon_of,
        prepare,
        roadrunner_version,
        simulate_ours,
    )

    versions = _versions(None)  # libroadrunner's joins it only where a comparison runs
    features: tuple[str, ...] = ()
    end = horizon
    if end is None and model_id is not None:
        end = horizon_of(model_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            case = prepare(source, horizon=horizon, model_id=model_id)
            features, end = features_used(case.model), case.horizon
            result = simulate_ours(case)
        except UnsupportedFeatureError as exc:
            name = _UNSUPPORTED_NAMES.get(exc.feature, exc.feature)
            known = (name,) if name in FEATURES else ()
            return Simulatability(
                simulates=False,
                reason=str(exc),
                features=tuple(sorted({*features, *known}, key=_feature_order)),
                unsupported=(name,),
                horizon=end,
                checked_with=versions,
            )
        except (ImmuneTwinError, OSError, UnicodeDecodeError) as exc:
            return Simulatability(
                simulates=False,
                reason=f"{type(exc).__name__}: {exc}",
                features=features,
                horizon=end,
                checked_with=versions,
            )
    notes = sorted({str(w.message).splitlines()[0] for w in caught})
    if not result.ok:
        return Simulatability(
            simulates=False,
            reason=f"{result.status.value}: {result.message}",
            features=features,
            horizon=end,
            checked_with=versions,
        )
    report = Simulatability(simulates=True, features=features, horizon=end, checked_with=versions)
    if not with_reference:
        return _replace(report, detail="comparison with libroadrunner not requested")
    if roadrunner_version() is None:
        from immunetwin.check.agreement import MISSING_ROADRUNNER

        return _replace(report, detail=MISSING_ROADRUNNER)
    compared = against_reference(case, result, notes=notes)
    versions = _versions(roadrunner_version())
    detail = compared.detail
    if compared.tolerance_limited:
        from immunetwin.check.agreement import KNOWN

        diagnosis = KNOWN.get(compared.model_id)
        detail = f"{diagnosis}; {detail}" if diagnosis else detail
    error = None if math.isnan(compared.max_rel_error) else compared.max_rel_error
    return _replace(
        report,
        agreement=verdict(compared),
        max_rel_error=error,
        detail=detail,
        checked_with=versions,
    )


def report_to_dict(report: Simulatability) -> dict[str, Any]:
    """JSON-compatible dict (enum values, lists; the error to 3 significant digits)."""
    error = report.max_rel_error
    return {
        "simulates": report.simulates,
        "reason": report.reason,
        "features": list(report.features),
        "unsupported": list(report.unsupported),
        "horizon": report.horizon,
        "agreement": report.agreement.value,
        "max_rel_error": None if error is None else float(f"{error:.3g}"),
        "detail": report.detail,
        "checked_with": report.checked_with,
    }


def report_from_dict(data: Mapping[str, Any]) -> Simulatability:
    """Inverse of ``report_to_dict``."""
    return Simulatability(
        simulates=bool(data["simulates"]),
        reason=data.get("reason", ""),
        features=tuple(data.get("features", ())),
        unsupported=tuple(data.get("unsupported", ())),
        horizon=data.get("horizon"),
        agreement=Agreement(data.get("agreement", Agreement.NOT_CHECKED.value)),
        max_rel_error=data.get("max_rel_error"),
        detail=data.get("detail", ""),
        checked_with=data.get("checked_with", ""),
    )


def read_reports(path: str | os.PathLike[str] = SHIPPED_REPORTS) -> dict[str, Simulatability]:
    """Entry id -> report, from a file written by ``scripts/build_simulatability.py``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {key: report_from_dict(value) for key, value in data.items()}


def _versions(roadrunner: str | None) -> str:
    from immunetwin import __version__

    text = f"immunetwin {__version__}"
    return f"{text}; libroadrunner {roadrunner}" if roadrunner else text


def _replace(report: Simulatability, **changes: Any) -> Simulatability:
    import dataclasses

    return dataclasses.replace(report, **changes)


def _feature_order(name: str) -> int:
    return FEATURES.index(name) if name in FEATURES else len(FEATURES)


def _variables(model: Model) -> frozenset[str]:
    """Ids whose value can change during a run (non-constant, or targets of rules/events)."""
    ids = {s.id for s in model.species if not s.constant}
    ids |= {p.id for p in model.parameters if not p.constant}
    ids |= {c.id for c in model.compartments if not c.constant}
    ids |= {r.variable for r in model.rate_rules} | {r.variable for r in model.assignment_rules}
    ids |= {a.variable for e in model.events for a in e.assignments}
    return frozenset(ids)


def _expressions(model: Model) -> list[Expr]:
    """Every math expression in the model."""
    exprs: list[Expr] = [f.body for f in model.function_definitions]
    exprs += [r.kinetic_law for r in model.reactions if r.kinetic_law is not None]
    exprs += [r.math for r in model.assignment_rules] + [r.math for r in model.rate_rules]
    exprs += [a.math for a in model.initial_assignments]
    for event in model.events:
        exprs.append(event.trigger)
        exprs += [e for e in (event.delay, event.priority) if e is not None]
        exprs += [a.math for a in event.assignments]
    return exprs


def verdict(compared: AgreementResult) -> Agreement:
    """The catalogue's agreement verdict for one comparison (NOT_CHECKED where none ran)."""
    if compared.status == "agree":
        return Agreement.AGREE
    if compared.status == "disagree":
        return Agreement.TOLERANCE_LIMITED if compared.tolerance_limited else Agreement.DISAGREE
    if compared.status == "roadrunner_failed":
        return Agreement.REFERENCE_FAILED
    return Agreement.NOT_CHECKED
