"""Shared engine test models."""

from __future__ import annotations

import pytest

from immunetwin.formats import read_antimony
from immunetwin.ir import Model

# X is made at rate k from t = 5 on and degraded at rate d: X = exp(-d t) before the switch,
# exp(-d t) + k / d (1 - exp(-d (t - 5))) after it.
SWITCH = """
model switch
  species X = 1;
  u := piecewise(0, time < 5, k);
  J: -> X; u - d*X
  k = 2; d = 0.3;
end
"""


@pytest.fixture
def switch_model() -> Model:
    return read_antimony(SWITCH)
