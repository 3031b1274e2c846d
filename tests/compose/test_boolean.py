"""Boolean modules: MaBoSS and SBML-qual networks read as modules and co-simulated."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cmaboss")

from immunetwin.compose import Port, Role  # noqa: E402
from immunetwin.compose.boolean import (  # noqa: E402
    BooleanModule,
    boolean_module,
    read_maboss,
    read_sbml_qual,
)
from immunetwin.compose.cosim import (  # noqa: E402
    Coupling,
    MaBossSimulator,
    NodeInput,
    OdeSimulator,
    cosimulate,
    macrophage_network,
)
from immunetwin.errors import (  # noqa: E402
    InvalidInputError,
    ModelReadError,
    UnknownIdentifierError,
    UnsupportedFeatureError,
)
from immunetwin.formats import read_antimony  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "boolean"
SBML, BND, CFG = DATA / "switch.sbml", DATA / "switch.bnd", DATA / "switch.cfg"
PORTS = {"inputs": ["I"], "outputs": ["A", "B", "C"]}


def steady(module: BooleanModule, level: float, seed: int = 1) -> dict[str, float]:
    """Outputs after 20 time units (the chain I -> A -> B -> C settles within a few) with the
    input node ON with probability ``level``."""
    sim = MaBossSimulator.from_module(module, seed=seed)
    sim.reset(0.0)
    return sim.advance(0.0, 20.0, {"I": level})


def test_sbml_qual_is_read_as_a_module_with_ports():
    m = read_sbml_qual(SBML, inputs={"signal": "I"}, outputs=["C"], citation="test network")
    assert m.name == "switch" and m.nodes == ("I", "A", "B", "C")
    assert m.source == str(SBML) and m.citation == "test network"
    assert m.port("signal") == Port("signal", "I", Role.INPUT)
    assert m.outputs == (Port("C", "C", Role.STATE),)
    assert "NOT A" in m.bnd  # MaBoSS's translation of B's transition
    assert "A.istate = 0;" in m.cfg  # from the species' initialLevel
    with pytest.raises(UnknownIdentifierError, match="its ports are: signal, C"):
        m.port("nope")


def test_sbml_qual_logic_gives_the_expected_probabilities():
    m = read_sbml_qual(SBML, **PORTS)
    on, off = steady(m, 1.0), steady(m, 0.0)
    assert on == {"A": 1.0, "B": 0.0, "C": 1.0}
    assert off == {"A": 0.0, "B": 1.0, "C": 0.0}
    mixed = steady(m, 0.3)  # I ON in 30 % of the cells: A and C follow it, B is its complement
    assert mixed["A"] == pytest.approx(0.3, abs=0.04)  # 2000 samples: sd about 0.01
    assert mixed["C"] == pytest.approx(mixed["A"], abs=1e-12)
    assert mixed["B"] == pytest.approx(1.0 - mixed["A"], abs=1e-12)


def test_sbml_qual_and_equivalent_bnd_agree_exactly():
    qual = read_sbml_qual(SBML, CFG, **PORTS)
    bnd = read_maboss(BND, CFG, **PORTS)
    assert qual.nodes == bnd.nodes
    for level in (0.3, 0.8):
        assert steady(qual, level, seed=4) == steady(bnd, level, seed=4)
    # the cfg's initial state (I ON with probability 0.3) without any input set
    runs = []
    for module in (qual, bnd):
        sim = MaBossSimulator.from_module(module, seed=2)
        sim.reset(0.0)
        runs.append(sim.advance(0.0, 20.0, {}))
    assert runs[0] == runs[1]
    assert runs[0]["A"] == pytest.approx(0.3, abs=0.04)


def test_sbml_qual_with_another_suffix_and_species_names(tmp_path):
    copy = Path(shutil.copy(SBML, tmp_path / "switch.qual"))
    m = read_sbml_qual(copy, name="switch2", outputs=["C"])
    assert m.name == "switch2" and m.nodes == ("I", "A", "B", "C")
    named = read_sbml_qual(SBML, use_names=True, outputs=["C_name"])
    assert named.nodes == ("I_name", "A_name", "B_name", "C_name")


TISSUE = """
model tissue_cytokine
  compartment tissue = 1;
  species P in tissue = 1;
  species C in tissue = 0;
  M1 = 0;
  k_clear = 0.15; k_p = 2.0; k_sec = 1.0; k_deg = 0.5; basal = 0.02;
  J_clear: P => ; k_clear * P * (1 + C);
  J_sec:  => C; k_sec * (basal + M1) + k_p * P;
  J_deg: C => ; k_deg * C;
