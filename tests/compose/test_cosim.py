"""Boolean-ODE co-simulation through MaBoSS (cmaboss) and the engine."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cmaboss")

from immunetwin.compose.cosim import (  # noqa: E402
    CosimResult,
    Coupling,
    MaBossSimulator,
    NodeInput,
    OdeSimulator,
    cosimulate,
    macrophage_network,
)
from immunetwin.errors import InvalidInputError, UnknownIdentifierError  # noqa: E402
from immunetwin.formats import read_antimony  # noqa: E402

# A tiny tissue: a pathogen signal P cleared faster with more cytokine C; C secreted by M1
# macrophages (M1 = probability from the network, set each interval) and induced by P.
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


def coupled(tissue, interval: float, seed: int, t_end: float = 48.0) -> CosimResult:
    bnd, cfg = macrophage_network()
    ode = OdeSimulator("tissue", tissue, inputs=["M1"], outputs=["C", "P"])
    mac = MaBossSimulator(
        "mac",
        bnd,
        cfg,
        inputs={"LPS_IFNg": NodeInput("LPS_IFNg", threshold=4.0)},
        outputs=["M1", "M2"],
        sample_count=1000,
    )
    couplings = [
        Coupling("mac.M1", "tissue.M1"),  # M1 probability scales cytokine secretion
        Coupling("tissue.C", "mac.LPS_IFNg"),  # cytokine (and pathogen) thresholded back
        Coupling("tissue.P", "mac.LPS_IFNg"),
    ]
    return cosimulate([ode, mac], couplings, t_end, interval, seed=seed)


def test_coupled_example_rises_and_resolves(tissue):
    r = coupled(tissue, 0.5, seed=1)
    assert r.time[0] == 0 and r.time[-1] == 48 and len(r.time) == 97
    c, m1 = r["tissue.C"], r["mac.M1"]
    assert c[0] == 0 and m1[0] == 0
    assert c.max() > 1.5 and m1.max() > 0.4  # inflammation builds up ...
    assert c[-1] < 0.5 * c.max() and m1[-1] < 0.5 * m1.max()  # ... and resolves
    assert r["tissue.M1"].shape == (96,)
    np.testing.assert_allclose(r["tissue.M1"], m1[:-1])  # zero-order hold of M1


def test_same_seed_same_result_different_seed_differs(tissue):
    a, b, c = coupled(tissue, 1.0, 7), coupled(tissue, 1.0, 7), coupled(tissue, 1.0, 8)
    for key in ("tissue.C", "mac.M1", "mac.M2"):
        np.testing.assert_array_equal(a[key], b[key])
    diff = np.max(np.abs(a["tissue.C"] - c["tissue.C"])) / np.max(a["tissue.C"])
    assert 0 < diff < 0.05  # measured about 1% with 1000 samples


def test_halving_interval_changes_cytokine_by_less_than_5_percent(tissue):
    # measured max relative difference (interval 0.5 h vs 0.25 h, 1000 samples): 1.8-2.6 %
    # over seeds 1, 3, 4, 5 (the Jacobi scheme is first order: ~4 % for 1 h vs 0.5 h)
    coarse, fine = coupled(tissue, 0.5, 3), coupled(tissue, 0.25, 3)
    np.testing.assert_allclose(fine.time[::2], coarse.time)
    rel = np.max(np.abs(fine["tissue.C"][::2] - coarse["tissue.C"])) / np.max(coarse["tissue.C"])
    assert rel < 0.05


def network_alone(**levels: float) -> dict[str, float]:
    bnd, cfg = macrophage_network()
    mac = MaBossSimulator(
        "mac",
        bnd,
        cfg,
        inputs={"LPS_IFNg": NodeInput("LPS_IFNg"), "IL4_IL13": NodeInput("IL4_IL13")},
        outputs=["M1", "M2"],
        seed=3,
    )
    mac.reset(0.0)
    return mac.advance(0.0, 24.0, levels)


def test_network_alone_polarises():
    m1 = network_alone(LPS_IFNg=1.0, IL4_IL13=0.0)
    assert m1["M1"] > 0.9 and m1["M2"] < 0.05
    m2 = network_alone(LPS_IFNg=0.0, IL4_IL13=1.0)
    assert m2["M2"] > 0.9 and m2["M1"] < 0.05
    rest = network_alone()
    assert rest["M1"] == 0 and rest["M2"] == 0


def test_state_carries_across_intervals(tissue):
    ode = OdeSimulator("tissue", tissue, outputs=["C"], inputs=["M1"])
    ode.reset(0.0)
    ode.advance(0.0, 1.0, {"M1": 0.5})
    two = ode.advance(1.0, 2.0, {"M1": 0.5})
    from immunetwin.engine import simulate

    ref = simulate(tissue, [0.0, 2.0], parameters={"M1": 0.5})
    assert two["C"] == pytest.approx(float(ref["C"][-1]), rel=1e-5)


def test_validation(tissue):
    ode = OdeSimulator("tissue", tissue, inputs=["M1"], outputs=["C"])
    with pytest.raises(InvalidInputError):
        cosimulate([ode], [], 10.0, 0.0)
    with pytest.raises(InvalidInputError):
        cosimulate([ode], [], 0.0, 1.0)
    with pytest.raises(UnknownIdentifierError):
        cosimulate([ode], [Coupling("tissue.C", "tissue.nope")], 1.0, 0.5)
    with pytest.raises(UnknownIdentifierError):
        OdeSimulator("t", tissue, outputs=["nope"])
    bnd, cfg = macrophage_network()
    with pytest.raises(UnknownIdentifierError):
        MaBossSimulator("m", bnd, cfg, outputs=["NOPE"])
    # the last interval is shortened to end at t_end
    r = cosimulate([ode], [], 1.25, 0.5, external={"tissue.M1": 1.0})
    np.testing.assert_allclose(r.time, [0, 0.5, 1.0, 1.25])
    np.testing.assert_allclose(r["tissue.M1"], [1.0, 1.0, 1.0])
