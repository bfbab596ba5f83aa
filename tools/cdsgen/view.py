"""Views of the model that checks and emitters share: which documents a document sees, and
the versions every artefact carries.

They live outside ``emit/`` because lint, validation and several emitters need them alike;
an emitter never imports another emitter.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdsgen import model as m


def view_documents(spec: m.Spec, document: str | None) -> list[str]:
    """The document and everything it depends on (all documents when ``document`` is None)."""
    if document is None:
        return list(spec.documents)
    wanted: set[str] = set()
    stack = [document]
    while stack:
        d = stack.pop()
        if d not in wanted:
            wanted.add(d)
            stack.extend(spec.documents[d].depends_on)
    return [d for d in spec.documents if d in wanted]


@dataclass(frozen=True)
class DocumentVersion:
    """The identity, version and publication status of one document."""

    id: str
    code: str
    title: str
    version: str
    wire_version: str | None
    status: str
    url: str

    @property
    def label(self) -> str:
        """Short text for a page header, e.g. ``version 1.0.0-draft · draft · wire format v1``."""
        parts = [f"version {self.version}", self.status]
        if self.wire_version:
            parts.append(f"wire format {self.wire_version}")
        return " · ".join(parts)


def document_versions(spec: m.Spec) -> list[DocumentVersion]:
    """Every document of ``spec`` in dependency order."""
    return [
        DocumentVersion(d.id, d.code, d.title, d.version, d.wire_version, d.status, d.published_url)
        for d in spec.documents.values()
    ]


def combined_version(spec: m.Spec) -> str:
    """One version string for all documents, as ``info.version`` of cds.openapi.json and
    ``cds_models.__version__``: the shared version when all documents agree, else
    ``<id>@<version>`` joined with ``+``."""
    docs = list(spec.documents.values())
    versions = {d.version for d in docs}
    if len(versions) == 1:
        return versions.pop()
    return "+".join(f"{d.id}@{d.version}" for d in docs)
