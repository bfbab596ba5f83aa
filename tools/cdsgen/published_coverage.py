"""Lint: every object, enumeration and listing the published text defines has a source.

Without this check a topic file emptied by mistake still passes lint, and its objects vanish
from every artefact without a word. The committed snapshot of the published facts
(``spec/<doc-id>/published-facts.json``, made by ``cdsgen facts``) says which sections
define what; a section with no source item anchored there is an error at the document's
``document.yaml``. A document folder without a snapshot (e.g. a test fixture) is not checked.
"""

from __future__ import annotations

from pathlib import Path

from cdsgen import model as m
from cdsgen.diagnostics import Diagnostics, Pos, relpath
from cdsgen.outline import PublishedSection
from cdsgen.published import FactsError, PublishedFacts, load_snapshot, snapshot_path

#: Title endings of the sections whose plain bullets are enumerated values (not field lists
#: such as "the following RFC 7591 fields"): "Coverage Entry Types", "Client Statuses", …
ENUMERATION_TITLES = ("Types", "Statuses", "Formats")


def check_published_coverage(spec: m.Spec, diags: Diagnostics, root: Path | None) -> None:
    for doc in spec.documents.values():
        folder = root / doc.id if root is not None else Path(doc.pos.path).parent
        path = snapshot_path(folder)
        if not path.is_file():
            continue
        shown = relpath(path, root) if root is not None else str(path)
        try:
            facts = load_snapshot(path)
        except FactsError as exc:
            diags.error(Pos(shown, exc.line, exc.col), exc.problem)
            continue
        for message in uncovered_sections(spec, doc.id, facts, shown):
            diags.error(doc.pos, message)


def uncovered_sections(
    spec: m.Spec, document: str, facts: PublishedFacts, snapshot: str = "published-facts.json"
) -> list[str]:
    """One message per published object, enumeration or listing section with no source."""
    anchored = {
        item.anchor
        for table in (spec.objects, spec.enums, spec.unions)
        for item in table.values()
        if item.document == document
    }
    anchored |= {e.anchor for e in spec.extensions if e.document == document}
    headings = facts.headings()
    parents = {c.anchor: s.anchor for s in headings.values() for c in s.children}
    listings = _listing_anchors(spec, document, parents)
    out = []
    for anchor, section in facts.sections.items():
        heading = headings.get(anchor)
        if heading is None:
            continue
        if section.fields and anchor not in anchored:
            out.append(_missing("object (field section)", heading, "object or extension", snapshot))
        elif (
            section.values and heading.title.endswith(ENUMERATION_TITLES) and anchor not in anchored
        ):
            out.append(_missing("enumeration", heading, "enum or extension", snapshot))
        if (section.filters or section.ordering) and anchor not in listings:
            out.append(_missing("listing", heading, "listing endpoint", snapshot))
    return out


def _listing_anchors(spec: m.Spec, document: str, parents: dict[str, str]) -> set[str]:
    """Sections a listing endpoint covers: its own, the listing object's, and the sections
    under its own (e.g. a separate "Coverage Listing Filters" section)."""
    own = set()
    for ep in spec.endpoints.values():
        if ep.document != document or not ep.is_listing:
            continue
        own.add(ep.anchor)
        success = ep.success()
        listed = spec.objects.get(str(success.type)) if success and success.type else None
        if listed is not None:
            own.add(listed.anchor)
    return own | {child for child, parent in parents.items() if parent in own}


def _missing(kind: str, heading: PublishedSection, wanted: str, snapshot: str) -> str:
    number = f"§{heading.number} " if heading.number else ""
    return (
        f"published {kind} {number}'{heading.title}' (#{heading.anchor}) has no source: "
        f"no {wanted} is anchored there (published facts: {snapshot})"
    )
