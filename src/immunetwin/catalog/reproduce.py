"""Recompute published numbers through the engine from the shipped model files.

The claims live in ``data/reproductions.toml`` (format: :mod:`immunetwin.catalog._claims`), so
the catalogue can carry more published results without new code. ``run_claim`` compiles the
claim's model once, runs the computation and returns a :class:`Reproduction` whose status says
whether the published value(s) came out; nothing here knows any result in advance.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from immunetwin.catalog._claims import Claim, Kind, Target, evaluate, parse_claims
from immunetwin.catalog.entry import Reproduction, ReproductionStatus
from immunetwin.engine import CVODES, CompiledModel, SteadyStatus, compile_model, simulate
from immunetwin.engine import steady_state as find_steady_state
from immunetwin.errors import ImmuneTwinError, InvalidInputError, UnknownIdentifierError
from immunetwin.formats import read_model

DATA = Path(__file__).resolve().parent / "data"
MODELS = DATA / "models"
TABLE = DATA / "reproductions.toml"

_SOLVER = CVODES(rtol=1e-10, atol=1e-12)  # published numbers deserve tight tolerances
_BISECTION_RTOL = 1e-7
_PEAK_POINTS = 4001


def model_path(entry: str, models: Path | None = None) -> Path:
    """The shipped model file of a catalogue entry: ``models/<entry>.xml`` or ``.ant``."""
    models = MODELS if models is None else models
    for suffix in (".xml", ".ant"):
        path = models / f"{entry}{suffix}"
        if path.is_file():
            return path
    raise UnknownIdentifierError(
        f"no model file for entry '{entry}': expected {models / entry}.xml or .ant"
    )


def load_claims(path: Path) -> tuple[Claim, ...]:
    """Parse a reproduction table (TOML) into claims."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid TOML: {exc}") from None
    return parse_claims(data)


@functools.cache
def claims() -> tuple[Claim, ...]:
    """Every shipped claim, in table order."""
    return load_claims(TABLE)


def claims_for(entry_id: str) -> tuple[Claim, ...]:
    """The shipped claims about one catalogue entry."""
    return tuple(claim for claim in claims() if claim.entry == entry_id)


def claim(claim_id: str) -> Claim:
    """One shipped claim by id."""
    for item in claims():
        if item.id == claim_id:
            return item
    raise UnknownIdentifierError(
        f"no reproduction claim '{claim_id}'; known: {', '.join(c.id for c in claims())}"
    )


def run_claim(claim: Claim, *, models: Path | None = None) -> Reproduction:
    """Recompute one claim; the status is REPRODUCED only if every expected value agrees.

    A claim whose inputs name ids the model lacks raises ``InvalidInputError``; numerical
    trouble (no steady state, a failed integration) is a FAILED reproduction saying why.
    ``models`` is the folder of model files (default: the ones shipped in the package).
    """
    compiled = compile_model(read_model(model_path(claim.entry, models)))
    _check_ids(claim, compiled)
    runner = _RUNNERS[claim.kind]
    try:
        ok, measured = runner(claim, compiled)
    except InvalidInputError as exc:
        raise InvalidInputError(f"claim '{claim.id}': {exc}") from None
    except ImmuneTwinError as exc:
        ok, measured = False, f"error: {exc}"
    return Reproduction(
        claim=claim.id,
        description=claim.description,
        expected=claim.expected,
        status=ReproductionStatus.REPRODUCED if ok else ReproductionStatus.FAILED,
        measured=measured,
        test=claim.test,
    )


def _check_ids(claim: Claim, compiled: CompiledModel) -> None:
    """Every id a claim names must exist in its model (a curation error otherwise)."""
    known = set(compiled.parameter_ids) | set(compiled.state_ids) | set(compiled.output_ids)
    named: list[tuple[str, str]] = [(f"symbols.{k}", v) for k, v in claim.symbols.items()]
    named += [("parameters", k) for k in claim.parameters]
    named += [("guess", k) for k in claim.guess]
    named += [("scenarios", k) for s in claim.scenarios for k in s]
    if claim.parameter:
        named.append(("parameter", claim.parameter))
    if claim.output:
        named.append(("output", claim.output))
    if claim.kind in (Kind.SIMULATE, Kind.STEADY_STATE):
        named += [("values", t.name) for t in claim.values]
    for field_name, id in named:
        if id not in known:
            raise InvalidInputError(
                f"claim '{claim.id}': field '{field_name}' names '{id}', which model "
                f"'{compiled.model.id}' of entry '{claim.entry}' does not define"
            )


def _names(compiled: CompiledModel, overrides: Mapping[str, float]) -> dict[str, float]:
    """Parameter values (with overrides) by id, for formulas."""
    p = compiled.parameter_vector(overrides)
    return {id: float(v) for id, v in zip(compiled.parameter_ids, p, strict=True)}


def _compare(
    targets: tuple[Target, ...], measured: Mapping[str, float], names: Mapping[str, float]
) -> tuple[bool, list[str]]:
    """Check each target; the parts name the measured value and any mismatch."""
    ok = True
    parts = []
    for target in targets:
        value = measured[target.name]
        agrees = target.agrees(value, names)
        ok = ok and agrees
        note = "" if agrees else f" (expected {target.text} ± {_tol(target, names):.2g})"
        parts.append(f"{target.name} = {value:.6g}{note}")
    return ok, parts


