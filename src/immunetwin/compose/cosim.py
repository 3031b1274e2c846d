"""Co-simulation: step several simulators side by side and exchange values between them.

Each simulator implements :class:`AbstractSimulator`: it has named input and output ports,
carries its own state, and ``advance(t0, t1, inputs)`` moves it from ``t0`` to ``t1`` with its
inputs held constant over the interval, returning its outputs at ``t1``. :func:`cosimulate`
runs a fixed-step Jacobi scheme: every ``interval`` all simulators advance in parallel with
the inputs computed from the others' outputs at the start of the interval (a zero-order hold),
so results converge to the tightly coupled solution as ``interval`` shrinks.

Two simulators come with it: :class:`OdeSimulator` (an IR model run by our engine) and
:class:`MaBossSimulator` (a Boolean network run by MaBoSS, the Markovian Boolean stochastic
simulator of Stoll et al., through its compiled engine ``cmaboss``). An agent-based model
can plug in by implementing the same interface.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from immunetwin.compose.boolean import BooleanModule, _parse_text
from immunetwin.errors import InvalidInputError, SimulationError, UnknownIdentifierError
from immunetwin.ir import Model

__all__ = [
    "AbstractSimulator",
    "CosimResult",
    "Coupling",
    "MaBossSimulator",
    "NodeInput",
    "OdeSimulator",
    "cosimulate",
    "macrophage_network",
]


class AbstractSimulator(abc.ABC):
    """A simulator with named ports, stepped by :func:`cosimulate`."""

    name: str

    @property
    @abc.abstractmethod
    def inputs(self) -> tuple[str, ...]:
        """Input port names."""

    @property
    @abc.abstractmethod
    def outputs(self) -> tuple[str, ...]:
        """Output port names."""

    @abc.abstractmethod
    def reset(self, t0: float, seed: int | None = None) -> dict[str, float]:
        """Return to the initial state at time ``t0``; return the outputs there."""

    @abc.abstractmethod
    def advance(self, t0: float, t1: float, inputs: Mapping[str, float]) -> dict[str, float]:
        """Advance from ``t0`` to ``t1`` with ``inputs`` held constant; return outputs at ``t1``.

        ``inputs`` may name a subset of the input ports; the others keep their defaults.
        """

    def _check_inputs(self, inputs: Mapping[str, float]) -> None:
        unknown = sorted(set(inputs) - set(self.inputs))
        if unknown:
            raise UnknownIdentifierError(
                f"simulator '{self.name}' has no input port(s) {', '.join(unknown)}; "
                f"its inputs are: {', '.join(self.inputs)}"
            )
        for port, value in inputs.items():
            if not np.isfinite(value):
                raise InvalidInputError(
                    f"input '{self.name}.{port}' must be a finite number, got {value}"
                )


def _ports(spec: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    if isinstance(spec, Mapping):
        return dict(spec)
    return {id: id for id in spec}


class OdeSimulator(AbstractSimulator):
    """An IR model run by the engine, one interval at a time.

    ``inputs`` map port names to parameter ids (a sequence means port name = id); an input
    value overrides that parameter over the interval. ``outputs`` map port names to ids the
    engine can report (species, parameters, rule variables, reactions), read at the end of each
    interval. The state (every species and rate-rule variable) is carried from one interval to
    the next by overriding the initial values with the last state.
    """

    def __init__(
        self,
        name: str,
        model: Model,
        *,
        inputs: Mapping[str, str] | Sequence[str] = (),
        outputs: Mapping[str, str] | Sequence[str] = (),
        solver: object | None = None,
    ) -> None:
        from immunetwin.engine import CVODES, AbstractSolver, compile_model

        self.name = name
        self._compiled = compile_model(model)
        self._inputs = _ports(inputs)
        self._outputs = _ports(outputs)
        if solver is not None and not isinstance(solver, AbstractSolver):
            raise InvalidInputError(f"solver must be an engine solver, got {type(solver)}")
        self._solver = solver if solver is not None else CVODES()
        compiled = self._compiled
        for id in self._inputs.values():
            compiled.parameter_index(id)  # raises UnknownIdentifierError with the known ids
        for port, id in self._outputs.items():
            if id not in compiled.output_ids:
                raise UnknownIdentifierError(
                    f"output port '{name}.{port}': '{id}' is not an output of model '{model.id}'"
                )
        # carried state: species (reported in their math unit, which overrides expect) and
        # rate-rule variables that can be overridden as parameters
        self._state_ids = tuple(
            [*compiled.species_ids]
            + [
                i
                for i in compiled.state_ids
                if i not in compiled.species_ids and i in compiled.parameter_ids
            ]
        )
        self._state: dict[str, float] = {}

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self._inputs)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self._outputs)

    @property
    def state(self) -> dict[str, float]:
        """The carried state (empty before the first interval: the model's initial values)."""
        return dict(self._state)

    def reset(self, t0: float, seed: int | None = None) -> dict[str, float]:
        self._state = {}
        return self._run([t0], {})

    def advance(self, t0: float, t1: float, inputs: Mapping[str, float]) -> dict[str, float]:
        self._check_inputs(inputs)
        if not t1 > t0:
            raise InvalidInputError(f"t1 ({t1}) must be after t0 ({t0})")
        return self._run([t0, t1], inputs)

    def _run(self, times: Sequence[float], inputs: Mapping[str, float]) -> dict[str, float]:
        from immunetwin.engine import simulate

        overrides = {**self._state, **{self._inputs[p]: float(v) for p, v in inputs.items()}}
        wanted = [*self._state_ids, *self._outputs.values()]
        variables = [i for i in dict.fromkeys(wanted) if i not in self._compiled.species_ids]
        result = simulate(
            self._compiled, times, parameters=overrides, variables=variables, solver=self._solver
        )
        if not result.ok:
            raise SimulationError(
                f"simulator '{self.name}' failed over [{times[0]}, {times[-1]}]: {result.message}"
            )
        self._state = {i: float(result[i][-1]) for i in self._state_ids}
        return {port: float(result[id][-1]) for port, id in self._outputs.items()}


@dataclass(frozen=True, slots=True)
class NodeInput:
    """How a continuous input level sets an input node of a Boolean network.

    Over each interval the node starts ON with probability ``min(1, level / threshold)`` (0 for
    a level at or below 0). Make the node constant in the network (``rate_up = rate_down = 0``)
    so that it holds over the interval.
    """

    node: str
    threshold: float = 1.0

    def probability(self, level: float) -> float:
        if not self.threshold > 0:
            raise InvalidInputError(f"threshold of node '{self.node}' must be positive")
        return float(min(1.0, max(0.0, level / self.threshold)))


_ISTATE = re.compile(r"(?m)^\s*(\[[^\]]*\]|\w+)\s*\.\s*istate\s*=[^;]*;")
_SETTING = r"(?m)^\s*{}\s*=[^;]*;"
_INTERNAL = re.compile(r"(?m)^\s*(\w+)\s*\.\s*is_internal\s*=\s*([^;]*?)\s*;")


def _drop_settings(cfg: str, names: Sequence[str]) -> str:
    for name in names:
        cfg = re.sub(_SETTING.format(re.escape(name)), "", cfg)
    return cfg


def macrophage_network() -> tuple[Path, Path]:
    """Paths of the illustrative macrophage polarisation network (``.bnd``, ``.cfg``)."""
    data = resources.files("immunetwin.compose") / "data"
    return Path(str(data / "macrophage.bnd")), Path(str(data / "macrophage.cfg"))


class MaBossSimulator(AbstractSimulator):
    """A MaBoSS Boolean network, run one interval at a time with ``cmaboss``.

    ``inputs`` map port names to :class:`NodeInput` (a level thresholded into the probability
    that an input node is ON). ``outputs`` map port names to node names (a sequence means port
    name = node name); an output is the probability that the node is ON at the end of the
    interval, estimated from ``sample_count`` stochastic trajectories.

    The joint distribution of the network's states at the end of an interval is the initial
    condition of the next (input nodes are then reset from the inputs, independently of the
    rest), so the network carries its state across intervals. Nodes marked ``is_internal`` in
    the cfg are not reported by MaBoSS and cannot be carried: do not mark any. The cfg's
    ``istate`` lines must be one node per line (``A.istate = ...;``). Results are reproducible
    for a given seed (each interval gets its own seed derived from it).

    :meth:`from_module` builds one from a :class:`~immunetwin.compose.boolean.BooleanModule`
    (read from ``.bnd``/``.cfg`` or SBML-qual), taking its ports.
    """

    def __init__(
        self,
        name: str,
        bnd: str | Path,
        cfg: str | Path,
        *,
        inputs: Mapping[str, NodeInput] | None = None,
        outputs: Mapping[str, str] | Sequence[str] = (),
        sample_count: int | None = None,
        seed: int = 0,
    ) -> None:
        self._setup(
            name, Path(bnd).read_text(), Path(cfg).read_text(), inputs, outputs, sample_count, seed
        )

    @classmethod
    def from_module(
        cls,
        module: BooleanModule,
        *,
        thresholds: Mapping[str, float] | None = None,
        sample_count: int | None = None,
        seed: int = 0,
        name: str | None = None,
    ) -> MaBossSimulator:
        """A simulator of a Boolean module, with the module's ports as its ports.

        Each INPUT port becomes an input (a :class:`NodeInput` on its node, with the
        threshold given in ``thresholds`` by port name, 1 by default); each STATE port an
        output (the probability that its node is ON). ``name`` defaults to the module's.
        """
        thresholds = dict(thresholds or {})
        unknown = sorted(set(thresholds) - {p.name for p in module.inputs})
        if unknown:
            raise UnknownIdentifierError(
                f"thresholds name no input port of module '{module.name}': "
                f"{', '.join(unknown)}; its input ports are: "
                f"{', '.join(p.name for p in module.inputs) or '(none)'}"
            )
        inputs = {p.name: NodeInput(p.target, thresholds.get(p.name, 1.0)) for p in module.inputs}
        outputs = {p.name: p.target for p in module.outputs}
        sim = cls.__new__(cls)
        sim._setup(name or module.name, module.bnd, module.cfg, inputs, outputs, sample_count, seed)
        return sim

    def _setup(
        self,
        name: str,
        bnd: str,
        cfg: str,
        inputs: Mapping[str, NodeInput] | None,
        outputs: Mapping[str, str] | Sequence[str],
        sample_count: int | None,
        seed: int,
    ) -> None:
        import cmaboss

        self._cmaboss = cmaboss
        self.name = name
        self._bnd = bnd
        base_cfg = cfg
        if sample_count is not None:
            if sample_count < 1:
                raise InvalidInputError("sample_count must be at least 1")
            base_cfg = _drop_settings(base_cfg, ["sample_count"])
            base_cfg += f"\nsample_count = {int(sample_count)};\n"
        self._cfg = base_cfg
        self._inputs = dict(inputs or {})
        self._outputs = _ports(outputs)
        self._seed = seed
        # parsed from files once: cmaboss aborts the process on a syntax error in config_str;
        # every later run uses this checked text plus settings we write ourselves
        sim = _parse_text(re.sub(r"\W", "_", name), self._bnd, self._cfg)
        internal = [n for n, v in _INTERNAL.findall(self._cfg) if v not in ("0", "0.0")]
        if internal:
            raise InvalidInputError(
                f"network '{name}' marks {', '.join(internal)} as is_internal; MaBoSS does not "
                "report internal nodes, so their state cannot be carried across intervals. "
                "Set NODE.is_internal = 0 for every node"
            )
        self.nodes: tuple[str, ...] = tuple(sim.get_nodes())
        for port, spec in self._inputs.items():
            if spec.node not in self.nodes:
                raise UnknownIdentifierError(
                    f"input port '{name}.{port}': no node '{spec.node}'; nodes: "
                    f"{', '.join(self.nodes)}"
                )
            spec.probability(0.0)  # validates the threshold
        for port, node in self._outputs.items():
            if node not in self.nodes:
                raise UnknownIdentifierError(
                    f"output port '{name}.{port}': no node '{node}'; nodes: {', '.join(self.nodes)}"
                )
        self._state: dict[frozenset[str], float] | None = None
        self._interval = 0

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self._inputs)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self._outputs)

    @property
    def state(self) -> dict[frozenset[str], float] | None:
        """The carried joint distribution (sets of ON nodes -> probability); None at start."""
        return None if self._state is None else dict(self._state)

    def _simulation(self, cfg: str, extra: Sequence[str]) -> Any:
        cfg = cfg + "\n" + "\n".join(extra) + "\n"
        try:
            return self._cmaboss.MaBoSSSim(network_str=self._bnd, config_str=cfg)
        except self._cmaboss.BNException as e:
            raise InvalidInputError(f"MaBoSS rejected network '{self.name}': {e}") from None

    def _interval_seed(self) -> int:
        sequence = np.random.SeedSequence([self._seed, self._interval])
        return int(sequence.generate_state(1, dtype=np.uint32)[0] % (2**31 - 1))

    def reset(self, t0: float, seed: int | None = None) -> dict[str, float]:
        if seed is not None:
            self._seed = int(seed)
        self._state = None
        self._interval = 0
        return self._run(0.0, {})

    def advance(self, t0: float, t1: float, inputs: Mapping[str, float]) -> dict[str, float]:
        self._check_inputs(inputs)
        if not t1 > t0:
            raise InvalidInputError(f"t1 ({t1}) must be after t0 ({t0})")
        self._interval += 1
        return self._run(t1 - t0, inputs)

    def _run(self, duration: float, inputs: Mapping[str, float]) -> dict[str, float]:
        forced = {self._inputs[p].node: self._inputs[p].probability(v) for p, v in inputs.items()}
        cfg = _drop_settings(self._cfg, ["max_time", "time_tick", "seed_pseudorandom"])
        extra = [
            f"max_time = {duration!r};",
            f"time_tick = {duration!r};",
            f"seed_pseudorandom = {self._interval_seed()};",
        ]
        if self._state is None:
            # keep the cfg's initial states except those of the forced input nodes
            def keep(match: re.Match[str]) -> str:
                target = match.group(1).strip("[] ")
                return "" if target in forced else match.group(0)

            cfg = _ISTATE.sub(keep, cfg)
            for node, p in forced.items():
                extra.append(f"[{node}].istate = {1.0 - p!r} [0], {p!r} [1];")
        else:
            cfg = _ISTATE.sub("", cfg)
            for node, p in forced.items():
                self._state = _force(self._state, node, p)
            extra.append(self._joint_istate(list(self.nodes)))
        sim = self._simulation(cfg, extra)
        result = sim.run(only_last_state=True)
        probs, _, states = result.get_last_probtraj()[:3]
        self._state = {}
        for state, p in zip(states, np.asarray(probs)[-1], strict=True):
            names = [] if state == "<nil>" else state.split("--")
            on = frozenset(n.strip() for n in names)
            self._state[on] = self._state.get(on, 0.0) + float(p)
        return {port: self.probability(node) for port, node in self._outputs.items()}

    def probability(self, node: str) -> float:
        """Probability that ``node`` is ON in the carried state."""
        if self._state is None:
            raise InvalidInputError(f"simulator '{self.name}' has not been reset")
        return float(sum(p for on, p in self._state.items() if node in on))

    def _joint_istate(self, nodes: Sequence[str]) -> str:
        assert self._state is not None
        marginal: dict[tuple[int, ...], float] = {}
        for on, p in self._state.items():
            key = tuple(int(n in on) for n in nodes)
            marginal[key] = marginal.get(key, 0.0) + p
        total = sum(marginal.values())
        terms = ", ".join(
            f"{p / total!r} [{','.join(map(str, key))}]"
            for key, p in sorted(marginal.items())
            if p > 0
        )
        return f"[{', '.join(nodes)}].istate = {terms};"


