"""Compile an IR model once into CasADi functions (SBML semantics live here).

Vectors:
    p  base values as written in the model: every compartment size, species initial value,
       parameter value and local parameter (``reaction.local``); what ``--set`` overrides.
    q  fixed quantities after initialisation (species as amounts), computed once per run.
    x  the state: species amounts (or math values for species under rate rules) and every
       compartment/parameter that a rate rule or an event changes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import casadi as ca
import numpy as np

from immunetwin.engine._symbolic import SymbolicTranslator, indicator
from immunetwin.errors import InvalidModelError, UnknownIdentifierError
from immunetwin.ir import (
    Apply,
    Compartment,
    Event,
    Expr,
    Model,
    Num,
    Op,
    Parameter,
    Species,
    Sym,
    Time,
)


class StateKind(enum.Enum):
    AMOUNT = "amount"  # a species amount; math sees amount / compartment size
    VALUE = "value"  # math sees the state as it is


@dataclass(frozen=True)
class CompiledEvent:
    id: str
    index: int
    initial_value: bool
    persistent: bool
    has_delay: bool
    use_values_from_trigger_time: bool
    time_expr: ca.Function | None  # p -> firing time, for triggers of the form time >= c


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """A model compiled to CasADi functions. Build with :func:`compile_model`."""

    model: Model
    parameter_ids: tuple[str, ...]
    p0: np.ndarray
    species_declared_amount: tuple[bool, ...]  # per p entry of a species
    state_ids: tuple[str, ...]
    state_kinds: tuple[StateKind, ...]
    fixed_ids: tuple[str, ...]
    output_ids: tuple[str, ...]
    species_ids: tuple[str, ...]
    init: ca.Function  # (t0, p) -> (x0, q)
    rhs: ca.Function  # (t, x, q) -> dx
    outputs: ca.Function  # (t, x, q) -> value of every output id
    species_outputs: ca.Function  # (t, x, q) -> the species only, in their math unit
    sizes: ca.Function  # (t, x, q) -> compartment size of every species (1 for 0-D/hOSU)
    events: tuple[CompiledEvent, ...]
    triggers: ca.Function | None  # (t, x, q) -> 0/1 per event
    indicators: ca.Function | None  # (t, x, q) -> continuous, positive where true
    assignment_values: tuple[ca.Function, ...]  # per event: (t, x, q) -> values
    apply_assignments: tuple[ca.Function, ...]  # per event: (t, x, q, values) -> x
    delays: ca.Function | None
    priorities: ca.Function | None
    event_info: ca.Function | None  # (t, x, q) -> (triggers, priorities, delays) in one call
    symbols: tuple[ca.SX, ca.SX, ca.SX]  # t, x, q
    ode: ca.SX
    # times at which the vector field jumps (``time < 1`` in a rule or rate): integration
    # stops and restarts there, so that no step straddles the jump
    discontinuities: tuple[float, ...] = ()

    def jumps_within(self, start: float, end: float) -> tuple[float, ...]:
        """The discontinuities strictly between ``start`` and ``end``."""
        return tuple(c for c in self.discontinuities if start < c < end)

    @property
    def n_states(self) -> int:
        return len(self.state_ids)

    def parameter_index(self, id: str) -> int:
        try:
            return self.parameter_ids.index(id)
        except ValueError:
            known = ", ".join(i for i in self.parameter_ids if "." not in i)
            raise UnknownIdentifierError(
                f"'{id}' is not a parameter, species or compartment of model "
                f"'{self.model.id}'; expected one of: {known}"
            ) from None

    def parameter_vector(self, overrides: Mapping[str, float] | None = None) -> np.ndarray:
        """The p vector with overrides applied (species values in their math unit)."""
        p = self.p0.copy()
        species = {s.id: s for s in self.model.species}
        for id, value in (overrides or {}).items():
            if not np.isfinite(value):
                from immunetwin.errors import InvalidInputError

                raise InvalidInputError(f"value for '{id}' must be a finite number, got {value}")
            index = self.parameter_index(id)
            p[index] = float(value)
            s = species.get(id)
            if s is not None and _species_size_id(self.model, s) is not None:
                # p holds the species as declared (amount or concentration); overrides come in
                # the unit math uses, so convert with the compartment's declared size.
                size = p[self.parameter_index(s.compartment)]
                if self.species_declared_amount[index] and not s.has_only_substance_units:
                    p[index] = float(value) * size
            elif s is not None and s.has_only_substance_units:
                if not self.species_declared_amount[index]:
                    size = p[self.parameter_index(s.compartment)]
                    p[index] = float(value) / size
        return p


def _species_size_id(model: Model, s: Species) -> str | None:
    """The compartment whose size converts this species' amount to its math value."""
    if s.has_only_substance_units:
        return None
    c = model.compartment(s.compartment)
    if c.spatial_dimensions == 0:
        return None
    return c.id


