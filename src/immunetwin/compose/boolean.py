"""Boolean (logical) modules: a MaBoSS network plus the ports it shares with other modules.

A :class:`BooleanModule` holds the MaBoSS network (``.bnd``) and configuration (``.cfg``) text,
its node names and its declared ports, described with the same :class:`Port` and :class:`Role`
as an ODE module:

- ``Role.INPUT``: a node set from outside (a level thresholded into the probability that the
  node is ON, see :class:`~immunetwin.compose.cosim.NodeInput`); it must be held constant by
  the network (``logic = NODE;`` with the default rates, or ``rate_up = rate_down = 0``);
- ``Role.STATE``: a node whose probability of being ON is read out.

Both are probabilities, so the unit is ``"dimensionless"``. Build one with :func:`read_maboss`
(``.bnd``/``.cfg`` files), :func:`read_sbml_qual` (SBML Level 3 qual, Boolean species only) or
:func:`boolean_module` (text); run it with
:meth:`MaBossSimulator.from_module <immunetwin.compose.cosim.MaBossSimulator.from_module>`.

SBML-qual is read by MaBoSS itself (``cmaboss`` ≥ 1.0 parses ``.sbml``/``.xml`` networks
natively); we check the file with libSBML first, for readable errors and to refuse
multi-valued species, which MaBoSS would silently split into ``NODE_b1``, ``NODE_b2``, ...
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from immunetwin.compose.module import Port, Role
from immunetwin.errors import (
    InvalidInputError,
    ModelReadError,
    UnknownIdentifierError,
    UnsupportedFeatureError,
)

__all__ = ["BooleanModule", "PortSpec", "boolean_module", "read_maboss", "read_sbml_qual"]

# ports as port name -> node, as node names (port name = node name), or as Port objects
PortSpec = Mapping[str, str] | Sequence[str | Port]

_SBML_SUFFIXES = (".sbml", ".xml")


@dataclass(frozen=True, slots=True)
class BooleanModule:
    """A Boolean network (MaBoSS text) plus its ports, with where it comes from.

    ``ports`` target node names: ``INPUT`` ports are nodes set from outside, ``STATE`` ports
    nodes whose probability of being ON is read. Checked on construction: ports name known
    nodes, port names are unique, roles are INPUT or STATE, units are dimensionless.
    """

    name: str  # also the simulator name in a co-simulation
    bnd: str  # MaBoSS network text
    cfg: str  # MaBoSS configuration text (never empty: MaBoSS needs one statement at least)
    nodes: tuple[str, ...]
    ports: tuple[Port, ...] = ()
    citation: str = ""
    version: str = "1"
    description: str = ""
    source: str = ""  # the file it was read from, "" when built from text

    def __post_init__(self) -> None:
        unknown = [
            f"port '{p.name}' targets node '{p.target}', which the network does not have"
            for p in self.ports
            if p.target not in self.nodes
        ]
        problems = []
        if not self.name.isidentifier():
            problems.append(
                f"module name '{self.name}' must be an identifier (it names the simulator)"
            )
        names = [p.name for p in self.ports]
        problems += [
            f"port name '{n}' is used twice" for n in sorted(set(names)) if names.count(n) > 1
        ]
        problems += [
            f"port '{p.name}' has role {p.role.name}; a Boolean module has INPUT ports (nodes "
            "set from outside) and STATE ports (node probabilities read out) only"
            for p in self.ports
            if p.role not in (Role.INPUT, Role.STATE)
        ]
        problems += [
            f"port '{p.name}' has unit '{p.unit}'; node probabilities are 'dimensionless'"
            for p in self.ports
            if p.unit != "dimensionless"
        ]
        if unknown:
            raise UnknownIdentifierError(
                f"Boolean module '{self.name}': "
                + "; ".join(unknown + problems)
                + f"; its nodes are: {', '.join(self.nodes)}"
            )
        if problems:
            raise InvalidInputError(f"Boolean module '{self.name}': " + "; ".join(problems))

    def port(self, name: str) -> Port:
        for port in self.ports:
            if port.name == name:
                return port
        known = ", ".join(p.name for p in self.ports) or "(none)"
        raise UnknownIdentifierError(
            f"Boolean module '{self.name}' has no port '{name}'; its ports are: {known}"
        )

    def ports_with(self, *roles: Role) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.role in roles)

    @property
    def inputs(self) -> tuple[Port, ...]:
        """Ports of nodes set from outside."""
        return self.ports_with(Role.INPUT)

    @property
    def outputs(self) -> tuple[Port, ...]:
        """Ports of nodes whose probability is read."""
        return self.ports_with(Role.STATE)


def _to_ports(spec: PortSpec, role: Role) -> list[Port]:
    if isinstance(spec, Mapping):
        return [Port(name, node, role) for name, node in spec.items()]
    if isinstance(spec, str):  # a lone string would otherwise be split into letters
        raise InvalidInputError(
            f"{role.value} ports must be a list of node names, got the string '{spec}'; "
            f"write ['{spec}']"
        )
    ports = []
    for item in spec:
        if isinstance(item, Port):
            if item.role is not role:
                raise InvalidInputError(
                    f"port '{item.name}' is declared among the {role.value} ports but has role "
                    f"{item.role.name}; give it role=Role.{role.name}"
                )
            ports.append(item)
        else:
            ports.append(Port(item, item, role))
    return ports


def _cmaboss() -> Any:
    import cmaboss

    return cmaboss


def _load(
    what: str, network: Path, cfg: Path | None, *, folder: str = "", sbml_names: bool = False
) -> Any:
    """A cmaboss simulation read from files; ``what`` names the source in error messages,
    from which ``folder`` (a temporary one) is left out.

    Always from files: cmaboss aborts the whole Python process on a syntax error in
    ``config_str`` (or an empty one), but raises ``BNException`` for the same error in a file.
    """
    cmaboss = _cmaboss()
    kwargs: dict[str, Any] = {"network": str(network)}
    if sbml_names:
        kwargs["use_sbml_names"] = True
    if cfg is not None:
        kwargs["config"] = str(cfg)
    try:
        return cmaboss.MaBoSSSim(**kwargs)
    except cmaboss.BNException as e:
        message = str(e).strip()
        if folder:
            message = message.replace(f"{folder}/", "")
        if message.startswith("Not Implemented"):
            raise UnsupportedFeatureError(
                message.removeprefix("Not Implemented").strip(" :"),
                what,
                "MaBoSS cannot translate it to Boolean logic; rewrite those transitions with "
                "comparisons of a species to a constant level (A == 1)",
            ) from None
        raise ModelReadError(
            f"MaBoSS cannot read {what}: {message}. Expected a MaBoSS network (.bnd) and "
            "configuration (.cfg) in the syntax of https://maboss.curie.fr; fix what the "
            "message names"
        ) from None


def _parse_text(name: str, bnd: str, cfg: str | None) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        network = Path(tmp, f"{name}.bnd")
        network.write_text(bnd)
        config = None
        if cfg is not None and cfg.strip():
            config = Path(tmp, f"{name}.cfg")
            config.write_text(cfg)
        return _load(f"network {name}", network, config, folder=tmp)


def _is_held(node: Any, name: str) -> bool:
    """Whether a node keeps the value it starts with: the value set from outside.

    True for ``rate_up = rate_down = 0``, or for ``logic = NODE`` with rates that are zero
    when ``@logic`` equals the node's own value (the defaults, or ``@logic ? r : 0`` up and
    ``@logic ? 0 : r`` down).
    """
    up, down = node.get_rate_up(), node.get_rate_down()
    if _zero(up) and _zero(down):
        return True
    if node.get_logic().strip("() ") != name:
        return False
    up_ok = up is None or _zero(up) or re.fullmatch(r"\(?\s*@logic\s*\?.*:\s*0\s*\)?", up)
    down_ok = down is None or _zero(down) or re.fullmatch(r"\(?\s*@logic\s*\?\s*0\s*:.*\)?", down)
    return bool(up_ok and down_ok)


def _zero(rate: str | None) -> bool:
    try:
        return rate is not None and float(rate.strip("() ")) == 0.0
    except ValueError:
        return False


def _build(
    sim: Any,
    name: str,
    bnd: str,
    cfg: str,
    inputs: PortSpec,
    outputs: PortSpec,
    **about: str,
) -> BooleanModule:
    ports = (*_to_ports(inputs, Role.INPUT), *_to_ports(outputs, Role.STATE))
    nodes = tuple(str(n) for n in sim.get_nodes())
    module = BooleanModule(name, bnd, cfg, nodes, ports, **about)  # checks the ports
    network = sim.network
    drifting = [p for p in module.inputs if not _is_held(network[p.target], p.target)]
    if drifting:
        detail = "; ".join(
            f"node '{p.target}' (port '{p.name}') has logic '{network[p.target].get_logic()}'"
            for p in drifting
        )
        raise InvalidInputError(
            f"Boolean module '{name}': an input node must keep the value set from outside, but "
            f"{detail}. Make it constant in the network (logic = NODE; or rate_up = 0; "
            "rate_down = 0;), or declare it as an output instead"
        )
    return module


def _module_name(name: str | None, source: Path | None = None) -> str:
    """``name``, or the file's stem made into an identifier (it names the simulator)."""
    if name is None and source is not None:
        stem = re.sub(r"\W", "_", source.stem)
        return stem if stem.isidentifier() else f"net_{stem}"
    if name is None or not name.isidentifier():
        raise InvalidInputError(
            f"module name must be an identifier (it names the simulator), got {name!r}"
        )
    return name


