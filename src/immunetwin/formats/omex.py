"""COMBINE archives (OMEX): one model, its SED-ML time courses and metadata in one zip.

Archives are written with libcombine, so the manifest and the OMEX metadata are what other
tools expect. They are read with ``zipfile`` under explicit limits (member count, member
size, total size, compression ratio, member names) before libcombine parses the manifest:
an archive comes from outside and may be truncated, a zip bomb or carry ``../`` names.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

import libcombine
import libsbml

from immunetwin.errors import ArchiveError, InvalidInputError
from immunetwin.formats._antimony import read_antimony
from immunetwin.formats._sbml import read_sbml_string
from immunetwin.formats._sbml_write import to_sbml_string
from immunetwin.formats.sedml import SBML_L3V2_NS, TimeCourse, read_sedml, write_sedml
from immunetwin.ir import Model

__all__ = [
    "ANTIMONY_LOCATION",
    "SBML_LOCATION",
    "SEDML_LOCATION",
    "OmexArchive",
    "OmexEntry",
    "read_omex",
    "write_omex",
]

ModelFormat = Literal["sbml", "antimony"]

SBML_FORMAT = "http://identifiers.org/combine.specifications/sbml"
SEDML_FORMAT = "http://identifiers.org/combine.specifications/sed-ml"
OMEX_FORMAT = "http://identifiers.org/combine.specifications/omex"
METADATA_FORMAT = "http://identifiers.org/combine.specifications/omex-metadata"
TEXT_FORMAT = "http://purl.org/NET/mediatypes/text/plain"
SBML_LOCATION = "model.xml"
ANTIMONY_LOCATION = "model.ant"
SEDML_LOCATION = "simulation.sedml"
_MANIFEST = "manifest.xml"
_ANTIMONY_SUFFIXES = (".ant", ".antimony")

_MAX_ARCHIVE_BYTES = 500 * 1024 * 1024
_MAX_MEMBERS = 10_000
_MAX_MEMBER_BYTES = 200 * 1024 * 1024  # as for a single SBML file
_MAX_TOTAL_BYTES = 1024 * 1024 * 1024
_MAX_RATIO = 200  # deflate rarely beats ~20x on models; bombs reach 1000x
_METADATA_KEYS = ("description", "creators")
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_DC = "{http://purl.org/dc/terms/}"
_VCARD = "{http://www.w3.org/2006/vcard/ns#}"


@dataclass(frozen=True)
class OmexEntry:
    """One manifest line: where a file is, what format it has, whether it is the master."""

    location: str
    format: str
    master: bool = False


@dataclass(frozen=True)
class OmexArchive:
    """What ``read_omex`` found: the model (IR and text), its time courses and metadata.

    ``notes`` says which choices were made (e.g. which of several models was taken).
    """

    model: Model
    model_text: str
    model_format: ModelFormat
    model_location: str
    time_courses: tuple[TimeCourse, ...]
    description: str
    creators: tuple[str, ...]
    entries: tuple[OmexEntry, ...]
    notes: tuple[str, ...] = ()


def write_omex(
    path: str | os.PathLike[str],
    model_text: str,
    *,
    model_format: ModelFormat = "sbml",
    time_courses: Sequence[TimeCourse] = (),
    metadata: Mapping[str, object] | None = None,
    extra_files: Mapping[str, str | bytes] | None = None,
) -> None:
    """Write a COMBINE archive holding ``model_text`` and its time courses as SED-ML.

    An Antimony model is stored as ``model.ant`` together with its SBML translation
    ``model.xml``, so that tools without Antimony can run it; SED-ML always points at the
    SBML (``TimeCourse.model_source`` must be ``"model.xml"``). The SED-ML is the master
    file when there is one, else the model. ``metadata`` may hold ``description`` (text) and
    ``creators`` (names, or mappings with ``given_name``, ``family_name``, ``email``,
    ``organization``).
    """
    if model_format == "sbml":
        model = read_sbml_string(model_text, origin="model_text")
        sbml_text = model_text
    elif model_format == "antimony":
        model = read_antimony(model_text if "\n" in model_text else model_text + "\n")
        sbml_text = to_sbml_string(model)
    else:
        raise InvalidInputError(f"model_format is '{model_format}'; expected 'sbml' or 'antimony'")
    for course in time_courses:
        if course.model_source != SBML_LOCATION:
            raise InvalidInputError(
                f"a time course runs model_source '{course.model_source}', but the archive "
                f"stores the model as '{SBML_LOCATION}'; build it with "
                f"model_source='{SBML_LOCATION}'"
            )
    sedml = (
        write_sedml(time_courses, model, sbml_namespace=_sbml_namespace(sbml_text))
        if time_courses
        else ""
    )
    archive = libcombine.CombineArchive()
    is_antimony = model_format == "antimony"
    _add(
        archive,
        ANTIMONY_LOCATION if is_antimony else SBML_LOCATION,
        model_text,
        TEXT_FORMAT if is_antimony else SBML_FORMAT,
        not sedml,
    )
    if is_antimony:
        _add(archive, SBML_LOCATION, sbml_text, SBML_FORMAT, False)
    if sedml:
        _add(archive, SEDML_LOCATION, sedml, SEDML_FORMAT, True)
    ours = {ANTIMONY_LOCATION, SBML_LOCATION, SEDML_LOCATION, _MANIFEST, "metadata.rdf"}
    with tempfile.TemporaryDirectory() as scratch:
        for n, (location, content) in enumerate((extra_files or {}).items()):
            clean = _safe_name(location, "extra_files")
            if clean in ours:
                raise InvalidInputError(
                    f"extra file '{location}' would replace the archive's own '{clean}'; "
                    "give it another name"
                )
            source = Path(scratch) / f"extra{n}"
            source.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
            guessed = libcombine.KnownFormats.guessFormat(clean) or TEXT_FORMAT
            if not archive.addFile(str(source), clean, guessed, False):
                raise ArchiveError(f"libcombine could not add extra file '{location}'")
        if metadata:
            archive.addMetadata(".", _description(metadata))
        content = archive.getManifest().createContent()  # the archive itself, as OMEX asks
        content.setLocation(".")
        content.setFormat(OMEX_FORMAT)
        content.setMaster(False)
        _write(archive, Path(path))


def read_omex(path: str | os.PathLike[str]) -> OmexArchive:
    """Read a COMBINE archive: its model, the SED-ML time courses on it, and metadata.

    With several models the one the SED-ML runs is taken, else the master, else the only
    one; ``notes`` says which. Raises ``ArchiveError`` for a broken archive or SED-ML and
    ``ModelReadError``/``InvalidModelError`` for a model inside that cannot be read.
    """
    source = Path(path)
    members = _members(source)
    entries = _manifest(source, members)
    notes: list[str] = []
    models = [e for e in entries if _kind(e) in ("sbml", "antimony")]
    sedmls = [e for e in entries if _kind(e) == "sedml"]
    if not models:
        listed = ", ".join(f"{e.location} ({e.format})" for e in entries) or "nothing"
        raise ArchiveError(
            f"{source} holds no model: expected an SBML (format {SBML_FORMAT}) or Antimony "
            f"entry in the manifest, found {listed}"
        )
    courses: tuple[TimeCourse, ...] = ()
    sedml_entry = None
    if sedmls:
        sedml_entry = next((e for e in sedmls if e.master), sedmls[0])
        if len(sedmls) > 1:
            notes.append(f"took SED-ML '{sedml_entry.location}' of {len(sedmls)}")
        courses = _resolved(source, sedml_entry, members)
    chosen = _choose_model(source, models, courses, notes)
    model_format: ModelFormat = "antimony" if _kind(chosen) == "antimony" else "sbml"
    twin = _antimony_twin(chosen, models)
    if twin is not None:  # we wrote the SBML as a translation: the Antimony is the source
        notes.append(f"read '{twin.location}', of which '{chosen.location}' is the SBML")
        chosen, model_format = twin, "antimony"
    origin = f"{source}!{chosen.location}"
    text = _text(members[chosen.location], origin)
    if model_format == "sbml":
        model = read_sbml_string(text, origin=origin)
    else:
        model = read_antimony(text if "\n" in text else text + "\n")
    if sedml_entry is not None:
        # read again against the model: checks every id and converts species units
        checked = read_sedml(
            members[sedml_entry.location], model, origin=f"{source}!{sedml_entry.location}"
        )
        courses = tuple(
            dataclasses.replace(c, model_source=r.model_source)
            for c, r in zip(checked, courses, strict=True)
        )
    description, creators = _metadata(members, entries, notes)
    return OmexArchive(
        model=model,
        model_text=text,
        model_format=model_format,
        model_location=chosen.location,
        time_courses=courses,
        description=description,
        creators=creators,
        entries=tuple(entries),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- writing


def _add(
    archive: libcombine.CombineArchive, location: str, text: str, fmt: str, master: bool
) -> None:
    if not archive.addFileFromString(text, location, fmt, master):
        raise ArchiveError(f"libcombine could not add '{location}' to the archive")


def _sbml_namespace(text: str) -> str:
    document = libsbml.readSBMLFromString(text)
    namespaces = document.getSBMLNamespaces() if document is not None else None
    uri = namespaces.getURI() if namespaces is not None else ""
    return str(uri) or SBML_L3V2_NS


def _description(metadata: Mapping[str, object]) -> libcombine.OmexDescription:
    unknown = sorted(set(metadata) - set(_METADATA_KEYS))
    if unknown:
        raise InvalidInputError(
            f"unknown metadata keys {unknown}; expected some of {list(_METADATA_KEYS)}"
        )
    description = libcombine.OmexDescription()
    description.setAbout(".")
    text = metadata.get("description", "")
    if not isinstance(text, str):
        raise InvalidInputError(f"metadata['description'] must be text, got {type(text)}")
    if text:
        description.setDescription(escape(text))  # libcombine writes it unescaped
    creators = metadata.get("creators", ())
    if isinstance(creators, (str, Mapping)) or not isinstance(creators, Sequence):
        raise InvalidInputError(
            "metadata['creators'] must be a list of names or of mappings with given_name, "
            f"family_name, email, organization; got {creators!r}"
        )
    for creator in creators:
        description.addCreator(_vcard(creator))
    description.setCreated(description.getCurrentDateAndTime())
    return description


def _vcard(creator: object) -> libcombine.VCard:
    card = libcombine.VCard()
    if isinstance(creator, str):
        given, _, family = creator.strip().rpartition(" ")
        card.setGivenName(escape(given))
        card.setFamilyName(escape(family))
        return card
    if not isinstance(creator, Mapping):
        raise InvalidInputError(f"a creator must be a name or a mapping, got {creator!r}")
    fields = {
        "given_name": card.setGivenName,
        "family_name": card.setFamilyName,
        "email": card.setEmail,
        "organization": card.setOrganization,
    }
    for key, value in creator.items():
        if key not in fields:
            raise InvalidInputError(
                f"unknown creator field '{key}'; expected some of {sorted(fields)}"
            )
        fields[key](escape(str(value)))
    return card


def _write(archive: libcombine.CombineArchive, target: Path) -> None:
    """Write beside ``target`` and rename, so a failed write leaves no half archive."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(suffix=".omex", dir=target.parent)
    os.close(handle)
    os.unlink(scratch)  # libcombine refuses nothing, but must create the file itself
    try:
        if not archive.writeToFile(scratch):
            raise ArchiveError(f"libcombine could not write the archive to '{target}'")
        os.replace(scratch, target)
    finally:
        archive.cleanUp()
        if os.path.exists(scratch):
            os.unlink(scratch)


