"""The twin record: every version of every twin, its forecasts, recommendations and their
approvals, in one database (SQLite by default, any SQLAlchemy URL such as PostgreSQL).

Nothing is updated in place: a twin is a chain of versions, each holding the ensemble, the
data and method that produced it, the time and the code version; forecasts and
recommendations point at the version they came from; an approval is its own row (who, when).
Every write is one transaction, so a failure leaves the record as it was.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from platformdirs import user_data_dir

from immunetwin.errors import CatalogStorageError, InvalidInputError, UnknownIdentifierError
from immunetwin.twin.ensemble import Ensemble

SCHEMA_VERSION = 1
_meta = sa.MetaData()
twins = sa.Table(
    "twins",
    _meta,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("patient", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)
versions = sa.Table(
    "twin_versions",
    _meta,
    sa.Column("twin", sa.String(200), sa.ForeignKey("twins.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("code_version", sa.String(80), nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),  # JSON: data, regimens, settings
    sa.Column("summary", sa.Text, nullable=False),  # JSON: posterior summary
    sa.Column("ensemble", sa.LargeBinary, nullable=False),  # npz
)


def _derived(name: str) -> sa.Table:
    """A table of JSON documents computed from one twin version (forecasts, recommendations)."""
    return sa.Table(
        name,
        _meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("twin", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )


forecasts = _derived("twin_forecasts")
recommendations = _derived("twin_recommendations")
approvals = sa.Table(
    "twin_approvals",
    _meta,
    sa.Column("recommendation", sa.Integer, primary_key=True),
    sa.Column("approved_by", sa.String(200), nullable=False),
    sa.Column("approved_at", sa.String(40), nullable=False),
)
schema = sa.Table("twin_schema", _meta, sa.Column("version", sa.Integer, primary_key=True))


def twin_url(configured: str | os.PathLike[str] | None = None) -> str:
    """``configured`` (--db), else IMMUNETWIN_TWIN_DB, as a URL or a SQLite file path; by
    default ``twins.sqlite`` in the user's data folder."""
    configured = str(configured or os.environ.get("IMMUNETWIN_TWIN_DB", "")).strip()
    if configured:
        return configured if "://" in configured else f"sqlite:///{Path(configured).resolve()}"
    return f"sqlite:///{Path(user_data_dir('immunetwin')) / 'twins.sqlite'}"


def code_version() -> str:
    try:
        return f"immunetwin {metadata.version('immunetwin')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "immunetwin (source)"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TwinVersion:
    twin: str
    version: int
    created_at: str
    method: str
    code_version: str
    inputs: dict[str, Any]
    summary: dict[str, Any]
    ensemble: Ensemble


def _pack(ensemble: Ensemble) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **ensemble.to_arrays())  # type: ignore[arg-type]
    return buffer.getvalue()


def _unpack(blob: bytes) -> Ensemble:
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        return Ensemble.from_arrays({k: arrays[k] for k in arrays.files})