def _force(state: dict[frozenset[str], float], node: str, p: float) -> dict[frozenset[str], float]:
    """Set the probability that ``node`` is ON to ``p`` with the least change of state: when
    ``p`` rises, only OFF states switch ON (each with the same probability); when it falls,
    only ON states switch OFF. Correlations with the other nodes are kept, and the input holds
    its value across intervals when the level does not change."""
    q = sum(w for on, w in state.items() if node in on)
    out: dict[frozenset[str], float] = {}

    def add(on: frozenset[str], w: float) -> None:
        if w > 0:
            out[on] = out.get(on, 0.0) + w

    for on, w in state.items():
        if p >= q:
            if node in on:
                add(on, w)
            else:
                switch = (p - q) / (1.0 - q)
                add(on | {node}, w * switch)
                add(on, w * (1.0 - switch))
        else:
            if node in on:
                stay = p / q
                add(on, w * stay)
                add(on - {node}, w * (1.0 - stay))
            else:
                add(on, w)
    return out


@dataclass(frozen=True, slots=True)
class Coupling:
    """``target = scale * source + offset``, both named ``"simulator.port"``.

    Several couplings into the same input add up.
    """

    source: str
    target: str
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True, eq=False)
class CosimResult:
    """Values at the exchange times ``time`` (``n + 1`` points for ``n`` intervals).

    ``outputs["sim.port"]`` holds that output at every exchange time; ``inputs["sim.port"]``
    the value applied to that input over each interval (``n`` values).
    """

    time: np.ndarray
    outputs: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    seed: int | None = None

    def __getitem__(self, key: str) -> np.ndarray:
        if key in self.outputs:
            return self.outputs[key]
        if key in self.inputs:
            return self.inputs[key]
        raise UnknownIdentifierError(
            f"'{key}' is not in this result; outputs: {', '.join(self.outputs)}; "
            f"inputs: {', '.join(self.inputs)}"
        )