# --------------------------------------------------------------------------- reading


def _safe_name(name: str, origin: str) -> str:
    """``name`` as a clean relative POSIX path; refuse absolute, ``..`` and odd names."""
    clean = posixpath.normpath(name.replace("\\", "/")) if name else ""
    parts = clean.split("/")
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or (len(name) > 1 and name[1] == ":")
        or ".." in parts
        or clean in (".", "")
    ):
        raise ArchiveError(
            f"{origin}: member name '{name}' is not a safe relative path (absolute, '..', "
            "drive or backslash); refusing the archive"
        )
    return clean


def _members(source: Path) -> dict[str, bytes]:
    """Every member's bytes by clean name, read under the size and name limits."""
    if not source.is_file():
        raise ArchiveError(f"no archive at '{source}': expected an existing .omex file")
    size = source.stat().st_size
    if size > _MAX_ARCHIVE_BYTES:
        raise ArchiveError(
            f"'{source}' is {size} bytes; archives above {_MAX_ARCHIVE_BYTES} are refused"
        )
    try:
        with zipfile.ZipFile(source) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            if len(infos) > _MAX_MEMBERS:
                raise ArchiveError(
                    f"{source} has {len(infos)} members; at most {_MAX_MEMBERS} are accepted"
                )
            members: dict[str, bytes] = {}
            total = 0
            for info in infos:
                name = _safe_name(info.filename, str(source))
                declared = max(info.file_size, 0)
                if declared > _MAX_MEMBER_BYTES or (
                    declared > 1024 * 1024 and declared > _MAX_RATIO * max(info.compress_size, 1)
                ):
                    raise ArchiveError(
                        f"{source}: member '{name}' unpacks to {declared} bytes from "
                        f"{info.compress_size}; refusing it as too large or a zip bomb"
                    )
                with archive.open(info) as stream:  # the header may lie: cap the real read
                    data = stream.read(_MAX_MEMBER_BYTES + 1)
                total += len(data)
                if len(data) > _MAX_MEMBER_BYTES or total > _MAX_TOTAL_BYTES:
                    raise ArchiveError(
                        f"{source}: member '{name}' unpacks past the size limit "
                        f"({_MAX_MEMBER_BYTES} bytes a member, {_MAX_TOTAL_BYTES} in all)"
                    )
                members[name] = data
            return members
    except ArchiveError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise ArchiveError(
            f"'{source}' is not a readable zip archive ({type(exc).__name__}: {exc}); a "
            "COMBINE archive (.omex) is a zip file: re-download or re-export it"
        ) from None