def _time_trigger(expr: Expr, fixed: frozenset[str]) -> Expr | None:
    """For ``time >= c`` / ``c <= time`` / ``time == c`` (c made of fixed ids), return c."""
    if not isinstance(expr, Apply) or len(expr.args) != 2:
        return None
    a, b = expr.args
    if expr.op in (Op.GE, Op.GT, Op.EQ) and isinstance(a, Time) and not isinstance(b, Time):
        other = b
    elif expr.op in (Op.LE, Op.LT, Op.EQ) and isinstance(b, Time) and not isinstance(a, Time):
        other = a
    else:
        return None
    if any(isinstance(n, Time) for n in other.walk()) or other.functions():
        return None
    return other if other.symbols() <= fixed else None


def _time_thresholds(expressions: Iterable[Expr]) -> tuple[float, ...]:
    """The constants c of every comparison of ``time`` with a number (``time < c``, ``c >= time``,
    ...) inside the expressions: where a piecewise switches at a fixed time."""
    found: set[float] = set()
    for expr in expressions:
        for node in expr.walk():
            if not isinstance(node, Apply) or len(node.args) != 2:
                continue
            if node.op not in (Op.LT, Op.LE, Op.GT, Op.GE):
                continue
            a, b = node.args
            if isinstance(a, Time) and isinstance(b, Num):
                found.add(float(b.value))
            elif isinstance(b, Time) and isinstance(a, Num):
                found.add(float(a.value))
    return tuple(sorted(v for v in found if np.isfinite(v)))


def _memoised(compute: Callable[[str], ca.SX], what: str) -> Callable[[str], ca.SX]:
    """``compute`` with a cache, raising ``InvalidModelError`` on a dependency cycle."""
    cache: dict[str, ca.SX] = {}
    resolving: list[str] = []

    def value(id: str) -> ca.SX:
        if id in cache:
            return cache[id]
        if id in resolving:
            cycle = " -> ".join([*resolving[resolving.index(id) :], id])
            raise InvalidModelError(f"{what} form a cycle: {cycle}")
        resolving.append(id)
        try:
            cache[id] = compute(id)
        finally:
            resolving.pop()
        return cache[id]

    return value


