"""Steady states against analytic equilibria, with stability and conservation laws."""

from __future__ import annotations

import numpy as np
import pytest

from immunetwin.data import bundled_model
from immunetwin.engine import SteadyStatus, steady_state
from immunetwin.errors import UnknownIdentifierError
from immunetwin.formats import read_antimony

# Nowak & Bangham 1996 virus-CTL model (bundled); analytic equilibria in reference-results.md
NOWAK = bundled_model("nowak_bangham_1996.ant").read_text()


def test_virus_ctl_equilibrium_without_ctl_is_analytic() -> None:
    # z = 0 stays 0: the CTL-free equilibrium x* = a u / (beta k) = 10, y* = v* = 1.8
    result = steady_state(read_antimony(NOWAK), guess={"x": 10, "y": 1.8, "v": 1.8, "z": 0})
    assert result.status is SteadyStatus.FOUND
    assert result.state["x"] == pytest.approx(10, rel=1e-8)
    assert result.state["y"] == pytest.approx(1.8, rel=1e-8)
    # with c y* > b the CTL-free state is unstable: CTLs invade
    assert not result.stable


def test_virus_ctl_equilibrium_with_ctl_is_stable() -> None:
    model = read_antimony(NOWAK)
    result = steady_state(model, guess={"x": 50, "y": 0.1, "v": 0.1, "z": 10})
    b, c, lam, d, beta, k, u, a, p = 0.01, 0.1, 1, 0.01, 0.05, 1, 1, 0.5, 1
    y = b / c
    x = lam / (d + beta * k * y / u)
    z = (beta * x * k / u - a) / p
    assert result.status is SteadyStatus.FOUND
    assert result.state["y"] == pytest.approx(y, rel=1e-8)
    assert result.state["x"] == pytest.approx(x, rel=1e-8)
    assert result.state["z"] == pytest.approx(z, rel=1e-8)
    assert result.stable
    assert np.all(result.eigenvalues.real < 0)


def test_conservation_law_is_respected() -> None:
    model = read_antimony(
        """
        model binding
          species A = 10, B = 5, C = 0;
          J: A + B -> C; kon*A*B - koff*C
          kon = 1; koff = 2;
        end
        """
    )
    result = steady_state(model)
    assert result.status is SteadyStatus.FOUND
    a, b, c = result.state["A"], result.state["B"], result.state["C"]
    assert a + c == pytest.approx(10)
    assert b + c == pytest.approx(5)
    assert a * b == pytest.approx(2 * c)
    assert result.conservation_laws == 2
    assert result.stable


def test_unknown_guess_id_is_a_typed_error() -> None:
    with pytest.raises(UnknownIdentifierError, match="nope"):
        steady_state(read_antimony(NOWAK), guess={"nope": 1})


def test_json_shape() -> None:
    payload = steady_state(read_antimony(NOWAK)).to_json()
    assert set(payload) >= {"status", "state", "eigenvalues", "stable"}
    assert all(len(pair) == 2 for pair in payload["eigenvalues"])  # type: ignore[union-attr]