def _manifest(source: Path, members: Mapping[str, bytes]) -> list[OmexEntry]:
    if _MANIFEST not in members:
        raise ArchiveError(
            f"{source} has no {_MANIFEST}: a COMBINE archive lists its files there; found "
            f"{', '.join(sorted(members)[:10]) or 'no files'}"
        )
    text = _text(members[_MANIFEST], f"{source}!{_MANIFEST}")
    manifest = libcombine.readOMEXFromString(text)
    errors = [
        manifest.getError(i).getMessage().strip()
        for i in range(manifest.getNumErrors())
        if manifest.getError(i).getSeverity() >= libcombine.LIBCOMBINE_SEV_ERROR
    ]
    if errors:
        raise ArchiveError(
            f"{source}: {_MANIFEST} is not a valid OMEX manifest: {'; '.join(errors[:3])}"
        )
    entries = []
    for i in range(manifest.getNumContents()):
        content = manifest.getContent(i)
        location = content.getLocation()
        if location in (".", "./", "/"):
            continue
        clean = _safe_name(location.removeprefix("./").lstrip("/"), f"{source}!{_MANIFEST}")
        if clean == _MANIFEST:
            continue
        if clean not in members:
            raise ArchiveError(
                f"{source}: {_MANIFEST} lists '{location}', but the archive has no such "
                f"file (it has {', '.join(sorted(members)[:10])}); re-export the archive"
            )
        entries.append(OmexEntry(clean, content.getFormat(), bool(content.getMaster())))
    return entries


