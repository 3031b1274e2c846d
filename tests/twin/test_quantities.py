"""The catalogue of clinical quantities: LOINC codes, canonical units and conversions."""

from __future__ import annotations

import pytest

import immunetwin.twin as twin
from immunetwin.errors import InvalidInputError, PatientDataError
from immunetwin.twin.quantities import (
    CATALOGUE,
    ObservableMap,
    ObservableMapping,
    Quantity,
    QuantityCatalogue,
    ucum_to_pint,
    unit_factor,
    viral_pneumonia_observables,
)


def test_the_public_names() -> None:
    mine = {"PatientTimeline", "Observation", "Intervention", "Route", "ReferenceEvent"}
    mine |= {"read_csv", "write_csv", "read_fhir", "write_fhir", "fhir_bundle", "CATALOGUE"}
    mine |= {"Quantity", "QuantityCatalogue", "ObservableMap", "unit_factor"}
    assert mine <= set(twin.__all__)
    assert all(hasattr(twin, name) for name in twin.__all__)


def test_catalogue_units_are_readable_and_ucum_equals_canonical() -> None:
    for quantity in CATALOGUE:
        assert quantity.factor(quantity.unit) == 1.0
        assert quantity.factor(quantity.ucum) == 1.0  # the UCUM code written to FHIR
        assert quantity.non_negative


def test_catalogue_holds_the_pneumonia_quantities_by_key_and_loinc() -> None:
    assert set(CATALOGUE.keys) >= {
        "sars_cov_2_rna",
        "il6",
        "crp",
        "lymphocytes",
        "neutrophils",
        "ferritin",
        "tnf",
        "il10",
    }
    expected = {
        "26881-3": "il6",
        "1988-5": "crp",
        "30522-7": "crp",
        "731-0": "lymphocytes",
        "751-8": "neutrophils",
        "2276-4": "ferritin",
        "3074-2": "tnf",
        "26848-2": "il10",
        "95521-1": "sars_cov_2_rna",
    }
    for code, key in expected.items():
        assert CATALOGUE.find(code) == (CATALOGUE[key], False)
        assert CATALOGUE.find(key) == (CATALOGUE[key], False)
    assert CATALOGUE.find("95522-9") == (CATALOGUE["sars_cov_2_rna"], True)  # log10 copies/mL
    assert CATALOGUE.find("94745-7") is None  # a Ct value is not a concentration
    assert "unknown code '9999-9'" in CATALOGUE.unknown_code_message("9999-9")


@pytest.mark.parametrize(
    ("unit", "target", "factor"),
    [
        ("ng/L", "pg/mL", 1.0),  # IL-6 in ng/L equals pg/mL
        ("mg/dL", "mg/L", 10.0),  # CRP in mg/dL x 10
        ("10*3/uL", "1e9/L", 1.0),  # counts: 10^3/uL = 10^9/L
        ("10^9/L", "1e9/L", 1.0),
        ("/uL", "1e9/L", 1e-3),  # 1/uL = 1e6/L
        ("{cells}/uL", "1e9/L", 1e-3),
        ("ng/mL", "ug/L", 1.0),  # ferritin
        ("mcg/L", "ug/L", 1.0),
        ("{copies}/mL", "copies/mL", 1.0),
        ("copies/L", "copies/mL", 1e-3),
        ("g", "mg", 1000.0),
        ("60 min", "day", 1 / 24),  # exact: the same float as 3600 / 86400
        ("90 min", "day", 90 / 1440),
    ],
)
def test_unit_conversions(unit: str, target: str, factor: float) -> None:
    assert unit_factor(unit, target) == factor


def test_ucum_translation() -> None:
    assert ucum_to_pint("10*9/L") == "1e9/L"
    assert ucum_to_pint("{copies}/mL") == "1/mL"
    assert ucum_to_pint("10*-3") == "1e-3"
    assert ucum_to_pint("{ratio}") == "1"
    assert ucum_to_pint("µg/L") == "ug/L"


def test_impossible_and_unreadable_units_name_both_units() -> None:
    with pytest.raises(PatientDataError, match=r"impossible unit 'kg'.*'pg/mL'"):
        CATALOGUE["il6"].factor("kg")
    with pytest.raises(PatientDataError, match=r"\[mass\] / \[length\]\^3"):
        CATALOGUE["crp"].factor("mol")
    with pytest.raises(PatientDataError, match="cannot read the unit"):
        unit_factor("[IU]", "mg")
    with pytest.raises(PatientDataError, match="no unit"):
        unit_factor(" ", "mg")


def test_a_catalogue_rejects_a_code_used_twice() -> None:
    a = Quantity("a", "A", ("1-1",), "pg/mL", "pg/mL")
    b = Quantity("b", "B", ("1-1",), "pg/mL", "pg/mL")
    with pytest.raises(InvalidInputError, match="'1-1' names both"):
        QuantityCatalogue((a, b))
    with pytest.raises(InvalidInputError, match="lower-case"):
        Quantity("IL-6", "x", ("1-1",), "pg/mL", "pg/mL")


def test_viral_pneumonia_declares_its_observables() -> None:
    from immunetwin.compose.diseases import viral_pneumonia

    observables = viral_pneumonia_observables()
    species = {s.id for s in viral_pneumonia().model.species}
    assert {m.observable for m in observables.mappings} <= species
    assert observables.observable("il6") == "il6_IL6"
    assert observables.factor("lymphocytes") == 1.0
    assert set(observables.quantities) <= set(CATALOGUE.keys)


def test_an_observable_map_converts_and_reports_every_problem() -> None:
    scaled = ObservableMap("m", (ObservableMapping("V", "sars_cov_2_rna", "1e6 copies/mL"),))
    assert scaled.factor("sars_cov_2_rna") == pytest.approx(1e-6, rel=1e-15)
    with pytest.raises(InvalidInputError, match="observes no 'crp'"):
        scaled.factor("crp")
    bad = (
        ObservableMapping("x", "nope", "pg/mL"),
        ObservableMapping("y", "il6", "kg"),
        ObservableMapping("y", "crp", "mg/L"),
    )
    with pytest.raises(InvalidInputError) as caught:
        ObservableMap("bad", bad)
    message = str(caught.value)
    assert "unknown quantity 'nope'" in message
    assert "impossible unit" in message
    assert "observable 'y' is mapped twice" in message