def _split(key: str, sims: Mapping[str, AbstractSimulator], kind: str) -> tuple[str, str]:
    name, dot, port = key.partition(".")
    if not dot or name not in sims:
        raise UnknownIdentifierError(
            f"{kind} '{key}' must be 'simulator.port' with a simulator among: {', '.join(sims)}"
        )
    ports = sims[name].outputs if kind == "source" else sims[name].inputs
    if port not in ports:
        raise UnknownIdentifierError(
            f"{kind} '{key}': simulator '{name}' has no such port; it has: {', '.join(ports)}"
        )
    return name, port


def cosimulate(
    simulators: Sequence[AbstractSimulator],
    couplings: Sequence[Coupling],
    t_end: float,
    interval: float,
    *,
    seed: int | None = None,
    t_start: float = 0.0,
    external: Mapping[str, float] | None = None,
) -> CosimResult:
    """Advance every simulator from ``t_start`` to ``t_end``, exchanging values every
    ``interval`` (the last interval is shortened to end at ``t_end``).

    ``external`` holds constant inputs (``"sim.port" -> value``), added to coupled values.
    ``seed`` is handed to every simulator on reset (stochastic ones are reproducible with it).
    """
    sims: dict[str, AbstractSimulator] = {}
    for sim in simulators:
        if sim.name in sims:
            raise InvalidInputError(f"two simulators are named '{sim.name}'")
        sims[sim.name] = sim
    if not (np.isfinite(interval) and interval > 0):
        raise InvalidInputError(f"interval must be a positive number, got {interval}")
    if not (np.isfinite(t_end) and t_end > t_start):
        raise InvalidInputError(f"t_end ({t_end}) must be after t_start ({t_start})")
    links = [
        (_split(c.source, sims, "source"), _split(c.target, sims, "target"), c) for c in couplings
    ]
    fixed = {_split(k, sims, "target"): float(v) for k, v in (external or {}).items()}

    n = int(np.ceil((t_end - t_start) / interval - 1e-9))
    grid = np.minimum(t_start + interval * np.arange(n + 1), t_end)
    grid[-1] = t_end

    current = {name: sim.reset(t_start, seed) for name, sim in sims.items()}
    outputs = {f"{name}.{p}": [v] for name, out in current.items() for p, v in out.items()}
    targets = dict.fromkeys([*fixed, *(t for _, t, _ in links)])
    inputs: dict[str, list[float]] = {f"{s}.{p}": [] for s, p in targets}
    for k in range(n):
        values: dict[tuple[str, str], float] = dict(fixed)
        for (src, src_port), target, c in links:
            values[target] = values.get(target, 0.0) + c.scale * current[src][src_port] + c.offset
        for (s, p), v in values.items():
            inputs[f"{s}.{p}"].append(v)
        for name, sim in sims.items():
            mine = {p: v for (s, p), v in values.items() if s == name}
            current[name] = sim.advance(float(grid[k]), float(grid[k + 1]), mine)
        for name, produced in current.items():
            for port, level in produced.items():
                outputs[f"{name}.{port}"].append(level)
    return CosimResult(
        time=grid,
        outputs={k: np.asarray(v) for k, v in outputs.items()},
        inputs={k: np.asarray(v) for k, v in inputs.items()},
        seed=seed,
    )
