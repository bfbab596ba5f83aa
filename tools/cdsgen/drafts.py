"""The draft version: the editor's drafts built beside the releases, and cutting a release.

The source holds two versions of the documents (see ``spec/README.md``): the released text
in ``spec/<id>/`` and, for a document the working group is editing, the complete draft in
``spec/<id>/dev/``. ``cdsgen generate`` builds both; the draft's outputs live in their own
trees so that everything at today's paths keeps describing the releases:

* ``generated/dev/openapi/…`` and ``generated/dev/jsonschema/…`` — the descriptions of the
  draft version (drafts where they exist, the release of every other document);
* ``site/spec/dev/…`` — the draft's document pages and errata, an overview, and
  ``changes.md``: what each draft changes against its release (the ``cdsgen diff`` report)
  with the errata it resolves.

:func:`cut_release` folds a draft into its document folder (``cdsgen release <id>``).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cdsgen import model as m
from cdsgen.diagnostics import Diagnostics
from cdsgen.emit.jsonschema import BASE_ID, JSONSCHEMA_DIR, emit_jsonschema
from cdsgen.emit.openapi import OPENAPI_DIR, build_openapi, emit_openapi
from cdsgen.emit.site import SITE_DIR, emit_site, tidy
from cdsgen.lint import check_spec
from cdsgen.loader import DRAFT, RELEASED, draft_documents, load_spec_version, meta_schema

if TYPE_CHECKING:
    from cdsgen.diff import DiffReport

#: Where the draft version's OpenAPI and JSON Schemas go (one tree of its own).
DRAFT_GENERATED_DIR = f"generated/{DRAFT}"
#: Where the draft version's site pages go (inside the site's spec tree).
DRAFT_SITE_DIR = f"{SITE_DIR}/{DRAFT}"
#: Pages of the draft site: the released site's pages minus those tied to the release's
#: downloads (the API reference runs Swagger UI on the released description).
_DRAFT_PAGES_LEFT_OUT = {f"{SITE_DIR}/api.md"}


@dataclass
class DraftBuild:
    spec: m.Spec
    reports: dict[str, DiffReport]


def build_draft(
    root: Path, released: m.Spec, diags: Diagnostics, verdicts: dict[str, list[str]]
) -> tuple[DraftBuild | None, dict[str, str]]:
    """Load, lint and emit the draft version. Problems go to ``diags`` (the caller refuses to
    write when there are errors). Without any draft the draft version is the release, and
    its pages say so: the site keeps both versions across releases."""
    from cdsgen.diff import compare, only_document  # the draft version's work alone (a worker)

    documents = draft_documents(root)
    if not documents:
        return DraftBuild(released, {}), draft_outputs(released, {}, verdicts)
    spec = load_spec_version(root, DRAFT, diags)
    if diags.errors:
        return None, {}
    draft_verdicts = check_spec(spec, diags)
    if diags.errors:
        return None, {}
    reports = {
        doc: only_document(
            compare(released, spec, f"{doc} {RELEASED}", f"{doc} {DRAFT}"), doc, spec, released
        )
        for doc in documents
    }
    return DraftBuild(spec, reports), draft_outputs(spec, reports, draft_verdicts)


def draft_outputs(
    spec: m.Spec, reports: dict[str, DiffReport], verdicts: dict[str, list[str]]
) -> dict[str, str]:
    """Every output of the draft version, at its draft path (``verdicts``: what lint found
    in its examples)."""
    from cdsgen.emit.changes import render_changes, render_resolved_errata

    described = {**emit_openapi(spec, build_openapi(spec, None))}
    described.update(emit_jsonschema(spec, meta_schema()))
    out: dict[str, str] = {}
    for path, text in described.items():
        if path.startswith(JSONSCHEMA_DIR + "/"):
            text = text.replace(BASE_ID, f"{BASE_ID}{DRAFT}/")
        out[f"{DRAFT_GENERATED_DIR}/{path.removeprefix('generated/')}"] = text
    downloads = [p for p in described if p.startswith((OPENAPI_DIR + "/", JSONSCHEMA_DIR + "/"))]
    for path, text in emit_site(spec, downloads, verdicts).items():
        if path in _DRAFT_PAGES_LEFT_OUT:
            continue
        out[f"{DRAFT_SITE_DIR}/{path.removeprefix(SITE_DIR + '/')}"] = _draft_links(text)
    out[f"{DRAFT_SITE_DIR}/changes.md"] = render_changes(spec, reports)
    errata_page = f"{DRAFT_SITE_DIR}/errata.md"
    out[errata_page] = tidy(out[errata_page] + render_resolved_errata(spec, reports))
    return out


def _draft_links(page: str) -> str:
    """Links of a page moved one folder down: downloads of the draft version, and the API
    reference (which only the released site has)."""
    page = page.replace("](../downloads/", f"](../../downloads/{DRAFT}/")
    return re.sub(r"\]\(api\.md(#[^)]*)?\)", r"](../api.md\1)", page)


# -- cutting a release --------------------------------------------------------------------------
class ReleaseError(Exception):
    """A release that cannot be cut (no draft, bad version)."""


_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


def cut_release(root: Path, document: str, version: str, status: str | None = None) -> list[str]:
    """Make the draft of ``document`` its release: the draft's files replace the released
    ones, ``version`` (and ``status``) are set, the published URL moves from the draft's
    (``…/dev``) to the release's (``…/latest``), and the draft folder is removed (a document
    without a draft shows its release in the draft version). Returns what was done."""
    folder = root / document
    draft = folder / DRAFT
    if not (draft / "document.yaml").is_file():
        raise ReleaseError(f"{document} has no draft ({draft}/document.yaml)")
    if not _VERSION.match(version):
        raise ReleaseError(f"'{version}' is not a semantic version such as 1.1.0")
    done: list[str] = []
    for old in sorted(folder.glob("*.yaml")):
        if not (draft / old.name).exists():
            old.unlink()
            done.append(f"removed {old.relative_to(root)} (not in the draft)")
    for new in sorted(draft.glob("*.yaml")):
        text = new.read_text(encoding="utf-8")
        text = text.replace("$schema=../../../generated/", "$schema=../../generated/")
        if new.name == "document.yaml":
            text = _set_document_key(text, "version", version)
            if status is not None:
                text = _set_document_key(text, "status", status)
            text = re.sub(
                r"^(  published_url: \S+/)" + re.escape(DRAFT) + r"\s*$",
                r"\g<1>" + RELEASED,
                text,
                flags=re.M,
            )
        (folder / new.name).write_text(text, encoding="utf-8")
        done.append(f"released {new.relative_to(root)} as {(folder / new.name).relative_to(root)}")
    for other in sorted(p for p in draft.iterdir() if p.is_file() and p.suffix != ".yaml"):
        shutil.copyfile(other, folder / other.name)  # e.g. the draft's published-facts.json
        done.append(f"released {other.relative_to(root)}")
    shutil.rmtree(draft)
    done.append(f"removed {draft.relative_to(root)}/")
    return done


def start_draft(root: Path, document: str, version: str) -> list[str]:
    """Start the draft of ``document``: a complete copy of its released source in
    ``spec/<id>/dev/`` with ``version`` and the draft's published URL (``…/dev``)."""
    folder = root / document
    draft = folder / DRAFT
    if not (folder / "document.yaml").is_file():
        raise ReleaseError(f"{folder}/document.yaml not found")
    if draft.exists():
        raise ReleaseError(f"{document} already has a draft ({draft})")
    if not _VERSION.match(version):
        raise ReleaseError(f"'{version}' is not a semantic version such as 1.1.0-dev")
    draft.mkdir()
    for old in sorted(p for p in folder.iterdir() if p.is_file()):
        text = old.read_text(encoding="utf-8")
        if old.suffix == ".yaml":
            text = text.replace("$schema=../../generated/", "$schema=../../../generated/")
        if old.name == "document.yaml":
            text = _set_document_key(text, "version", version)
            text = re.sub(
                r"^(  published_url: \S+?)/?(?:" + re.escape(RELEASED) + r")?\s*$",
                r"\g<1>/" + DRAFT,
                text,
                count=1,
                flags=re.M,
            )
        (draft / old.name).write_text(text, encoding="utf-8")
    return [f"copied {folder.relative_to(root)}/ to {draft.relative_to(root)}/ ({version})"]


def _set_document_key(text: str, key: str, value: str) -> str:
    updated, count = re.subn(rf"^(  {key}: ).*$", rf"\g<1>{value}", text, count=1, flags=re.M)
    if count != 1:
        raise ReleaseError(f"document.yaml has no `{key}:` line to update")
    return updated
