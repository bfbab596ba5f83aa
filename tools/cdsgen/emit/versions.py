"""Versions and statuses of the documents, for every artefact that should carry them.

* the models package: ``cds_models._versions`` (re-exported as ``cds_models.__version__``,
  ``cds_models.CDS_DOCUMENTS`` and ``cds_models.DocumentVersion``), rendered from
  ``templates/releases/versions.py.j2``;
* the OpenAPI documents carry the same facts in ``info.version`` and ``info.x-cds-documents``;
* the site: :func:`document_versions` and :attr:`DocumentVersion.label` give the pages what
  to show next to each document's title.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdsgen import model as m
from cdsgen.emit import TEMPLATES_DIR
from cdsgen.emit.models import MODELS_DIR, ruff_format
from cdsgen.emit.pysource import python_environment

TEMPLATES = TEMPLATES_DIR / "releases"


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
    """One version string for all documents, as ``info.version`` of cds.openapi.json: the
    shared version when all documents agree, else ``<id>@<version>`` joined with ``+``."""
    docs = list(spec.documents.values())
    versions = {d.version for d in docs}
    if len(versions) == 1:
        return versions.pop()
    return "+".join(f"{d.id}@{d.version}" for d in docs)


def emit_versions(spec: m.Spec) -> dict[str, str]:
    code = (
        python_environment(TEMPLATES)
        .get_template("versions.py.j2")
        .render(version=combined_version(spec), documents=document_versions(spec))
    )
    return {f"{MODELS_DIR}/_versions.py": ruff_format(code)}