end
"""


@pytest.fixture(scope="module")
def tissue():
    return read_antimony(TISSUE)


def macrophage_cosim(tissue, module: BooleanModule, seed: int):
    ode = OdeSimulator("tissue", tissue, inputs=["M1"], outputs=["C", "P"])
    mac = MaBossSimulator.from_module(module, thresholds={"LPS_IFNg": 4.0}, sample_count=500)
    couplings = [
        Coupling("mac.M1", "tissue.M1"),
        Coupling("tissue.C", "mac.LPS_IFNg"),
        Coupling("tissue.P", "mac.LPS_IFNg"),
    ]
    return cosimulate([ode, mac], couplings, 12.0, 1.0, seed=seed)


def test_read_maboss_macrophage_cosimulates_reproducibly(tissue):
    bnd, cfg = macrophage_network()
    module = read_maboss(bnd, cfg, name="mac", inputs=["LPS_IFNg"], outputs=["M1", "M2"])
    assert "// Macrophage polarisation" in module.bnd  # the text is kept as written
    a, b = macrophage_cosim(tissue, module, 7), macrophage_cosim(tissue, module, 7)
    for key in ("tissue.C", "mac.M1", "mac.M2", "mac.LPS_IFNg"):
        np.testing.assert_array_equal(a[key], b[key])
    assert a["mac.M1"].max() > 0.3  # the cytokine drives M1 polarisation
    # the module runs exactly like the simulator built from the files
    ode = OdeSimulator("tissue", tissue, inputs=["M1"], outputs=["C", "P"])
    direct = MaBossSimulator(
        "mac",
        bnd,
        cfg,
        inputs={"LPS_IFNg": NodeInput("LPS_IFNg", threshold=4.0)},
        outputs=["M1", "M2"],
        sample_count=500,
    )
    couplings = [
        Coupling("mac.M1", "tissue.M1"),
        Coupling("tissue.C", "mac.LPS_IFNg"),
        Coupling("tissue.P", "mac.LPS_IFNg"),
    ]
    c = cosimulate([ode, direct], couplings, 12.0, 1.0, seed=7)
    np.testing.assert_array_equal(a["mac.M1"], c["mac.M1"])


def test_sbml_qual_network_cosimulates_with_an_ode_module():
    # a signal S decays; the input I is ON with probability min(1, S), and the switch's
    # output C (ON once A has followed I and B has gone OFF) drives X towards it
    model = read_antimony("""
    model signal
      species S = 2; species X = 0;
      Cin = 0; k = 0.5; kx = 1;
      J_s: S => ; k * S;
      J_x: => X; kx * (Cin - X);
    end
    """)
    ode = OdeSimulator("ode", model, inputs=["Cin"], outputs=["S", "X"])
    switch = read_sbml_qual(SBML, **PORTS)

    def run(seed: int):
        mac = MaBossSimulator.from_module(switch, sample_count=500)
        couplings = [Coupling("ode.S", "switch.I"), Coupling("switch.C", "ode.Cin")]
        return cosimulate([ode, mac], couplings, 8.0, 1.0, seed=seed)

    a, b = run(3), run(3)
    np.testing.assert_array_equal(a["switch.C"], b["switch.C"])
    np.testing.assert_array_equal(a["ode.X"], b["ode.X"])
    # measured (seeds 3, 4): C peaks at 0.64 at t = 3 h, then falls to 0.16 at t = 8 h
    c = a["switch.C"]
    assert c[0] == 0 and c.max() > 0.5  # S = 2 > 1 turns the switch on ...
    assert c[-1] < 0.5 * c.max()  # ... and the decaying signal lets it fall back
    assert a["ode.X"].max() > 0.4


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bad_maboss_files_raise_typed_errors(tmp_path):
    with pytest.raises(ModelReadError, match="does not exist"):
        read_maboss(tmp_path / "missing.bnd")
    bad = write(tmp_path / "bad.bnd", "Node A { logic = A & ; }")
    with pytest.raises(ModelReadError, match="syntax error"):
        read_maboss(bad)
    undefined = write(tmp_path / "undef.bnd", "Node A { logic = B; }")
    with pytest.raises(ModelReadError, match="node B used but not defined"):
        read_maboss(undefined)
    # a cfg syntax error: cmaboss aborts the process for it in config_str, not from a file
    bad_cfg = write(tmp_path / "bad.cfg", "max_time = ;")
    with pytest.raises(ModelReadError, match="configuration syntax error"):
        read_maboss(BND, bad_cfg)
    with pytest.raises(ModelReadError, match="configuration syntax error"):
        boolean_module("net", BND.read_text(), "max_time = ;")
    with pytest.raises(ModelReadError, match="node NOPE not defined"):
        read_maboss(BND, write(tmp_path / "nope.cfg", "NOPE.istate = 1;"))


def test_bad_ports_raise_typed_errors():
    with pytest.raises(UnknownIdentifierError, match="node 'NOPE'.*nodes are: I, A, B, C"):
        read_maboss(BND, CFG, outputs=["NOPE"])
    with pytest.raises(UnknownIdentifierError, match="node 'X'"):
        read_sbml_qual(SBML, inputs={"signal": "X"})
    # an input must keep the value set from outside; A follows I
    with pytest.raises(InvalidInputError, match="node 'A'.*logic = NODE"):
        read_maboss(BND, CFG, inputs=["A"])
    with pytest.raises(InvalidInputError, match="write \\['C'\\]"):
        read_maboss(BND, outputs="C")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="role=Role.INPUT"):
        read_maboss(BND, inputs=[Port("I", "I", Role.STATE)])
    with pytest.raises(InvalidInputError, match="used twice"):
        read_maboss(BND, inputs={"x": "I"}, outputs={"x": "C"})
    with pytest.raises(InvalidInputError, match="'dimensionless'"):
        read_maboss(BND, outputs=[Port("C", "C", Role.STATE, unit="1/h")])
    with pytest.raises(InvalidInputError, match="identifier"):
        read_maboss(BND, name="my-net")
    module = read_maboss(BND, CFG, **PORTS)
    with pytest.raises(UnknownIdentifierError, match="input ports are: I"):
        MaBossSimulator.from_module(module, thresholds={"J": 2.0})


def test_bad_sbml_qual_files_raise_typed_errors(tmp_path):
    with pytest.raises(UnsupportedFeatureError, match="multi-valued.*'A' \\(levels 0..2\\)"):
        read_sbml_qual(DATA / "multivalued.sbml")
    with pytest.raises(ModelReadError, match="does not exist"):
        read_sbml_qual(tmp_path / "missing.sbml")
    broken = write(tmp_path / "broken.sbml", "<sbml><model>oops")
    with pytest.raises(ModelReadError, match="well-formed SBML"):
        read_sbml_qual(broken)
    kinetic = write(
        tmp_path / "kinetic.xml",
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" level="3" version="1">'
        '<model id="m"/></sbml>',
    )
    with pytest.raises(ModelReadError, match="not an SBML-qual model.*read_sbml"):
        read_sbml_qual(kinetic)
    with pytest.raises(ModelReadError, match="configuration syntax error"):
        read_sbml_qual(SBML, write(tmp_path / "bad.cfg", "garbage"))
    # a construct MaBoSS does not translate: comparing two species
    import libsbml

    doc = libsbml.readSBMLFromFile(str(SBML))
    term = doc.getModel().getPlugin("qual").getTransition("tr_C").getFunctionTerm(0)
    term.setMath(libsbml.parseL3Formula("A == B"))
    libsbml.writeSBMLToFile(doc, str(tmp_path / "compare.sbml"))
    with pytest.raises(UnsupportedFeatureError, match="nodeA == nodeB.*rewrite"):
        read_sbml_qual(tmp_path / "compare.sbml")


def test_internal_nodes_are_refused():
    cfg = CFG.read_text() + "\nC.is_internal = 1;\n"
    module = boolean_module("net", BND.read_text(), cfg, outputs=["A"])
    with pytest.raises(InvalidInputError, match="marks C as is_internal"):
        MaBossSimulator.from_module(module)