def _kind(entry: OmexEntry) -> str:
    fmt = entry.format.lower()
    if fmt.startswith(SBML_FORMAT):
        return "sbml"
    if fmt.startswith(SEDML_FORMAT):
        return "sedml"
    if "antimony" in fmt or (
        fmt.startswith("http://purl.org/net/mediatypes/text/")
        and entry.location.lower().endswith(_ANTIMONY_SUFFIXES)
    ):
        return "antimony"
    if fmt.startswith(METADATA_FORMAT):
        return "metadata"
    return "other"


def _text(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{origin} is not UTF-8 text ({exc})") from None


def _relative(sedml_location: str, model_source: str) -> str:
    """A SED-ML model source, resolved against the SED-ML file's folder."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(sedml_location), model_source))


def _resolved(
    source: Path, entry: OmexEntry, members: Mapping[str, bytes]
) -> tuple[TimeCourse, ...]:
    origin = f"{source}!{entry.location}"
    courses = read_sedml(members[entry.location], origin=origin)
    for course in courses:
        location = _relative(entry.location, course.model_source)
        if location not in members:
            raise ArchiveError(
                f"{origin} runs model '{course.model_source}', which is not in the archive "
                f"(it has {', '.join(sorted(members)[:10])}); add the model file or fix the "
                "SED-ML model source"
            )
    resolved = tuple(
        dataclasses.replace(c, model_source=_relative(entry.location, c.model_source))
        for c in courses
    )
    if len({c.model_source for c in resolved}) > 1:
        raise ArchiveError(
            f"{origin} runs several models ({sorted({c.model_source for c in resolved})}); "
            "an archive for immunetwin holds time courses on one model: split it"
        )
    return resolved


def _choose_model(
    source: Path, models: list[OmexEntry], courses: Sequence[TimeCourse], notes: list[str]
) -> OmexEntry:
    by_location = {e.location: e for e in models}
    if courses:
        wanted = courses[0].model_source
        if wanted not in by_location:
            raise ArchiveError(
                f"{source}: the SED-ML runs '{wanted}', which the manifest does not list as "
                f"a model (models: {', '.join(by_location)}); fix the manifest format"
            )
        if len(models) > 1:
            notes.append(f"took model '{wanted}', the one the SED-ML runs")
        return by_location[wanted]
    distinct = [e for e in models if _antimony_twin(e, models) is None]
    if len(distinct) == 1:
        return distinct[0]
    masters = [e for e in distinct if e.master]
    if len(masters) == 1:
        notes.append(f"took model '{masters[0].location}', the master of {len(distinct)}")
        return masters[0]
    raise ArchiveError(
        f"{source} holds {len(distinct)} models ({', '.join(e.location for e in distinct)}) "
        "and neither a SED-ML file nor a single master says which to use; mark one as "
        "master in the manifest"
    )


def _antimony_twin(entry: OmexEntry, models: Sequence[OmexEntry]) -> OmexEntry | None:
    """The Antimony entry that ``entry`` (an SBML file) was translated from, if any."""
    if _kind(entry) != "sbml":
        return None
    stem = posixpath.splitext(entry.location)[0]
    return next(
        (e for e in models if _kind(e) == "antimony" and posixpath.splitext(e.location)[0] == stem),
        None,
    )


def _metadata(
    members: Mapping[str, bytes], entries: Sequence[OmexEntry], notes: list[str]
) -> tuple[str, tuple[str, ...]]:
    """Description and creators of the archive itself ('.'), from its OMEX metadata."""
    for entry in entries:
        if _kind(entry) != "metadata":
            continue
        try:
            root = ET.fromstring(members[entry.location])
        except ET.ParseError as exc:
            notes.append(f"ignored unreadable metadata '{entry.location}': {exc}")
            continue
        for item in root.iter(f"{_RDF}Description"):
            about = item.get(f"{_RDF}about", "")
            if about not in (".", "./", "") and not about.endswith(".omex"):
                continue
            text = item.findtext(f"{_DC}description", "").strip()
            creators = tuple(
                " ".join(
                    part
                    for part in (
                        creator.findtext(f".//{_VCARD}given-name", "").strip(),
                        creator.findtext(f".//{_VCARD}family-name", "").strip(),
                    )
                    if part
                )
                for creator in item.iter(f"{_DC}creator")
            )
            return text, tuple(c for c in creators if c)
    return "", ()
