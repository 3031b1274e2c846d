"""Readable text for ``immunetwin models show`` (the JSON form is ``Entry.to_dict``)."""

from __future__ import annotations

from immunetwin.catalog.entry import Entry, Facet

_FACET_TITLES = {
    Facet.ORGANISM: "organism",
    Facet.PATHOGEN: "pathogens",
    Facet.CELL_TYPE: "cell types",
    Facet.MOLECULE: "molecules",
    Facet.PROCESS: "processes",
    Facet.DISEASE: "diseases",
}


def describe(entry: Entry, versions: list[int]) -> str:
    c = entry.citation
    lines = [
        f"{entry.id} ({entry.alias}), version {entry.version} of {max(versions, default=1)}",
        entry.title,
        "",
        "citation:   "
        + ", ".join(
            part
            for part in (
                c.authors_text(),
                str(c.year or ""),
                c.title,
                c.journal,
                f"doi:{c.doi}" if c.doi else "",
                f"pubmed:{c.pubmed}" if c.pubmed else "",
            )
            if part
        ),
        f"category:   {entry.category.value}   formalism: {entry.formalism.value}   "
        f"scale: {entry.scale.value}   time unit: {entry.time_unit or '(not declared)'}",
        f"status:     {entry.curation_status.value}",
    ]
    if entry.description:
        lines.append(f"about:      {entry.description}")
    for facet, title in _FACET_TITLES.items():
        terms = entry.terms_for(facet)
        if terms:
            shown = sorted({f"{t.label or '?'} [{t.accession}]" for t in terms})
            lines.append(f"{title + ':':<12}{'; '.join(shown[:12])}")
    report = entry.simulatability
    if report is not None:
        verdict = "yes" if report.simulates else f"no: {report.reason}"
        lines.append(f"simulates:  {verdict}")
        lines.append(
            f"agreement:  {report.agreement.value}"
            + (f" (max rel. error {report.max_rel_error:.2g})" if report.max_rel_error else "")
            + (f", horizon {report.horizon:g}" if report.horizon else "")
        )
        if report.features:
            lines.append(f"features:   {', '.join(report.features)}")
    for note in entry.curation_notes:
        lines.append(f"curation ({note.kind}): {note.text}")
    for r in entry.reproductions:
        lines.append(f"reproduces: [{r.status.value}] {r.description} — expected {r.expected}")
        if r.measured:
            lines.append(f"            measured {r.measured} ({r.test})")
    species = [q for q in entry.quantities if q.kind == "species"]
    if species:
        lines.append(
            f"species ({len(species)}): "
            + ", ".join(f"{q.id} [{q.unit}]" if q.unit else q.id for q in species[:20])
            + (" ..." if len(species) > 20 else "")
        )
    p = entry.provenance
    lines.append(
        f"provenance: {p.source}"
        + (f"; original {p.original_id}" if p.original_id else "")
        + (f"; licence {p.licence}" if p.licence else "")
        + (f"; derived from {p.derived_from}" if p.derived_from else "")
        + (f"; sha256 {p.sha256[:12]}…" if p.sha256 else "")
    )
    return "\n".join(lines)
