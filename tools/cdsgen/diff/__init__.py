"""Compare two versions of the source and classify every change for Clients and for Servers.

A change is **breaking** for a party when an implementation that conforms to the old version
may fail against a counterpart that conforms to the new one, or must change to conform; it is
**compatible** when nothing of the sort can happen, and **informational** when it touches no
implementation at all (errata, document versions).

Payloads have a *writer* and a *reader*: in responses the Server writes and the Client reads;
in request bodies the Client writes and the Server reads. Each object, enumeration and union
is classified by where it is used (walking every endpoint's request and response types; an
object used nowhere counts as published by the Server unless its ``kind`` is ``request``), and
the rules below are applied for every use:

* a new obligation on the writer (field added as REQUIRED, OPTIONAL → REQUIRED, nullable
  narrowed, value removed, type narrowed, …) breaks the **writer**;
* something new the reader may receive or can no longer rely on (REQUIRED → OPTIONAL,
  nullable widened, REQUIRED field removed, type widened, …) breaks the **reader** — except
  what the documents already make readers tolerate: Clients MUST ignore unknown fields and
  unknown values of open enumerations (CDS-WG1-01 §6), Servers MUST ignore submitted fields
  the Client may not modify (CDS-WG1-02 §6.11, §7.6, §8.6), so optional additions are
  compatible. Servers need not accept unknown enumerated values in requests, so a value
  added to an enumeration used in request bodies breaks Servers.

Scope and authorization-details rules describe what a Server publishes and supports:
tightening them (``includes``/``excludes`` grow, ``subset_of``/``one_of`` shrink, a rule is
added) breaks Servers; loosening them breaks Clients that relied on them; a changed ``equals``
breaks both. Nothing here reads files: :func:`compare` takes two models.
"""

from __future__ import annotations

from collections.abc import Iterator

from cdsgen import model as m
from cdsgen.diff.core import (
    BREAKING,
    CLIENTS,
    COMPATIBLE,
    INFO,
    REQUEST,
    RESPONSE,
    SERVERS,
    SEVERITIES,
    Change,
    DiffReport,
    DocumentSide,
    _anchored,
    type_relation,
    usage,
)
from cdsgen.diff.documents import DocumentsDiff
from cdsgen.diff.endpoints import EndpointsDiff
from cdsgen.diff.objects import ObjectsDiff
from cdsgen.diff.scopes import ScopesDiff
from cdsgen.diff.text import render_text
from cdsgen.diff.unions import EnumsAndUnionsDiff

__all__ = [
    "BREAKING",
    "CLIENTS",
    "COMPATIBLE",
    "INFO",
    "REQUEST",
    "RESPONSE",
    "SERVERS",
    "SEVERITIES",
    "Change",
    "DiffReport",
    "DocumentSide",
    "compare",
    "only_document",
    "render_text",
    "type_relation",
    "usage",
]


class _Differ(DocumentsDiff, ObjectsDiff, EnumsAndUnionsDiff, EndpointsDiff, ScopesDiff):
    """The whole comparison: one part per kind of item, in the order of the report."""

    def run(self) -> Iterator[Change]:
        yield from self._documents()
        yield from self._sections()
        yield from self._primitives()
        yield from self._objects()
        yield from self._enums()
        yield from self._unions()
        yield from self._endpoints()
        yield from self._scopes()
        yield from self._auth_fields()
        yield from self._errata()
        yield from self._examples()


# -- entry ---------------------------------------------------------------------------------------
def compare(old: m.Spec, new: m.Spec, old_label: str = "old", new_label: str = "new") -> DiffReport:
    """Every difference between ``old`` and ``new`` that matters to an implementation."""
    ids = list(new.documents) + [d for d in old.documents if d not in new.documents]
    sides = []
    for doc_id in ids:
        o, n = old.documents.get(doc_id), new.documents.get(doc_id)
        cur = n or o
        sides.append(
            DocumentSide(
                doc_id,
                cur.code,
                cur.title,
                o.version if o else None,
                n.version if n else None,
                o.status if o else None,
                n.status if n else None,
            )
        )
    report = DiffReport(old_label, new_label, sides)
    report.changes = [_anchored(c, old, new) for c in _Differ(old, new).run()]
    return report


def only_document(
    report: DiffReport, document: str, new: m.Spec | None = None, old: m.Spec | None = None
) -> DiffReport:
    """The part of ``report`` about one document (e.g. a release against its draft); with
    the two models, also the errata of documents depending on it that hold only with one of
    its versions (``when_version``), e.g. a later document's erratum about a section that
    only the draft has."""
    dependents = {d.id for d in (new.documents.values() if new else []) if document in d.depends_on}
    errata_versions = {e.id: e.when_version for e in old.errata} if old else {}
    errata_versions.update({e.id: e.when_version for e in new.errata} if new else {})

    def keep(c: Change) -> bool:
        return c.document == document or (
            c.document in dependents
            and c.kind.startswith("erratum-")
            and document in errata_versions.get(c.subject.removeprefix("erratum "), {})
        )

    out = DiffReport(report.old_label, report.new_label, [])
    out.changes = [c for c in report.changes if keep(c)]
    kept = {c.document for c in out.changes} | {document}
    out.documents = [d for d in report.documents if d.id in kept]
    return out