def _existing(path: str | Path, kind: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ModelReadError(f"{kind} file '{path}' does not exist (or is not a file)")
    return path


def boolean_module(
    name: str,
    bnd: str,
    cfg: str | None = None,
    *,
    inputs: PortSpec = (),
    outputs: PortSpec = (),
    citation: str = "",
    version: str = "1",
    description: str = "",
) -> BooleanModule:
    """A Boolean module from MaBoSS network and configuration text, after MaBoSS has parsed it.

    ``cfg=None`` uses MaBoSS's default settings. ``inputs``/``outputs`` declare the ports (a
    mapping port name -> node, node names, or :class:`Port` objects with role INPUT/STATE).
    """
    name = _module_name(name)
    sim = _parse_text(name, bnd, cfg)
    cfg = cfg if cfg is not None and cfg.strip() else str(sim.str_cfg())
    about = {"citation": citation, "version": version, "description": description}
    return _build(sim, name, bnd, cfg, inputs, outputs, **about)


def read_maboss(
    bnd_path: str | Path,
    cfg_path: str | Path | None = None,
    *,
    name: str | None = None,
    inputs: PortSpec = (),
    outputs: PortSpec = (),
    citation: str = "",
    version: str = "1",
    description: str = "",
) -> BooleanModule:
    """Read a MaBoSS network (``.bnd``) and its configuration (``.cfg``) as a Boolean module.

    ``name`` defaults to the ``.bnd`` file's stem; ``cfg_path=None`` uses MaBoSS's defaults.
    Both texts are kept as written (comments included).
    """
    bnd_file = _existing(bnd_path, "MaBoSS network (.bnd)")
    cfg_file = None if cfg_path is None else _existing(cfg_path, "MaBoSS configuration (.cfg)")
    label = str(bnd_file) + (f" with {cfg_file}" if cfg_file else "")
    sim = _load(label, bnd_file, cfg_file)
    cfg = cfg_file.read_text() if cfg_file else str(sim.str_cfg())
    about = {"citation": citation, "version": version, "description": description}
    return _build(
        sim,
        _module_name(name, bnd_file),
        bnd_file.read_text(),
        cfg,
        inputs,
        outputs,
        source=str(bnd_file),
        **about,
    )


def _check_qual(path: Path) -> None:
    """Read errors, a file without qual species, and multi-valued species, in words."""
    import libsbml

    doc = libsbml.readSBMLFromFile(str(path))
    errors = [
        doc.getError(i)
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    if errors:
        listed = "; ".join(
            f"line {e.getLine()}: {e.getMessage().strip().rstrip('.')}" for e in errors[:3]
        )
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ModelReadError(
            f"cannot read SBML-qual file '{path}': expected well-formed SBML, libSBML reports: "
            f"{listed}{more}. Fix the file (the SBML validator at https://sbml.org helps)"
        )
    model = doc.getModel()
    qual = None if model is None else model.getPlugin("qual")
    if qual is None or qual.getNumQualitativeSpecies() == 0:
        raise ModelReadError(
            f"'{path}' is not an SBML-qual model: expected qualitative species (the SBML "
            "Level 3 'qual' package), found none. For a kinetic (ODE) SBML model use "
            "immunetwin.formats.read_sbml"
        )
    multi: dict[str, int] = {}
    for s in qual.getListOfQualitativeSpecies():
        levels = [s.getMaxLevel() if s.isSetMaxLevel() else 1]
        levels.append(s.getInitialLevel() if s.isSetInitialLevel() else 0)
        if max(levels) > 1:
            multi[s.getId()] = max(levels)
    for t in qual.getListOfTransitions():
        result = [t.getDefaultTerm().getResultLevel()] if t.isSetDefaultTerm() else []
        result += [ft.getResultLevel() for ft in t.getListOfFunctionTerms()]
        for out in t.getListOfOutputs():
            if result and max(result) > 1:
                id = out.getQualitativeSpecies()
                multi[id] = max(multi.get(id, 0), *result)
        for inp in t.getListOfInputs():
            if inp.isSetThresholdLevel() and inp.getThresholdLevel() > 1:
                id = inp.getQualitativeSpecies()
                multi[id] = max(multi.get(id, 0), inp.getThresholdLevel())
    if multi:
        found = ", ".join(f"'{id}' (levels 0..{level})" for id, level in sorted(multi.items()))
        raise UnsupportedFeatureError(
            "multi-valued qualitative species",
            ", ".join(sorted(multi)),
            f"in '{path}': expected Boolean species (maxLevel 1), found {found}. Booleanise the "
            "model first (e.g. with bioLQM or GINsim), or rewrite those species as Boolean",
        )


def read_sbml_qual(
    path: str | Path,
    cfg_path: str | Path | None = None,
    *,
    name: str | None = None,
    inputs: PortSpec = (),
    outputs: PortSpec = (),
    use_names: bool = False,
    citation: str = "",
    version: str = "1",
    description: str = "",
) -> BooleanModule:
    """Read an SBML-qual (SBML Level 3 qual) Boolean network as a Boolean module.

    MaBoSS translates the transitions into node logic with its default rates (1 per unit time
    up and down) and the species' ``initialLevel`` into initial states; ``cfg_path``, a MaBoSS
    ``.cfg``, adds or overrides settings (times, samples, initial states). Nodes are named by
    the species ids, or by their names with ``use_names=True``. ``name`` defaults to the
    file's stem. The module's ``bnd``/``cfg`` are MaBoSS's rendering of the translation.

    Raises ``UnsupportedFeatureError`` for multi-valued species (``maxLevel`` above 1).
    """
    file = _existing(path, "SBML-qual")
    cfg_file = None if cfg_path is None else _existing(cfg_path, "MaBoSS configuration (.cfg)")
    _check_qual(file)
    label = str(file) + (f" with {cfg_file}" if cfg_file else "")
    if file.suffix.lower() in _SBML_SUFFIXES:
        sim = _load(label, file, cfg_file, sbml_names=use_names)
    else:  # cmaboss picks its SBML reader by the file suffix
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(shutil.copy(file, Path(tmp, "network.sbml")))
            sim = _load(label, copy, cfg_file, sbml_names=use_names)
    about = {"citation": citation, "version": version, "description": description}
    return _build(
        sim,
        _module_name(name, file),
        str(sim.str_bnd()),
        str(sim.str_cfg()),
        inputs,
        outputs,
        source=str(file),
        **about,
    )
