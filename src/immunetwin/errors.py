"""The one error hierarchy of immunetwin.

Every error says what was expected, what was found and how to fix it. Each class also inherits
the matching built-in, so generic handlers (``except ValueError``) still catch it.

::

    ImmuneTwinError
    ├── InvalidModelError (ValueError)          a model file or IR that is malformed
    │   ├── ModelReadError                      a file that cannot be parsed at all
    │   └── UnknownIdentifierError (KeyError)   math or a command names an id that does not exist
    ├── UnsupportedFeatureError (NotImplementedError)
    │                                           a valid construct the engine does not handle
    ├── SimulationError (RuntimeError)          the integrator or event loop failed
    ├── SteadyStateError (RuntimeError)         no steady state was found
    ├── InvalidInputError (ValueError)          bad arguments: tables, times, tolerances
    │   ├── ArchiveError                        a COMBINE/OMEX archive or SED-ML that is broken
    │   ├── ProblemError                        a calibration problem (PEtab tables) that is
    │   │                                       broken; names the file, row and column
    │   └── PatientDataError                    patient data (CSV, FHIR) that cannot become a
    │                                           timeline; names the source, row and field
    ├── CompositionError (ValueError)           modules cannot be assembled (every problem listed)
    └── CatalogError                            the model catalogue refused an operation
        ├── DuplicateEntryError (ValueError)    an id or alias that is already taken
        └── CatalogStorageError (RuntimeError)  the database cannot be opened or migrated

Warnings: ``ConvergenceWarning`` (numerical trouble that did not stop the run) and
``UnitWarning``.
"""

from __future__ import annotations


class ImmuneTwinError(Exception):
    """Root of every error raised on purpose by immunetwin."""


class InvalidModelError(ImmuneTwinError, ValueError):
    """A model (file or IR) is malformed."""


class ModelReadError(InvalidModelError):
    """A model file could not be read or parsed."""


class UnknownIdentifierError(InvalidModelError, KeyError):
    """An identifier was used that the model does not define."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class UnsupportedFeatureError(ImmuneTwinError, NotImplementedError):
    """A valid model construct that the engine does not support.

    ``feature`` names the construct and ``element`` the id of the element that uses it.
    """

    def __init__(self, feature: str, element: str, hint: str = "") -> None:
        self.feature = feature
        self.element = element
        message = f"unsupported SBML feature '{feature}' used by element '{element}'"
        if hint:
            message += f": {hint}"
        super().__init__(message)


class SimulationError(ImmuneTwinError, RuntimeError):
    """Integration or event handling failed."""


class SteadyStateError(ImmuneTwinError, RuntimeError):
    """No steady state could be found."""


class InvalidInputError(ImmuneTwinError, ValueError):
    """An argument (time grid, tolerance, table, override) is invalid."""


class ArchiveError(InvalidInputError):
    """A COMBINE archive (OMEX) or SED-ML document is broken or lacks what is needed."""


class ProblemError(InvalidInputError):
    """A calibration problem (PEtab YAML or tables) is malformed.

    ``file`` is the file at fault, ``row`` its line number (the header is line 1, the first
    data row line 2) and ``column`` the column name; each is ``None`` where it does not apply.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = [part for part in (file, f"line {row}" if row is not None else None) if part]
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class PatientDataError(InvalidInputError):
    """Patient data (a CSV table, a FHIR bundle, or data merged into a timeline) is invalid.

    ``source`` is the file (or other origin) at fault; ``row`` its CSV line number (as a text
    editor counts it, comment lines included) or, when ``resource`` is set, the 1-based bundle
    entry of that FHIR resource (``"Observation/il6-1"``); ``field`` the column or FHIR element
    path. Each is ``None`` where it does not apply.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
        resource: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.row = row
        self.field = field
        self.resource = resource
        where = [source] if source else []
        if resource is not None:
            where.append(f"entry {row} ({resource})" if row is not None else resource)
        elif row is not None:
            where.append(f"line {row}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)

    def located(
        self,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
        resource: str | None = None,
    ) -> PatientDataError:
        """The same error with a location; the arguments given replace the current ones."""
        return PatientDataError(
            self.message,
            source=source if source is not None else self.source,
            row=row if row is not None else self.row,
            field=field if field is not None else self.field,
            resource=resource if resource is not None else self.resource,
        )


class CompositionError(ImmuneTwinError, ValueError):
    """Modules cannot be assembled as wired; ``problems`` lists every one found, each naming
    the module and port involved."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{count} composition problem{'s' if count != 1 else ''}:\n{lines}")


class CatalogError(ImmuneTwinError):
    """The catalogue refused an operation; the database is left unchanged."""


class DuplicateEntryError(CatalogError, ValueError):
    """An import would reuse an id or alias that another model already has."""


class CatalogStorageError(CatalogError, RuntimeError):
    """The catalogue database cannot be opened, created or migrated."""


class ConvergenceWarning(UserWarning):
    """A numerical method finished but with a reduced guarantee."""


class UnitWarning(UserWarning):
    """Units are missing or inconsistent but the run went on."""


__all__ = [
    "ArchiveError",
    "CatalogError",
    "CatalogStorageError",
    "CompositionError",
    "DuplicateEntryError",
    "ConvergenceWarning",
    "ImmuneTwinError",
    "InvalidInputError",
    "InvalidModelError",
    "ModelReadError",
    "PatientDataError",
    "ProblemError",
    "SimulationError",
    "SteadyStateError",
    "UnitWarning",
    "UnknownIdentifierError",
    "UnsupportedFeatureError",
]
