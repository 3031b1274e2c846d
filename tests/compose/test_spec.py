"""YAML composition specs: library, catalogue and file modules; bad specs name the entry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from immunetwin.compose.spec import read_spec
from immunetwin.engine import simulate
from immunetwin.errors import InvalidInputError

READER = """
model reader
  compartment c = 1;
  species Y in c = 0;
  X = 0;
  J: => Y; a*X
  a = 1;
end
"""


def test_a_catalogue_model_becomes_a_module(tmp_path: Path) -> None:
    (tmp_path / "reader.ant").write_text(READER)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        """
name: with_catalogue
modules:
  - catalog: reynolds2006
    name: full
    ports:
      - {name: P, target: P, role: state, unit: 1e6 / mL}
  - file: reader.ant
    name: reader
    ports:
      - {name: X, target: X, role: input, unit: 1 / mL}
wires:
  - {from: full.P, to: reader.X}
"""
    )
    composition = read_spec(spec).assemble()
    [connection] = composition.connections
    assert connection.factor == pytest.approx(1e6)
    result = simulate(composition.model, np.linspace(0, 1, 3))
    assert result.ok and result["reader_Y"][-1] > 1e5  # reads 1e6 * P with P ~ 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modules: [", "not valid YAML"),
        ("modulez: []", "unknown keys"),
        ("modules: []", "non-empty list"),
        ("modules:\n  - library: reynolds.nothing", "no library module"),
        ("modules:\n  - {library: reynolds.damage, file: x.ant}", "exactly one of"),
        ("modules:\n  - {file: x.ant, name: x, ports: [{name: a}]}", "modules[0].ports[0]"),
        ("modules:\n  - library: reynolds.damage\nwires: [[a]]", "wires[0]"),
        ("modules:\n  - library: reynolds.damage\nparameters: {x: y}", "'parameters'"),
    ],
)
def test_bad_specs_name_the_entry(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    with pytest.raises(InvalidInputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_spec(spec)
