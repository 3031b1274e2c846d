"""The twin loop: patient data (CSV, FHIR R4) as immutable timelines in the units of a
catalogue of clinical quantities (LOINC codes); twins of a patient created from a population
prior and the first data (``assimilate.calibrate_ensemble``), updated as data arrive
(``assimilate.assimilate``: EnKF or particle filter), forecast (``forecast.forecast``), with
regimens compared (``therapy``) and every step kept in the twin record (``store``,
``service.TwinService``)."""

from immunetwin.twin.fhir import fhir_bundle as fhir_bundle
from immunetwin.twin.fhir import read_fhir as read_fhir
from immunetwin.twin.fhir import read_fhir_bundle as read_fhir_bundle
from immunetwin.twin.fhir import write_fhir as write_fhir
from immunetwin.twin.model import TwinModel as TwinModel
from immunetwin.twin.model import viral_pneumonia_twin as viral_pneumonia_twin
from immunetwin.twin.patient import DRUGS as DRUGS
from immunetwin.twin.patient import Intervention as Intervention
from immunetwin.twin.patient import Observation as Observation
from immunetwin.twin.patient import PatientTimeline as PatientTimeline
from immunetwin.twin.patient import ReferenceEvent as ReferenceEvent
from immunetwin.twin.patient import Route as Route
from immunetwin.twin.patient import read_csv as read_csv
from immunetwin.twin.patient import write_csv as write_csv
from immunetwin.twin.quantities import CATALOGUE as CATALOGUE
from immunetwin.twin.quantities import ObservableMap as ObservableMap
from immunetwin.twin.quantities import ObservableMapping as ObservableMapping
from immunetwin.twin.quantities import Quantity as Quantity
from immunetwin.twin.quantities import QuantityCatalogue as QuantityCatalogue
from immunetwin.twin.quantities import unit_factor as unit_factor
from immunetwin.twin.quantities import viral_pneumonia_observables as viral_pneumonia_observables

__all__ = [
    "CATALOGUE",
    "DRUGS",
    "Intervention",
    "ObservableMap",
    "ObservableMapping",
    "Observation",
    "PatientTimeline",
    "Quantity",
    "QuantityCatalogue",
    "ReferenceEvent",
    "TwinModel",
    "Route",
    "fhir_bundle",
    "read_csv",
    "read_fhir",
    "read_fhir_bundle",
    "unit_factor",
    "viral_pneumonia_observables",
    "viral_pneumonia_twin",
    "write_csv",
    "write_fhir",
]