def compile_model(model: Model) -> CompiledModel:
    """Compile once; the result simulates many times with different p."""
    functions = {f.id: f for f in model.function_definitions}
    compartments = {c.id: c for c in model.compartments}
    species = {s.id: s for s in model.species}
    parameters = {p.id: p for p in model.parameters}
    reactions = {r.id: r for r in model.reactions}
    rules = {a.variable: a.math for a in model.assignment_rules}
    rate_rules = {r.variable: r.math for r in model.rate_rules}
    initial = {a.symbol: a.math for a in model.initial_assignments}
    event_targets = {a.variable for e in model.events for a in e.assignments}
    known = set(compartments) | set(species) | set(parameters) | set(reactions)

    for target in [*rules, *rate_rules, *initial, *event_targets]:
        if target not in known:
            raise UnknownIdentifierError(
                f"a rule, initial assignment or event assigns '{target}', which is not a "
                "compartment, species or parameter of the model"
            )
    for target in event_targets & set(rules):
        raise InvalidModelError(f"'{target}' has an assignment rule and is also set by an event")

    changed_by_reactions = {
        ref.species
        for r in model.reactions
        for ref in (*r.reactants, *r.products)
        if not species[ref.species].boundary_condition and not species[ref.species].constant
    }

    # ---- classify ------------------------------------------------------------------------
    state_ids: list[str] = []
    state_kinds: list[StateKind] = []
    for s in model.species:
        if s.id in rules:
            continue
        if s.id in rate_rules:
            # A rate rule sets d(concentration)/dt but the amount stays the stored quantity, so
            # that a change of compartment size changes the concentration (SBML semantics).
            state_ids.append(s.id)
            sized = _species_size_id(model, s) is not None
            state_kinds.append(StateKind.AMOUNT if sized else StateKind.VALUE)
        elif s.id in changed_by_reactions or s.id in event_targets:
            state_ids.append(s.id)
            state_kinds.append(StateKind.AMOUNT)
    others: list[Compartment | Parameter] = [*model.compartments, *model.parameters]
    for item in others:
        if item.id in rules:
            continue
        if item.id in rate_rules or item.id in event_targets:
            state_ids.append(item.id)
            state_kinds.append(StateKind.VALUE)
    state_index = {id: i for i, id in enumerate(state_ids)}

    parameter_ids: list[str] = []
    p0: list[float] = []
    declared_amount: list[bool] = []
    for c in model.compartments:
        parameter_ids.append(c.id)
        p0.append(1.0 if c.size is None else c.size)
        declared_amount.append(False)
    for s in model.species:
        parameter_ids.append(s.id)
        if s.initial_amount is not None:
            p0.append(s.initial_amount)
            declared_amount.append(True)
        else:
            p0.append(0.0 if s.initial_concentration is None else s.initial_concentration)
            declared_amount.append(False)
    for par in model.parameters:
        parameter_ids.append(par.id)
        p0.append(0.0 if par.value is None else par.value)
        declared_amount.append(False)
    for r in model.reactions:
        for lp in r.local_parameters:
            parameter_ids.append(f"{r.id}.{lp.id}")
            p0.append(0.0 if lp.value is None else lp.value)
            declared_amount.append(False)
    p_index = {id: i for i, id in enumerate(parameter_ids)}

    fixed_ids = [i for i in parameter_ids if i not in state_index and i not in rules]
    fixed_index = {id: i for i, id in enumerate(fixed_ids)}

    t = ca.SX.sym("t")
    x = ca.SX.sym("x", len(state_ids))
    q = ca.SX.sym("q", len(fixed_ids))
    p = ca.SX.sym("p", len(parameter_ids))

    # ---- runtime environment: value of an id as math sees it, from (t, x, q) -------------

    def size_of(s: Species, lookup: SymbolicTranslator) -> ca.SX:
        size_id = _species_size_id(model, s)
        return ca.SX(1.0) if size_id is None else lookup(Sym(size_id))

    def runtime_value(id: str) -> ca.SX:
        if id in rules:
            value = translate(rules[id])
        elif id in reactions:
            value = reaction_rate(id)
        elif id in state_index:
            value = x[state_index[id]]
            if id in species and state_kinds[state_index[id]] is StateKind.AMOUNT:
                value = value / size_of(species[id], translate)
        elif id in fixed_index:
            value = q[fixed_index[id]]
            if id in species:
                value = value / size_of(species[id], translate)
        else:
            raise UnknownIdentifierError(
                f"math refers to '{id}', which is not defined in model '{model.id}'"
            )
        return value

    runtime = _memoised(runtime_value, "assignment rules")
    translate = SymbolicTranslator(runtime, functions, t)

    def reaction_rate(id: str) -> ca.SX:
        r = reactions[id]
        if r.kinetic_law is None:
            return ca.SX(0.0)
        local = {lp.id: q[fixed_index[f"{r.id}.{lp.id}"]] for lp in r.local_parameters}
        return translate(r.kinetic_law, local)

    # ---- initial values at t0 from p -----------------------------------------------------
    t0 = ca.SX.sym("t0")

    def initial_value(id: str) -> ca.SX:
        """Value at t0 as math sees it."""
        if id in initial:
            value = init_translate(initial[id])
        elif id in rules:
            value = init_translate(rules[id])
        elif id in reactions:
            r = reactions[id]
            if r.kinetic_law is None:
                value = ca.SX(0.0)
            else:
                local = {lp.id: p[p_index[f"{r.id}.{lp.id}"]] for lp in r.local_parameters}
                value = init_translate(r.kinetic_law, local)
        elif id in species:
            s = species[id]
            declared = p[p_index[id]]
            size = size_of(s, init_translate)
            if s.initial_amount is not None:
                value = declared / size
            elif s.has_only_substance_units:
                c = compartments[s.compartment]
                volume = init_translate(Sym(c.id)) if c.spatial_dimensions != 0 else 1.0
                value = declared * volume
            else:
                value = declared
        elif id in p_index:
            value = p[p_index[id]]
        else:
            raise UnknownIdentifierError(
                f"math refers to '{id}', which is not defined in model '{model.id}'"
            )
        return value

    init_value = _memoised(initial_value, "initial assignments/rules")
    init_translate = SymbolicTranslator(init_value, functions, t0)

    def init_stored(id: str) -> ca.SX:
        """Initial value as stored in x or q (species as amounts unless VALUE states)."""
        value = init_value(id)
        if id in species and not (
            id in state_index and state_kinds[state_index[id]] is StateKind.VALUE
        ):
            value = value * size_of(species[id], init_translate)
        return value

    x0 = ca.vertcat(*[init_stored(i) for i in state_ids]) if state_ids else ca.SX(0, 1)
    q0 = ca.vertcat(*[init_stored(i) for i in fixed_ids]) if fixed_ids else ca.SX(0, 1)
    init = ca.Function("init", [t0, p], [x0, q0], ["t0", "p"], ["x0", "q"])

    # ---- right-hand side -----------------------------------------------------------------
    net_stoichiometry: dict[str, dict[str, float]] = {}  # species -> reaction -> net change
    for r in model.reactions:
        for ref in r.products:
            changes = net_stoichiometry.setdefault(ref.species, {})
            changes[r.id] = changes.get(r.id, 0.0) + ref.stoichiometry
        for ref in r.reactants:
            changes = net_stoichiometry.setdefault(ref.species, {})
            changes[r.id] = changes.get(r.id, 0.0) - ref.stoichiometry
    derivatives: list[ca.SX] = []
    for id, kind in zip(state_ids, state_kinds, strict=True):
        if id in rate_rules and kind is StateKind.AMOUNT:
            derivatives.append(ca.SX(0.0))  # filled in below, once dV/dt is known
        elif id in rate_rules:
            derivatives.append(translate(rate_rules[id]))
        elif kind is StateKind.AMOUNT:
            total = ca.SX(0.0)
            s = species[id]
            if not s.boundary_condition and not s.constant:
                for reaction_id, net in net_stoichiometry.get(id, {}).items():
                    if net != 0:
                        total = total + net * runtime(reaction_id)
            derivatives.append(total)
        else:
            derivatives.append(ca.SX(0.0))
    partial = ca.vertcat(*derivatives) if derivatives else ca.SX(0, 1)
    for i, (id, kind) in enumerate(zip(state_ids, state_kinds, strict=True)):
        if id in rate_rules and kind is StateKind.AMOUNT:
            # d(amount)/dt = V d[S]/dt + [S] dV/dt
            size_id = _species_size_id(model, species[id])
            assert size_id is not None
            volume = runtime(size_id)
            if size_id in rate_rules:
                d_volume = translate(rate_rules[size_id])
            else:
                d_volume = ca.jacobian(volume, x) @ partial + ca.jacobian(volume, t)
            derivatives[i] = volume * translate(rate_rules[id]) + runtime(id) * d_volume
    ode = ca.vertcat(*derivatives) if derivatives else ca.SX(0, 1)
    rhs = ca.Function("rhs", [t, x, q], [ode], ["t", "x", "q"], ["ode"])

    # ---- outputs -------------------------------------------------------------------------
    output_ids = (
        [s.id for s in model.species]
        + [c.id for c in model.compartments]
        + [par.id for par in model.parameters]
        + [r.id for r in model.reactions]
    )
    out_expr = ca.vertcat(*[runtime(i) for i in output_ids]) if output_ids else ca.SX(0, 1)
    outputs = ca.Function("outputs", [t, x, q], [out_expr], ["t", "x", "q"], ["y"])
    species_expr = [runtime(s.id) for s in model.species]
    species_outputs = ca.Function(
        "species_outputs", [t, x, q], [ca.vertcat(*species_expr) if species_expr else ca.SX(0, 1)]
    )
    size_expr = [size_of(s, translate) for s in model.species]
    sizes = ca.Function("sizes", [t, x, q], [ca.vertcat(*size_expr) if size_expr else ca.SX(0, 1)])

    # ---- events --------------------------------------------------------------------------
    compiled_events: list[CompiledEvent] = []
    assignment_values: list[ca.Function] = []
    apply_assignments: list[ca.Function] = []
    fixed_set = frozenset(i for i in fixed_ids if i not in species)
    for index, e in enumerate(model.events):
        values = [translate(a.math) for a in e.assignments]
        v = ca.SX.sym("v", len(values))
        assignment_values.append(
            ca.Function(
                f"values_{index}", [t, x, q], [ca.vertcat(*values) if values else ca.SX(0, 1)]
            )
        )
        # All assignments use the state before the event: a species concentration converts
        # to an amount with the compartment size from before the event (SBML semantics).
        post = [x[i] for i in range(len(state_ids))]
        for k, assignment in enumerate(e.assignments):
            i = state_index[assignment.variable]
            value = v[k]
            if assignment.variable in species and state_kinds[i] is StateKind.AMOUNT:
                value = value * size_of(species[assignment.variable], translate)
            post[i] = value
        apply_assignments.append(
            ca.Function(
                f"apply_{index}",
                [t, x, q, v],
                [ca.vertcat(*post) if post else ca.SX(0, 1)],
            )
        )
        time_expr = _time_trigger(e.trigger, fixed_set)
        time_fn = None
        if time_expr is not None:
            time_fn = ca.Function(f"time_{index}", [q], [translate(time_expr)])
        compiled_events.append(
            CompiledEvent(
                id=e.id,
                index=index,
                initial_value=e.initial_value,
                persistent=e.persistent,
                has_delay=e.delay is not None,
                use_values_from_trigger_time=e.use_values_from_trigger_time,
                time_expr=time_fn,
            )
        )
    triggers = indicators = delays = priorities = event_info = None

    def trigger_value(e: Event) -> ca.SX:
        """The trigger; ``time == c`` is true on a window around c that covers the instant
        just after the breakpoint c at which events are evaluated, and false after it."""
        c = _time_trigger(e.trigger, fixed_set)
        if c is None or not isinstance(e.trigger, Apply) or e.trigger.op is not Op.EQ:
            return translate(e.trigger)
        at = translate(c)
        return ca.fabs(t - at) <= 1e-12 * ca.fmax(1.0, ca.fabs(at))

    if model.events:
        triggers = ca.Function(
            "triggers", [t, x, q], [ca.vertcat(*[trigger_value(e) for e in model.events])]
        )
        indicators = ca.Function(
            "indicators",
            [t, x, q],
            [ca.vertcat(*[indicator(translate, e.trigger) for e in model.events])],
        )
        delays = ca.Function(
            "delays",
            [t, x, q],
            [
                ca.vertcat(
                    *[translate(e.delay) if e.delay is not None else ca.SX(0) for e in model.events]
                )
            ],
        )
        priorities = ca.Function(
            "priorities",
            [t, x, q],
            [
                ca.vertcat(
                    *[
                        translate(e.priority) if e.priority is not None else ca.SX(-np.inf)
                        for e in model.events
                    ]
                )
            ],
        )

    if model.events:
        assert triggers is not None and priorities is not None and delays is not None
        event_info = ca.Function(
            "event_info",
            [t, x, q],
            [triggers(t, x, q), priorities(t, x, q), delays(t, x, q)],
        )
    return CompiledModel(
        model=model,
        parameter_ids=tuple(parameter_ids),
        p0=np.asarray(p0, dtype=float),
        species_declared_amount=tuple(declared_amount),
        state_ids=tuple(state_ids),
        state_kinds=tuple(state_kinds),
        fixed_ids=tuple(fixed_ids),
        output_ids=tuple(output_ids),
        species_ids=tuple(s.id for s in model.species),
        init=init,
        rhs=rhs,
        outputs=outputs,
        species_outputs=species_outputs,
        sizes=sizes,
        events=tuple(compiled_events),
        triggers=triggers,
        indicators=indicators,
        assignment_values=tuple(assignment_values),
        apply_assignments=tuple(apply_assignments),
        delays=delays,
        priorities=priorities,
        event_info=event_info,
        symbols=(t, x, q),
        ode=ode,
        discontinuities=_time_thresholds(
            [
                *rules.values(),
                *rate_rules.values(),
                *(r.kinetic_law for r in model.reactions if r.kinetic_law is not None),
                *(f.body for f in model.function_definitions),
            ]
        ),
    )
