"""The model catalogue: curated, annotated, searchable published immune models.

``Catalog.open()`` gives the whole catalogue (created and seeded with the shipped models on
first use); ``Entry`` is the metadata record of one model version.
"""

from immunetwin.catalog.catalog import Catalog as Catalog
from immunetwin.catalog.catalog import CheckReport as CheckReport
from immunetwin.catalog.catalog import ExportFormat as ExportFormat
from immunetwin.catalog.catalog import ImportOutcome as ImportOutcome
from immunetwin.catalog.catalog import resolve_model as resolve_model
from immunetwin.catalog.entry import SCHEMA_VERSION as SCHEMA_VERSION
from immunetwin.catalog.entry import Entry as Entry

__all__ = [
    "SCHEMA_VERSION",
    "Catalog",
    "CheckReport",
    "Entry",
    "ExportFormat",
    "ImportOutcome",
    "resolve_model",
]