class TwinStore:
    """The twin record in one database; open with ``TwinStore.open(url)``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | os.PathLike[str] | None = None) -> TwinStore:
        url = twin_url(url)
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                _meta.create_all(conn)
                found = conn.execute(sa.select(schema.c.version)).scalar()
                if found is None:
                    conn.execute(schema.insert().values(version=SCHEMA_VERSION))
                elif found != SCHEMA_VERSION:
                    raise CatalogStorageError(
                        f"the twin database has schema version {found}, this immunetwin "
                        f"expects {SCHEMA_VERSION}; use a matching version or a new --db"
                    )
        except ImportError as exc:
            raise CatalogStorageError(
                f"cannot open the twin database: its driver is not installed ({exc}); for "
                "PostgreSQL install 'immunetwin[postgres]'"
            ) from None
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise CatalogStorageError(
                f"cannot open the twin database '{url}': {type(exc).__name__}: {exc}; "
                "expected a writable database (check --db / IMMUNETWIN_TWIN_DB)"
            ) from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise CatalogStorageError(
                f"the twin database refused the operation: {type(exc).__name__}: {exc}"
            ) from exc

    # --- twins and versions -----------------------------------------------------------------
    def create(
        self,
        name: str,
        model: str,
        patient: str,
        ensemble: Ensemble,
        *,
        method: str,
        inputs: dict[str, Any],
        summary: dict[str, Any],
    ) -> TwinVersion:
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise InvalidInputError(f"twin name must be letters, digits, '-' or '_'; got {name!r}")
        with self._transaction() as conn:
            if conn.execute(sa.select(twins.c.name).where(twins.c.name == name)).first():
                raise InvalidInputError(
                    f"a twin named '{name}' exists already; choose another name or "
                    f"assimilate new data into it (immunetwin twin assimilate {name})"
                )
            conn.execute(
                twins.insert().values(name=name, model=model, patient=patient, created_at=now())
            )
            return self._add_version(conn, name, 1, ensemble, method, inputs, summary)

    def add_version(
        self,
        name: str,
        ensemble: Ensemble,
        *,
        method: str,
        inputs: dict[str, Any],
        summary: dict[str, Any],
    ) -> TwinVersion:
        with self._transaction() as conn:
            latest = self._latest_number(conn, name)
            return self._add_version(conn, name, latest + 1, ensemble, method, inputs, summary)

    def _add_version(
        self,
        conn: sa.Connection,
        name: str,
        number: int,
        ensemble: Ensemble,
        method: str,
        inputs: dict[str, Any],
        summary: dict[str, Any],
    ) -> TwinVersion:
        created, version_of_code = now(), code_version()
        row = {
            "twin": name,
            "version": number,
            "created_at": created,
            "method": method,
            "code_version": version_of_code,
            "inputs": json.dumps(inputs, sort_keys=True),
            "summary": json.dumps(summary, sort_keys=True),
            "ensemble": _pack(ensemble),
        }
        conn.execute(versions.insert().values(**row))
        return TwinVersion(
            name, number, created, method, version_of_code, inputs, summary, ensemble
        )

    def _latest_number(self, conn: sa.Connection, name: str) -> int:
        found = conn.execute(
            sa.select(sa.func.max(versions.c.version)).where(versions.c.twin == name)
        ).scalar()
        if found is None:
            known = [r[0] for r in conn.execute(sa.select(twins.c.name)).all()]
            raise UnknownIdentifierError(
                f"no twin named '{name}'; known twins: {', '.join(known) or 'none'} "
                "(create one with 'immunetwin twin create')"
            )
        return int(found)

    def twin(self, name: str) -> dict[str, str]:
        with self._transaction() as conn:
            row = conn.execute(sa.select(twins).where(twins.c.name == name)).mappings().first()
            if row is None:
                self._latest_number(conn, name)  # raises with the known names
            return dict(row) if row else {}

    def version(self, name: str, number: int | None = None) -> TwinVersion:
        with self._transaction() as conn:
            number = number or self._latest_number(conn, name)
            row = (
                conn.execute(
                    sa.select(versions).where(versions.c.twin == name, versions.c.version == number)
                )
                .mappings()
                .first()
            )
            if row is None:
                raise UnknownIdentifierError(f"twin '{name}' has no version {number}")
        return TwinVersion(
            name,
            number,
            row["created_at"],
            row["method"],
            row["code_version"],
            json.loads(row["inputs"]),
            json.loads(row["summary"]),
            _unpack(row["ensemble"]),
        )

    def names(self) -> list[dict[str, Any]]:
        with self._transaction() as conn:
            rows = conn.execute(sa.select(twins).order_by(twins.c.name)).mappings().all()
            out = []
            for row in rows:
                latest = self._latest_number(conn, row["name"])
                out.append({**dict(row), "versions": latest})
            return out

    # --- forecasts, recommendations, approvals --------------------------------------------
    def add_forecast(self, name: str, version: int, content: dict[str, Any]) -> int:
        return self._add_derived(forecasts, name, version, content)

    def _add_derived(
        self, table: sa.Table, name: str, version: int, content: dict[str, Any]
    ) -> int:
        with self._transaction() as conn:
            result = conn.execute(
                table.insert().values(
                    twin=name, version=version, created_at=now(), content=json.dumps(content)
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def latest_forecast(self, name: str) -> dict[str, Any] | None:
        with self._transaction() as conn:
            row = (
                conn.execute(
                    sa.select(forecasts)
                    .where(forecasts.c.twin == name)
                    .order_by(forecasts.c.id.desc())
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return {**dict(row), "content": json.loads(row["content"])}

    def add_recommendation(self, name: str, version: int, content: dict[str, Any]) -> int:
        return self._add_derived(recommendations, name, version, content)

    def recommendation(self, name: str, recommendation: int) -> dict[str, Any]:
        with self._transaction() as conn:
            row = (
                conn.execute(
                    sa.select(recommendations).where(
                        recommendations.c.id == recommendation, recommendations.c.twin == name
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise UnknownIdentifierError(
                f"twin '{name}' has no recommendation {recommendation}; see "
                f"'immunetwin twin history {name}'"
            )
        return {**dict(row), "content": json.loads(row["content"])}

    def approve(
        self,
        name: str,
        recommendation: int,
        by: str,
        *,
        new_version: tuple[Ensemble, str, dict[str, Any], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Record who approved ``recommendation`` and when; with ``new_version`` (ensemble,
        method, inputs, summary) also add the version whose record holds the approved doses,
        in the same transaction."""
        if not by.strip():
            raise InvalidInputError("an approval needs the approving person's name (--by)")
        with self._transaction() as conn:
            row = conn.execute(
                sa.select(recommendations).where(
                    recommendations.c.id == recommendation, recommendations.c.twin == name
                )
            ).first()
            if row is None:
                raise UnknownIdentifierError(
                    f"twin '{name}' has no recommendation {recommendation}; see "
                    f"'immunetwin twin history {name}'"
                )
            if conn.execute(
                sa.select(approvals).where(approvals.c.recommendation == recommendation)
            ).first():
                raise InvalidInputError(f"recommendation {recommendation} is already approved")
            at = now()
            conn.execute(
                approvals.insert().values(
                    recommendation=recommendation, approved_by=by.strip(), approved_at=at
                )
            )
            version = None
            if new_version is not None:
                ensemble, method, inputs, summary = new_version
                number = self._latest_number(conn, name) + 1
                version = self._add_version(conn, name, number, ensemble, method, inputs, summary)
        return {
            "recommendation": recommendation,
            "approved_by": by.strip(),
            "approved_at": at,
            "version": None if version is None else version.version,
        }

    def history(self, name: str) -> list[dict[str, Any]]:
        """Every event of a twin, oldest first: versions, forecasts, recommendations,
        approvals."""
        with self._transaction() as conn:
            self._latest_number(conn, name)
            events: list[dict[str, Any]] = []
            for row in conn.execute(
                sa.select(
                    versions.c.version,
                    versions.c.created_at,
                    versions.c.method,
                    versions.c.code_version,
                    versions.c.inputs,
                    versions.c.summary,
                ).where(versions.c.twin == name)
            ).mappings():
                inputs = json.loads(row["inputs"])
                events.append(
                    {
                        "event": "version",
                        "version": row["version"],
                        "at": row["created_at"],
                        "method": row["method"],
                        "code_version": row["code_version"],
                        "data": inputs.get("data_summary"),
                        "summary": json.loads(row["summary"]),
                    }
                )
            for row in conn.execute(
                sa.select(forecasts).where(forecasts.c.twin == name)
            ).mappings():
                content = json.loads(row["content"])
                events.append(
                    {
                        "event": "forecast",
                        "id": row["id"],
                        "version": row["version"],
                        "at": row["created_at"],
                        "horizon": content.get("horizon"),
                        "outcomes": content.get("outcomes"),
                        "alerts": content.get("alerts", []),
                    }
                )
            approved = {
                r["recommendation"]: r for r in conn.execute(sa.select(approvals)).mappings()
            }
            for row in conn.execute(
                sa.select(recommendations).where(recommendations.c.twin == name)
            ).mappings():
                events.append(
                    {
                        "event": "recommendation",
                        "id": row["id"],
                        "version": row["version"],
                        "at": row["created_at"],
                        "content": json.loads(row["content"]),
                        "approved_by": approved[row["id"]]["approved_by"]
                        if row["id"] in approved
                        else None,
                        "approved_at": approved[row["id"]]["approved_at"]
                        if row["id"] in approved
                        else None,
                    }
                )
        return sorted(events, key=lambda e: (e["at"], e["event"] != "version"))
