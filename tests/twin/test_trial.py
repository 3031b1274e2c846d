"""In-silico trials: paired arms over one virtual cohort, rates with intervals, and specs
checked before anything runs."""

from __future__ import annotations

import pytest

from immunetwin.errors import InvalidInputError
from immunetwin.twin.model import viral_pneumonia_twin
from immunetwin.twin.trial import run_trial, spec_from_dict

SPEC = {
    "model": "viral_pneumonia",
    "patients": 40,
    "seed": 3,
    "horizon": 14,
    "arms": [
        {"name": "control", "regimens": []},
        {
            "name": "early antiviral",
            "regimens": [
                {
                    "drug": "antiviral",
                    "amount": 300,
                    "route": "oral",
                    "interval": 0.5,
                    "count": 10,
                    "start": 0,
                }
            ],
        },
    ],
}


def test_early_antiviral_arm_lowers_il6_storms_in_the_same_patients() -> None:
    result = run_trial(viral_pneumonia_twin(), spec_from_dict(SPEC))
    control, treated = result.arms
    assert control.differences == {k: 0.0 for k in control.rates}
    assert treated.rates["il6_above_70"] < control.rates["il6_above_70"]
    assert treated.peak["il6"]["median"] < control.peak["il6"]["median"]
    low, high = treated.intervals["il6_above_70"]
    assert 0.0 <= low <= treated.rates["il6_above_70"] <= high <= 1.0
    again = run_trial(viral_pneumonia_twin(), spec_from_dict(SPEC))
    assert again.arms[1].rates == treated.rates  # the seed fixes the cohort
    data = result.to_json()
    assert [a["name"] for a in data["arms"]] == ["control", "early antiviral"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arms": []}, "needs 'arms'"),
        ({"patients": 1}, "at least 2"),
        ({"colour": "red"}, "unknown trial spec keys"),
        ({"arms": [{"name": "a"}, {"name": "a"}]}, "unique"),
        ({"arms": [{"name": "a", "regimens": [{"drug": "x", "amount": 1}]}]}, "missing route"),
    ],
)
def test_bad_specs_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        spec_from_dict({**SPEC, **change})