def _single(claim: Claim, value: float, label: str, names: Mapping[str, float]) -> tuple[bool, str]:
    """Compare the claim's one ``value`` target; the measured text starts with ``label``."""
    ok, parts = _compare(claim.values, {"value": value}, names)
    return ok, label + parts[0].removeprefix("value")


def _tol(target: Target, names: Mapping[str, float]) -> float:
    return target.tolerance(target.expected(names))


# --- the five kinds ---------------------------------------------------------------------------


def _simulate(claim: Claim, compiled: CompiledModel) -> tuple[bool, str]:
    assert claim.time is not None
    outputs = [t.name for t in claim.values if t.name not in compiled.species_ids]
    result = simulate(
        compiled,
        [0.0, claim.time],
        parameters=claim.parameters,
        variables=outputs,
        solver=_SOLVER,
    )
    if not result.ok:
        return False, f"simulation failed: {result.message}"
    final = {id: float(result[id][-1]) for id in result.ids}
    ok, parts = _compare(claim.values, final, _names(compiled, claim.parameters))
    return ok, f"at t = {claim.time:g}: " + ", ".join(parts)


def _steady(claim: Claim, compiled: CompiledModel) -> tuple[bool, str]:
    result = find_steady_state(compiled, parameters=claim.parameters, guess=claim.guess)
    if result.status is not SteadyStatus.FOUND:
        return False, f"no steady state: {result.message}"
    names = _names(compiled, claim.parameters)
    ok, parts = _compare(claim.values, result.state, names)
    leading = float(result.eigenvalues[0].real) if result.eigenvalues.size else -math.inf
    if claim.stable is not None:
        ok = ok and result.stable is claim.stable
        parts.append("stable" if result.stable else "unstable")
    if claim.leading_eigenvalue is not None:
        eigen_ok, eigen_parts = _compare(
            (claim.leading_eigenvalue,), {"leading_eigenvalue": leading}, names
        )
        ok = ok and eigen_ok
        parts += eigen_parts
    return ok, ", ".join(parts)


def _expression(claim: Claim, compiled: CompiledModel) -> tuple[bool, str]:
    names = _names(compiled, claim.parameters)
    value = evaluate(claim.formula, names)
    return _single(claim, value, claim.formula, names)


def _threshold(claim: Claim, compiled: CompiledModel) -> tuple[bool, str]:
    """Bisection on ``parameter`` for where the equilibrium near ``guess`` changes stability."""

    def stable(value: float) -> bool:
        result = find_steady_state(
            compiled, parameters={**claim.parameters, claim.parameter: value}, guess=claim.guess
        )
        if result.status is not SteadyStatus.FOUND:
            raise _NoEquilibrium(f"no steady state near the guess at {claim.parameter}={value:g}")
        return result.stable

    lo, hi = claim.bracket
    try:
        at_lo, at_hi = stable(lo), stable(hi)
        if at_lo == at_hi:
            word = "stable" if at_lo else "unstable"
            return False, f"equilibrium is {word} at both ends of {claim.parameter} in [{lo}, {hi}]"
        while hi - lo > _BISECTION_RTOL * max(abs(lo), abs(hi)):
            mid = 0.5 * (lo + hi)
            if stable(mid) == at_lo:
                lo = mid
            else:
                hi = mid
    except _NoEquilibrium as exc:
        return False, str(exc)
    crossing = 0.5 * (lo + hi)
    change = "lost" if at_lo else "gained"
    label = f"stability {change} at {claim.parameter}"
    return _single(claim, crossing, label, _names(compiled, claim.parameters))


class _NoEquilibrium(Exception):
    pass


def _peak_time(claim: Claim, compiled: CompiledModel) -> tuple[bool, str]:
    start, end = claim.span
    times = np.linspace(start, end, _PEAK_POINTS)
    variables = [] if claim.output in compiled.species_ids else [claim.output]
    ok = True
    parts = []
    for scenario in claim.scenarios:
        overrides = {**claim.parameters, **scenario}
        result = simulate(
            compiled, times, parameters=overrides, variables=variables, solver=_SOLVER
        )
        label = ", ".join(f"{k}={v:g}" for k, v in scenario.items()) or "default"
        if not result.ok:
            ok = False
            parts.append(f"{label}: simulation failed ({result.message})")
            continue
        peak = float(times[int(np.argmax(result[claim.output]))])
        inside = claim.window[0] <= peak <= claim.window[1]
        ok = ok and inside
        parts.append(f"{label}: peak at {peak:.3g}" + ("" if inside else " (outside window)"))
    return ok, f"{claim.output} peaks — " + "; ".join(parts)


_RUNNERS = {
    Kind.SIMULATE: _simulate,
    Kind.STEADY_STATE: _steady,
    Kind.EXPRESSION: _expression,
    Kind.THRESHOLD: _threshold,
    Kind.PEAK_TIME: _peak_time,
}

__all__ = [
    "Claim",
    "Kind",
    "Target",
    "claim",
    "claims",
    "claims_for",
    "load_claims",
    "model_path",
    "run_claim",
]
